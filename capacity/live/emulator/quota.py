"""What one account of one provider model may do: admission, refusal and rate-limit headers.

The windows are the policy room's own (:func:`capacity.policy.ledger.build_windows`), so the
emulator enforces each limit with its documented semantics: rolling windows, daily resets at
a local time across DST, calendar months, token buckets, neurons and dollars of credit, plus
a concurrency cap. A request is charged at admission — one request, input + max output
tokens, and the neurons and dollars those tokens cost — and the part of its reservation it
did not use is refunded when the response ends (not where the provider charges the maximum up
front, as Cerebras does). A refused request is charged nothing.

A refusal says which limit refused, whether it is a *burst* (a per-minute or per-hour window,
or the concurrency cap: wait seconds) or a *daily* one (a day's, month's or credit allowance
exhausted: wait for the reset), and how long until the request would fit; a request larger
than a limit's whole allowance can never fit and is refused as too large (HTTP 413).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

from capacity.config.providers import ModelSpec
from capacity.live.emulator.audit import PERIOD_S, Audit, LimitDef, limit_defs
from capacity.live.headers import format_duration, ratelimit_header
from capacity.policy.ledger import build_windows
from capacity.policy.windows import ConcurrencyLimit, QuotaWindow
from capacity.units import MTOK

__all__ = ["AccountModel", "Grant", "Pricing", "Refusal"]

_EPS = 1e-9  # the windows' own tolerance on ``limit``


class Pricing:
    """What a request costs each measure: requests, tokens, neurons (Cloudflare's per-token
    rates) and dollars (list prices, spent from a credit)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.neurons_in = spec.neurons.per_mtok_in / MTOK if spec.neurons else 0.0
        self.neurons_out = spec.neurons.per_mtok_out / MTOK if spec.neurons else 0.0
        self.usd_in = spec.prices.usd_per_mtok_in / MTOK if spec.prices else 0.0
        self.usd_out = spec.prices.usd_per_mtok_out / MTOK if spec.prices else 0.0

    def amounts(self, tokens_in: int, tokens_out: int) -> dict[str, float]:
        """The charge of one request of ``tokens_in`` input and ``tokens_out`` output tokens,
        by measure (``requests``, ``tokens``, ``input_tokens``, ``output_tokens``, ``neurons``, ``usd``)."""
        return {
            "requests": 1.0,
            "tokens": float(tokens_in + tokens_out),
            "input_tokens": float(tokens_in),
            "output_tokens": float(tokens_out),
            "neurons": tokens_in * self.neurons_in + tokens_out * self.neurons_out,
            "usd": tokens_in * self.usd_in + tokens_out * self.usd_out,
        }


@dataclass(slots=True)
class Grant:
    """An admitted request: what was reserved, to be settled when its response ends."""

    reserved: dict[str, float]
    handles: list[tuple[QuotaWindow, Any]]
    audit_handles: list[Any] = field(default_factory=list)
    """The audit's own handles (set by whoever logs the admission in the audit)."""
    settled: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused and when it may fit (emulated seconds; ``inf``: never)."""

    status: int
    """429 (try later) or 413 (larger than the limit's whole allowance)."""
    limit: str
    """The refusing limit's name (``rpm``, ``rpd``, ``concurrent_requests`` …)."""
    measure: str
    daily: bool
    """True if a day's (or longer) allowance is exhausted; False for a burst limit."""
    wait_s: float
    limit_value: float
    used: float
    requested: float


@dataclass(slots=True)
class _Window:
    window: QuotaWindow
    limit: LimitDef
    last_take_s: float = -math.inf
    """When this window was last charged (a rolling window is back to full ``length`` later)."""


@dataclass(slots=True)
class AccountModel:
    """The quotas of one account (one bearer key) on one model, and their independent audit
    (kept here, fed by the emulator from what it tells the client, not by this class)."""

    spec: ModelSpec
    run_start: dt.datetime
    windows: list[_Window] = field(init=False)
    concurrency: ConcurrencyLimit | None = field(init=False)
    audit: Audit = field(init=False)
    refundable: bool = field(init=False)

    def __post_init__(self) -> None:
        by_name = {d.name: d for d in limit_defs(self.spec)}
        self.windows = [_Window(w, by_name[w.name]) for w in build_windows(self.spec, self.run_start)]
        cap = self.spec.limits.concurrent_requests
        self.concurrency = ConcurrencyLimit(cap) if cap is not None else None
        self.audit = Audit(self.spec, self.run_start)
        self.refundable = not self.spec.limits.charge_max_output_up_front

    def refusal(self, now: float, amounts: dict[str, float]) -> Refusal | None:
        """Why a request charging ``amounts`` (by measure) cannot be admitted at ``now``; None if it can."""
        for w in self.windows:
            amount = amounts[w.limit.measure]
            if amount > w.window.limit * (1 + _EPS):
                return self._refusal(413, w, now, amount, math.inf)
        if self.concurrency is not None and not self.concurrency.fits():
            # when a slot frees is not known here: ask for a retry after one emulated second
            return Refusal(
                429, "concurrent_requests", "requests", False, 1.0, self.concurrency.limit, self.concurrency.limit, 1.0
            )
        refusals = [
            self._refusal(429, w, now, amounts[w.limit.measure], w.window.free_at(now, amounts[w.limit.measure]))
            for w in self.windows
            if not w.window.fits(now, amounts[w.limit.measure])
        ]
        if refusals:
            # named after a daily limit if one refuses (the destination is out for the day);
            # the wait is the longest: only then does every window have room
            named = max(refusals, key=lambda r: (r.daily, r.wait_s))
            return replace(named, wait_s=max(r.wait_s for r in refusals))
        return None

    def admit(self, now: float, amounts: dict[str, float]) -> Grant | Refusal:
        """Charge every window and take a concurrency slot, or refuse and charge nothing."""
        refused = self.refusal(now, amounts)
        return refused if refused is not None else self.take(now, amounts)

    def take(self, now: float, amounts: dict[str, float]) -> Grant:
        """Charge every window and take a concurrency slot (after :meth:`refusal` said None)."""
        handles = []
        for w in self.windows:
            handles.append((w.window, w.window.take(now, amounts[w.limit.measure])))
            w.last_take_s = now
        if self.concurrency is not None:
            self.concurrency.take(now)
        return Grant(amounts, handles)

    @staticmethod
    def _refusal(status: int, w: _Window, now: float, amount: float, free_at: float) -> Refusal:
        return Refusal(
            status,
            w.limit.name,
            w.limit.measure,
            w.limit.daily,
            max(0.0, free_at - now),
            w.window.limit,
            w.window.used(now),
            amount,
        )

    def settle(self, now: float, grant: Grant, actual: dict[str, float]) -> None:
        """End an admitted request that used ``actual`` (by measure): refund the unused part of
        its reservation (if this provider refunds) and free its concurrency slot. Idempotent."""
        if grant.settled:
            return
        grant.settled = True
        refunds = {m: max(0.0, grant.reserved[m] - actual[m]) if self.refundable else 0.0 for m in grant.reserved}
        for window, handle in grant.handles:
            unused = refunds[str(window.measure)]
            if unused > 0:
                window.refund(now, handle, unused)
        if self.concurrency is not None:
            self.concurrency.release()

    def headers(self, now: float, time_scale: float) -> dict[str, str]:
        """``x-ratelimit-{limit,remaining,reset}-{measure}[-period]`` for every window at
        ``now``: the allowance, what is left of it (floored) and the time until it is whole
        again, in wall time (emulated ÷ ``time_scale``); no reset for a credit that never renews."""
        out: dict[str, str] = {}
        for w in self.windows:
            lim = w.limit
            used = w.window.used(now)
            out[ratelimit_header("limit", lim.measure, lim.period)] = _number(w.window.limit)
            out[ratelimit_header("remaining", lim.measure, lim.period)] = _number(max(0.0, w.window.limit - used))
            if used <= 0:
                full_at = now
            elif lim.rule in ("rolling", "unknown"):  # O(1): the last charge leaves the window last
                full_at = w.last_take_s + PERIOD_S[lim.period]
            else:
                full_at = w.window.free_at(now, w.window.limit)
            if math.isfinite(full_at):
                out[ratelimit_header("reset", lim.measure, lim.period)] = format_duration(
                    max(0.0, full_at - now) / time_scale
                )
        return out


def _number(value: float) -> str:
    """A header value: a whole number floored (``5975``), a fraction below 1,000 to 6 digits."""
    if value >= 1000 or abs(value - round(value)) < 1e-9:
        return str(math.floor(value + 1e-9))
    return f"{value:.6g}"
