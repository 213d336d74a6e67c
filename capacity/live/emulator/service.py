"""The provider emulator's state and decisions, apart from HTTP.

Each provider of ``providers.yaml`` has up to ``accounts`` accounts; an account is a distinct
bearer key, registered the first time it is seen (only a SHA-256 digest of it is kept), and
a key beyond the provider's accounts is refused as invalid (HTTP 401). Each account has its
own quotas on each model (:class:`~capacity.live.emulator.quota.AccountModel`).

A chat request is decided in this order: the model exists and is not withdrawn; its input
fits the per-request cap; a forced or drawn 429 fault; admission on the account's quotas
(429 or 413 if refused, charging nothing); then, for an admitted request, whether it fails
(a scheduled outage of the provider, the model's ``error_rate`` or a fault) and its service
time — time to first token + output tokens ÷ decode speed, drawn from the model's latency
model in emulated seconds. Prompt tokens are counted with
:func:`capacity.workload.text.count_tokens`; output tokens are the request's ``max_tokens``
(``max_completion_tokens``), or the ``x-emulator-output-tokens`` header if smaller, clipped
to the model's per-request output cap. Without ``max_tokens`` a request reserves
:data:`DEFAULT_MAX_TOKENS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capacity.config.providers import ModelSpec, Provider
from capacity.config.scenario import Outage
from capacity.live.emulator.clock import Clock
from capacity.live.emulator.faults import FaultKind, FaultRates
from capacity.live.emulator.quota import AccountModel, Grant, Pricing, Refusal
from capacity.workload.distributions import BlockStream, StandardUniform, sampler

__all__ = ["DEFAULT_MAX_TOKENS", "Accepted", "Emulator", "ModelState", "ProviderState"]

DEFAULT_MAX_TOKENS = 1024
"""Output tokens reserved (and generated) when a request gives no ``max_tokens``."""


@dataclass(slots=True)
class ModelStats:
    """Counters of one provider model since the last reset. Every request for the model ends
    in exactly one of: served (faulty bodies included), a 429 (burst, daily, or a fake one
    from a ``rate_limit_*`` fault), too large, failed (``errors_injected``, ``outage_errors``,
    a ``server_error`` fault), rejected (withdrawn model, bad emulator header), disconnected
    (the client left first) — or it is still in flight."""

    requests: int = 0
    served: int = 0
    rejected: int = 0
    burst_429: int = 0
    daily_429: int = 0
    too_large: int = 0
    errors_injected: int = 0
    outage_errors: int = 0
    disconnected: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    faults: Counter[str] = field(default_factory=Counter)


class ModelState:
    """One model of one provider: its accounts' quotas, its draws and its counters."""

    def __init__(self, spec: ModelSpec, run_start: dt.datetime, rng: np.random.Generator) -> None:
        self.spec = spec
        self.run_start = run_start
        self.pricing = Pricing(spec)
        self.accounts: dict[int, AccountModel] = {}
        self.stats = ModelStats()
        self.ttft = BlockStream(sampler(spec.latency.ttft_s), rng, block=256)
        self.speed = BlockStream(sampler(spec.latency.output_tokens_per_s), rng, block=256)
        self.uniform = BlockStream(StandardUniform(), rng, block=256)
        self.withdrawn_at_s = math.inf
        if spec.withdrawn_on is not None:
            gone = dt.datetime.combine(spec.withdrawn_on, dt.time(0, 0), tzinfo=dt.UTC)
            self.withdrawn_at_s = (gone - run_start).total_seconds()

    def account(self, index: int) -> AccountModel:
        """The quotas of account ``index`` on this model (made on first use)."""
        quota = self.accounts.get(index)
        if quota is None:
            quota = self.accounts[index] = AccountModel(self.spec, self.run_start)
        return quota

    def output_tokens(self, max_tokens: int | None, wanted: int | None) -> tuple[int, int]:
        """(reserved, generated) output tokens of a request, after the per-request cap."""
        reserved = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
        cap = self.spec.limits.max_output_tokens_per_request
        if cap is not None:
            reserved = min(reserved, cap)
        return reserved, reserved if wanted is None else min(wanted, reserved)


class ProviderState:
    """One provider: its accounts (by key digest), models and scheduled outages."""

    def __init__(
        self, provider: Provider, run_start: dt.datetime, rng: np.random.Generator, outages: Sequence[Outage]
    ) -> None:
        self.provider = provider
        self.keys: dict[bytes, int] = {}
        self.unauthorised = 0
        streams = rng.spawn(len(provider.models))
        self.models = {m.name: ModelState(m, run_start, r) for m, r in zip(provider.models, streams, strict=True)}
        # the account-wide allowances (Cloudflare's 10,000 neurons a day), one set per account,
        # charged by every model of it: kept as the quotas of a pseudo-model of those limits
        self.pool_spec: ModelSpec | None = None
        if provider.account_limits is not None:
            self.pool_spec = provider.models[0].model_copy(
                update={
                    "name": "account",
                    "limits": provider.account_limits,
                    "resets": provider.account_resets,
                    "limit_changes": [],
                }
            )
        self.run_start = run_start
        self.pools: dict[int, AccountModel] = {}
        self.outages = [(o.start_s, o.start_s + o.duration_s) for o in outages if o.provider == provider.name]

    def account_of(self, key: str) -> int | None:
        """The account a bearer key belongs to, registering a new key while accounts remain."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        index = self.keys.get(digest)
        if index is None and len(self.keys) < self.provider.accounts:
            index = self.keys[digest] = len(self.keys)
        if index is None:
            self.unauthorised += 1
        return index

    def pool(self, account: int) -> AccountModel | None:
        """The account-wide allowances of account ``account`` (None: the provider states none)."""
        if self.pool_spec is None:
            return None
        quota = self.pools.get(account)
        if quota is None:
            quota = self.pools[account] = AccountModel(self.pool_spec, self.run_start)
        return quota

    def headers(self, model: ModelState, account: int, now: float, time_scale: float) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers of ``account`` on ``model``, the account-wide allowances' too."""
        pool = self.pool(account)
        own = model.account(account).headers(now, time_scale)
        return own if pool is None else {**own, **pool.headers(now, time_scale)}

    def in_outage(self, now: float) -> bool:
        """Whether a scheduled outage covers run time ``now``."""
        return any(a <= now < b for a, b in self.outages)


@dataclass(slots=True)
class Accepted:
    """An admitted request and how it will be answered (times in emulated seconds)."""

    model: ModelState
    quota: AccountModel
    grant: Grant
    pool: tuple[AccountModel, Grant] | None
    """The account-wide allowances charged too, and their grant (None: the provider has none)."""
    started_s: float
    tokens_in: int
    max_tokens: int
    """Output tokens reserved (the request's ``max_tokens`` after the model's cap)."""
    tokens_out: int
    """Output tokens the answer will have (≤ ``max_tokens``)."""
    ttft_s: float
    decode_s_per_token: float
    failure: str | None
    """``outage`` or ``error`` (a 5xx after the time to first token), or None."""
    fault: FaultKind | None
    headers: dict[str, str]

    @property
    def done_s(self) -> float:
        """Run time the whole answer is out."""
        return self.started_s + self.ttft_s + self.tokens_out * self.decode_s_per_token


class Emulator:
    """Every provider's state, the clock and the draws: the emulator without its HTTP face."""

    def __init__(
        self,
        providers: Sequence[Provider],
        clock: Clock,
        run_start: dt.datetime,
        *,
        seed: int = 1,
        outages: Sequence[Outage] = (),
        faults: FaultRates | None = None,
    ) -> None:
        if run_start.tzinfo is None:
            raise ValueError("run_start must be timezone-aware")
        self.provider_list = list(providers)
        self.clock = clock
        self.run_start = run_start
        self.seed = seed
        self.outages = list(outages)
        self.faults = faults or FaultRates()
        self.providers: dict[str, ProviderState] = {}
        self.reset()
        self._throttles: dict[str, list[tuple[int, float]]] = {}

    def throttle(self, provider: str, after: int, retry_after_s: float) -> None:
        """Refuse once a request to ``provider``: the one after its next ``after`` requests gets a
        burst 429 with ``retry-after`` of ``retry_after_s`` emulated seconds (charged nothing,
        counted a burst 429) — a provider telling a router to wait, at a moment a test chooses."""
        self._throttles.setdefault(provider, []).append((after, retry_after_s))

    def reset(self) -> None:
        """Forget every key, quota and counter (the clock runs on)."""
        rng = np.random.default_rng(self.seed)
        streams = rng.spawn(len(self.provider_list))
        self.providers = {
            p.name: ProviderState(p, self.run_start, r, self.outages)
            for p, r in zip(self.provider_list, streams, strict=True)
        }

    def _throttled(self, provider: str) -> float | None:
        """The ``retry-after`` (emulated s) of a throttle due on this request, or None."""
        pending = self._throttles.get(provider)
        if not pending:
            return None
        after, wait = pending[0]
        if after > 0:
            pending[0] = (after - 1, wait)
            return None
        pending.pop(0)
        return wait

    def decide(
        self,
        provider: ProviderState,
        model: ModelState,
        account: int,
        tokens_in: int,
        max_tokens: int | None,
        wanted_tokens: int | None,
        forced: FaultKind | None,
    ) -> Accepted | Refusal | FaultKind:
        """Admit a request or say why not: a :class:`Refusal` (charged nothing), a 429 fault
        kind (charged nothing), or :class:`Accepted` with its answer's plan."""
        now = self.clock.now()
        if (throttled := self._throttled(provider.provider.name)) is not None:
            model.stats.burst_429 += 1
            return Refusal(429, "retry_after", "requests", False, throttled, 0.0, 0.0, 1.0)
        reserved, generated = model.output_tokens(max_tokens, wanted_tokens)
        fault = forced
        if fault is None and self.faults.of(provider.provider.name):
            fault = self.faults.pick(provider.provider.name, model.uniform.next())
        if fault in (FaultKind.RATE_LIMIT_BARE, FaultKind.RATE_LIMIT_ABSURD):
            model.stats.faults[fault] += 1
            return fault
        quota = model.account(account)
        pool = provider.pool(account)
        amounts = model.pricing.amounts(tokens_in, reserved)
        answer: Grant | Refusal
        refused = quota.refusal(now, amounts) or (pool.refusal(now, amounts) if pool is not None else None)
        answer = refused if refused is not None else quota.take(now, amounts)
        if isinstance(answer, Refusal):
            if answer.status == 413:
                model.stats.too_large += 1
            elif answer.daily:
                model.stats.daily_429 += 1
            else:
                model.stats.burst_429 += 1
            return answer
        answer.audit_handles = quota.audit.admit(now, answer.reserved)
        charged: tuple[AccountModel, Grant] | None = None
        if pool is not None:
            shared = pool.take(now, amounts)
            shared.audit_handles = pool.audit.admit(now, shared.reserved)
            charged = (pool, shared)
        failure: str | None = None
        if provider.in_outage(now):
            failure = "outage"
            model.stats.outage_errors += 1
        elif fault is FaultKind.SERVER_ERROR:
            failure = "error"
        elif model.uniform.next() < model.spec.error_rate:
            failure = "error"
            model.stats.errors_injected += 1
        if fault is not None:
            model.stats.faults[fault] += 1
        speed = max(model.speed.next(), 1e-9)
        return Accepted(
            model,
            quota,
            answer,
            charged,
            now,
            tokens_in,
            reserved,
            generated,
            max(0.0, model.ttft.next()),
            1.0 / speed,
            failure,
            fault,
            provider.headers(model, account, now, self.clock.time_scale),
        )

    def finish(self, accepted: Accepted, delivered: int, *, complete: bool) -> None:
        """Settle an admitted request that produced ``delivered`` output tokens (0 for a
        failed one): refund its unused reservation and count it."""
        if accepted.grant.settled:
            return
        model = accepted.model
        now = self.clock.now()
        grant = accepted.grant
        used = model.pricing.amounts(accepted.tokens_in, delivered)  # what the client is told it used
        accepted.quota.settle(now, grant, used)
        accepted.quota.audit.settle(now, grant.audit_handles, grant.reserved, used)
        if accepted.pool is not None:
            pool, shared = accepted.pool
            pool.settle(now, shared, used)
            pool.audit.settle(now, shared.audit_handles, shared.reserved, used)
        model.stats.prompt_tokens += accepted.tokens_in
        model.stats.completion_tokens += delivered
        if complete and accepted.failure is None:
            model.stats.served += 1
        elif not complete:
            model.stats.disconnected += 1

    def stats(self) -> dict[str, Any]:
        """The ``GET /stats`` document: per provider model, what was served and refused, and
        per limit the audit's peak (the most in use in any window, over accounts) and its
        violations (summed over accounts; 0 when enforcement is right)."""
        now = self.clock.now()
        total_violations = 0
        providers: dict[str, Any] = {}
        for name, state in self.providers.items():
            models: dict[str, Any] = {}
            for model_name, model in state.models.items():
                limits, violations = _limit_rows(list(model.accounts.values()))
                total_violations += violations
                s = model.stats
                models[model_name] = {
                    "requests": s.requests,
                    "served": s.served,
                    "rate_limited": {"burst": s.burst_429, "daily": s.daily_429},
                    "too_large": s.too_large,
                    "errors_injected": s.errors_injected,
                    "outage_errors": s.outage_errors,
                    "faults": dict(sorted(s.faults.items())),
                    "disconnected": s.disconnected,
                    "rejected": s.rejected,
                    "in_flight": sum(a.audit.in_flight for a in model.accounts.values()),
                    "tokens": {"prompt": s.prompt_tokens, "completion": s.completion_tokens},
                    "accounts_used": len(model.accounts),
                    "limits": limits,
                    "violations": violations,
                }
            providers[name] = {
                "accounts": state.provider.accounts,
                "keys_seen": len(state.keys),
                "unauthorised": state.unauthorised,
                "models": models,
            }
            if state.pool_spec is not None:  # the account-wide allowances, audited like a model's
                limits, violations = _limit_rows(list(state.pools.values()))
                total_violations += violations
                providers[name]["account"] = {"limits": limits, "violations": violations}
        return {
            "clock": {
                "run_s": now,
                "now": (self.run_start + dt.timedelta(seconds=now)).isoformat(),
                "run_start": self.run_start.isoformat(),
                "time_scale": self.clock.time_scale,
            },
            "violations": total_violations,
            "providers": providers,
        }


def _limit_rows(accounts: Sequence[AccountModel]) -> tuple[dict[str, Any], int]:
    rows: dict[str, Any] = {}
    total = 0
    for account in accounts:
        for row in account.audit.rows():
            lim = row.limit
            entry = rows.setdefault(
                lim.name,
                {
                    "measure": lim.measure,
                    "period": lim.period,
                    "rule": lim.rule,
                    "limit": lim.limit,
                    "peak": 0.0,
                    "violations": 0,
                },
            )
            entry["peak"] = max(entry["peak"], row.peak)
            entry["violations"] += row.violations
            total += row.violations
        audit = account.audit
        if audit.concurrency_limit is not None:
            entry = rows.setdefault(
                "concurrent_requests",
                {
                    "measure": "requests",
                    "period": "in_flight",
                    "rule": "concurrency",
                    "limit": audit.concurrency_limit,
                    "peak": 0,
                    "violations": 0,
                },
            )
            entry["peak"] = max(entry["peak"], audit.peak_in_flight)
            entry["violations"] += audit.concurrency_violations
            total += audit.concurrency_violations
    return rows, total
