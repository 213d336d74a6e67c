"""The quota ledger of one destination, shared by every router process through Redis.

What :class:`capacity.policy.ledger.DestinationQuota` does in one process, this ledger does for
a fleet: a request is admitted on the first account (round robin) with room in *every* window —
rolling RPM/TPM/…, fixed periods resetting at a local time (across DST) or on the 1st of the
month, token buckets, neurons, dollars of credit — and a free concurrency slot; tokens are
reserved as input + ``max_tokens`` and the unused part refunded after the response, except
where the provider charges the maximum output up front. The in-memory ledger is the
specification: ``tests/live`` drives both with the same operations and asserts the same
decisions.

How it is shared:

* **One Lua script per decision.** ``lua/admit.lua`` checks and charges every window of an
  account in one atomic round trip; ``lua/settle.lua`` refunds and frees the slot. The scripts
  are generic over window *descriptors* (rolling length, bucket rate, fixed period bounds)
  derived from :func:`~capacity.policy.ledger.build_windows`, so a new limit needs no new script.
* **Redis's clock.** Window edges use Redis ``TIME`` (run seconds = TIME − the run's start), so
  the router hosts' clock skew cannot matter. Fixed periods come from the schedule's time-zone
  arithmetic in Python: the router passes the period around its estimate of Redis's time and the
  next one, and the script picks by ``TIME`` (or asks again, rarely, if both miss). Tests inject
  a clock instead.
* **Account-wide allowances.** A provider's ``account_limits`` (Cloudflare's neurons a day,
  OpenRouter's ``:free`` requests a day, credit) are windows of their own, kept once per account
  under ``{namespace}:{provider}:account`` and charged by the ledger of every model of that
  provider — as ``account_pools`` shares one set of window objects in memory. Their log entries
  carry the destination's key, since two models' tickets may coincide.
* **Bounded memory.** Keys live under ``{namespace}:{provider}:<model>`` (the provider a Redis
  Cluster hash tag, so its models' keys and their shared allowances share a slot) and expire
  once their state no longer matters: a rolling log after its window length, a period after its
  end, a bucket once refilled. Key
  lifetimes are run seconds taken as wall seconds, so a compressed test clock only keeps keys
  longer. A one-time credit never expires.
* **Admissions are leases.** A router that dies between admission and settlement would hold
  its concurrency slots for ever; an admission stays open ``slot_lease_s`` at most. It settles
  once: a settlement resent after a timeout (which may have reached Redis) refunds nothing more.
  An admission that timed out may still have been charged; it then counts until its windows
  forget it (the safe side).

When Redis goes away the ledger says so once (a ``WARNING`` on the ``capacity.live.redis``
logger), then follows its loss policy: ``fail_closed`` refuses every request, ``local`` admits
from an in-memory ledger holding 1/N of each quota (N = ``routers``, the router processes
sharing the quotas; whole-number limits rounded down). A degraded router cannot see what Redis
counted, so ``local`` first waits until every admission made through Redis has left every window
(:meth:`RedisQuotaLedger.blind_until`): a rolling window one window length after the router
found Redis gone, a fixed (calendar) window at its next reset, a token bucket once it would have
refilled completely. Every admission through Redis happened before Redis went away, hence before
each router found it gone; from then on the N routers hold 1/N each of empty windows, so the fleet
never exceeds a limit in any window. It tries Redis again every ``reconnect_s`` of wall time and
says once when it is back.

**Recovery** (``local``; ``lua/recover.lua``). Back on Redis, a router must not admit on the
shared windows alone while another router may still be admitting locally: Redis does not hold
those admissions. So on its first contact router *i* of N (``router``) atomically writes back its
local admissions that may still count (a rolling window's entries at their own times; a fixed
window's count in the current period; a token bucket's draws within its length, an upper bound
of what they still owe) and marks itself returned in the destination's recovery hash. Until all N
have (the *barrier*), each keeps admitting from its 1/N share, every such admission charged in
Redis too and granted only if the shared windows also have room; from the barrier on, Redis holds
every admission that counts and the shared windows alone decide. A router that never returns is
released at ``blind_until(t0 + grace_s)`` (t0: the first write-back; ``grace_s``: the longest a
live router, trying Redis every ``reconnect_s``, can go on admitting locally after Redis is back,
run s): its local admissions have left every window then. A Redis restarted empty (no
destination hash at the first write-back) also forgot what it counted before the outage: the
barrier then also waits until ``blind_until`` of the earliest time a router found it gone. A
router that did not see the outage joins the recovery at its next contact. The shared admissions
whose responses ended meanwhile settle after the write-back.

Limits of ``local``: the guarantee holds for an outage every router sees (each sends a request
while Redis is away), not for one router cut off while the others still reach it, nor for a
router that sends nothing during the outage and admits on the shared windows after Redis returns
before a router that was away has written back; a Redis restart no router notices (between two
requests, on a pooled connection retried once) goes unseen; concurrency slots held by shared
admissions still in flight are not counted by the local ledgers; account-wide allowances shared
by several models are split 1/N per model while Redis is away.

Times returned are run seconds on Redis's clock; :meth:`RedisQuotaLedger.now` estimates it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal

import redis.asyncio as aioredis

from capacity.config.providers import Limits, ModelSpec, Resets
from capacity.errors import ModelError
from capacity.live.redis_scripts import MEASURES, REDIS_DOWN, WindowForm, connect, lua
from capacity.live.redis_scripts import arg as _arg
from capacity.live.redis_scripts import text as _text
from capacity.policy.fleet import split_limits, split_quotas
from capacity.policy.ledger import (
    Admission,
    Charge,
    DestinationQuota,
    Tariff,
    apply_limits,
    build_windows,
    limit_schedule,
    limit_windows,
)
from capacity.policy.windows import FixedWindow, QuotaWindow, RollingWindow, TokenBucket

__all__ = [
    "MEASURES",
    "REDIS_DOWN",
    "LossPolicy",
    "RedisQuotaLedger",
    "SharedAdmission",
    "WindowForm",
    "connect",
    "lua",
]

LOG = logging.getLogger("capacity.live.redis")

LossPolicy = Literal["fail_closed", "local"]
"""What the ledger does while Redis is unreachable."""

_MAX_RESYNC = 3


class SharedAdmission(Admission):
    """An admission granted by Redis: also its ``ticket`` (its entry in each rolling log, its
    lease) and ``admitted_at``, the run time it was admitted at, s on Redis's clock. ``handles``
    pair each window with the start of the period it was charged in (fixed windows) or the
    admission time (others)."""

    def __init__(
        self,
        account: int,
        charge: Charge,
        handles: list[tuple[QuotaWindow, Any]],
        ticket: int,
        admitted_at: float,
    ) -> None:
        super().__init__(account, charge, handles)
        self.ticket = ticket
        self.admitted_at = admitted_at


class RedisQuotaLedger:
    """The quota ledger of one destination (a provider's model × its accounts), kept in Redis.

    ``try_admit`` and ``settle`` mean what they mean on
    :class:`~capacity.policy.ledger.DestinationQuota`, without the ``now`` argument: the time is
    Redis's (or ``clock()``'s, run seconds, when a test injects one).

    Args:
        client: an asyncio Redis client (see :func:`connect`); not closed by the ledger.
        provider: the provider's name, for the keys and log lines.
        spec: the model and its per-account limits.
        accounts: quota holders of the provider the plan uses (≥ 1).
        run_start: the run's start instant (aware); run time 0. Every router sharing
            ``namespace`` must use the same one.
        namespace: first part of every key.
        clock: run seconds now, replacing Redis ``TIME`` (tests, compressed clocks).
        slot_lease_s: how long an admission stays open without settlement, run s: its
            concurrency slot frees then, and a later settlement refunds nothing (``inf``: until
            settled — and the account's keys never expire).
        on_loss: ``fail_closed`` or ``local`` while Redis is unreachable.
        routers: router processes sharing these quotas (``local`` keeps 1/N of each).
        router: this router's index in the fleet, 0 to ``routers`` − 1 (the recovery's barrier
            counts each router once).
        reconnect_s: wall seconds between attempts to reach Redis again while it is away.
        account_limits: the provider's account-wide allowances (``Provider.account_limits``), kept
            once per account under the provider's keys and charged by every ledger of a model of
            that provider in the same ``namespace`` (the in-memory ledger's ``account_pools``).
            While Redis is away, the ``local`` loss policy gives each model's ledger its own 1/N
            of them: models sharing the account may then spend 1/N each, not 1/N together.
        account_resets: how those allowances refill (``Provider.account_resets``).
        rolling_margin_s: how much longer every rolling window holds a request, run s (a live
            router's one-way trip: :func:`~capacity.policy.ledger.build_windows`).
        time_scale: run seconds per wall second of ``clock`` (a compressed run): a refusal
            while Redis is away under ``fail_closed`` answers the next attempt in run seconds.
    Attributes:
        degraded: Redis is unreachable (the loss policy answers).
        recovering: back on Redis and written back, but the recovery's barrier not yet passed
            (``local``: this router admits on its 1/N share, charged in Redis too).
        grace_s: how long after Redis is back this router may still admit locally, run s — its
            ``reconnect_s`` and two client timeouts (a failing call retried once), scaled by
            ``time_scale``; a router absent from the recovery is released that long after it began,
            plus its windows.
        outages: times this ledger lost Redis.
    Raises:
        ModelError: a window kind without a Redis form, or Redis's clock outside every period
            the router computed (neither is a user's mistake).
        ValueError: ``accounts`` or ``routers`` below 1, or ``router`` not below ``routers``.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        provider: str,
        spec: ModelSpec,
        accounts: int,
        run_start: dt.datetime,
        *,
        namespace: str = "capacity",
        clock: Callable[[], float] | None = None,
        slot_lease_s: float = 600.0,
        on_loss: LossPolicy = "fail_closed",
        routers: int = 1,
        router: int = 0,
        reconnect_s: float = 1.0,
        account_limits: Limits | None = None,
        account_resets: Resets | None = None,
        rolling_margin_s: float = 0.0,
        time_scale: float = 1.0,
    ) -> None:
        if accounts < 1 or routers < 1 or not 0 <= router < routers:
            raise ValueError("accounts and routers must be ≥ 1, and the router's index below routers")
        self.client = client
        self.provider = provider
        self.spec = spec
        self.accounts = accounts
        self.run_start = run_start
        self.clock = clock
        self.slot_lease_s = slot_lease_s
        self.on_loss: LossPolicy = on_loss
        self.routers = routers
        self.reconnect_s = reconnect_s
        self.router = router
        self.tariff = Tariff(spec)
        self.refundable = not spec.limits.charge_max_output_up_front
        self.slots = spec.limits.concurrent_requests or 0
        self.rolling_margin_s = rolling_margin_s
        self.time_scale = time_scale
        self.forms = [WindowForm(w) for w in build_windows(spec, run_start, rolling_margin_s)]
        self.own_forms = len(self.forms)
        self.account_limits = account_limits
        self.account_resets = account_resets or Resets()
        if account_limits is not None:
            shared = limit_windows(account_limits, self.account_resets, run_start, rolling_margin_s)
            self.forms += [WindowForm(w, pool=True) for w in shared]
        self._changes = limit_schedule(spec, run_start)  # dated limit values, as DestinationQuota's
        self._epoch = run_start.timestamp()
        self._offset = 0.0  # Redis's clock − this host's, s (from the last reply)
        self.withdrawn_at_s = math.inf
        if spec.withdrawn_on is not None:
            gone = dt.datetime.combine(spec.withdrawn_on, dt.time(0, 0), tzinfo=dt.UTC)
            self.withdrawn_at_s = (gone - run_start).total_seconds()
        # one hash tag per provider: a destination's keys and its account's shared allowances
        # (read by every model of the provider) share a Redis Cluster slot
        tag = provider.replace("{", "(").replace("}", ")")
        prefix = f"{namespace}:{{{tag}}}:{spec.name}"
        account = f"{namespace}:{{{tag}}}:account"
        self.keys = [f"{prefix}:dest"]
        for i in range(accounts):
            self.keys += [f"{prefix}:a{i}", f"{prefix}:a{i}:open", f"{account}:a{i}"]
            for form in self.forms:
                if form.kind == "R":
                    self.keys.append(f"{account if form.pool else prefix}:a{i}:{form.name}:log")
        self._stride = (len(self.keys) - 1) // accounts
        self.keys.append(f"{prefix}:recovery")  # last: the admit and recover scripts' KEYS[#KEYS]
        self._admit = client.register_script(lua("admit"))
        self._settle = client.register_script(lua("settle"))
        self._recover = client.register_script(lua("recover"))
        # loss handling
        self.degraded = False
        self.outages = 0
        self._probe_at = -math.inf
        self._down_since = 0.0
        self._blind_until = -math.inf  # run s: the local ledger admits nothing before (``local``)
        self._local: DestinationQuota | None = None
        self._unsettled: list[tuple[SharedAdmission, int, int]] = []
        # recovery (``local``): local admissions not yet written back (run s, admission); share
        # admissions charged to Redis during a recovery, by (account, ticket), to settle locally too
        self.recovering = False
        self._release = self._lost_from = math.inf  # the barrier is passed by max of these (check-in)
        self._written: list[tuple[float, Admission]] = []
        self._shadow: dict[tuple[int, int], Admission] = {}
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or 0.0
        self.grace_s = (reconnect_s + 2.0 * float(timeout)) * time_scale

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Run seconds now: the injected clock's, or this host's estimate of Redis's."""
        if self.clock is not None:
            return self.clock()
        return time.time() - self._epoch + self._offset

    def _heard(self, redis_now: float) -> None:
        if self.clock is None:
            self._offset = redis_now - (time.time() - self._epoch)

    def output_cap(self, max_output_tokens: int) -> int:
        """``max_tokens`` actually sent: the request's, clipped to the model's per-request cap."""
        cap = self.spec.limits.max_output_tokens_per_request
        return max_output_tokens if cap is None else min(cap, max_output_tokens)

    # -- the shared path ----------------------------------------------------------------------

    async def _admit_shared(
        self, tokens_in: int, max_output_tokens: int, mode: str = "G", account: int = 0
    ) -> Admission | float | str:
        """One ``admit.lua`` call in ``mode`` (see the script): an admission, a refusal's time, or
        the script's word on a recovery — ``C`` (join it), ``W`` (still recovering), ``L`` (Redis
        forgot it). A shared answer to ``S`` or ``P`` means the barrier is passed."""
        output = self.output_cap(max_output_tokens)
        charge = self.tariff.charge(tokens_in, output)
        head = [
            _arg(self._epoch),
            "1" if self.clock is None else "0",
            _arg(self.withdrawn_at_s),
            *(_arg(charge.amount(m)) for m in MEASURES),
            str(self.slots),
            _arg(self.slot_lease_s),
            str(self.accounts),
            str(len(self.forms)),
        ]
        estimate = self.now()
        while self._changes and self._changes[0][0] <= estimate:
            apply_limits([f.window for f in self.forms[: self.own_forms]], self._changes.pop(0)[1])
        for _ in range(_MAX_RESYNC):
            injected = "" if self.clock is None else _arg(estimate)
            args = [injected, *head]
            for form in self.forms:
                args += form.args(estimate)
            args += [str(self.router), str(self.routers), mode, str(account)]
            reply = await self._admit(keys=self.keys, args=args)
            kind = _text(reply[0])
            if kind in ("C", "W", "L"):
                self._heard(float(reply[1]))
                return kind
            if mode != "G" and kind in ("A", "R") and _text(reply[-1]) != "S":
                self._recovered()  # the barrier is passed: the shared windows alone answered
            if kind == "A":
                account, ticket, admitted_at = int(reply[1]), int(reply[2]), float(reply[3])
                self._heard(admitted_at)
                starts = iter(float(s) for s in reply[4])
                handles: list[tuple[QuotaWindow, Any]] = [
                    (f.window, next(starts) if f.kind == "F" else admitted_at) for f in self.forms
                ]
                return SharedAdmission(account, charge, handles, ticket, admitted_at)
            if kind == "R":
                self._heard(float(reply[2]))
                return float(reply[1])
            estimate = float(reply[1])  # 'T': Redis's clock is outside the periods sent; resend
            self._heard(estimate)
        raise ModelError(f"Redis clock {estimate:.3f} s is outside every period computed for it")

    async def _settle_shared(self, admission: SharedAdmission, tokens_in: int, tokens_out: int) -> None:
        actual = self.tariff.charge(tokens_in, tokens_out)
        reserved = admission.charge
        i = admission.account
        keys = [self.keys[0], *self.keys[1 + i * self._stride : 1 + (i + 1) * self._stride]]
        args = [
            "" if self.clock is None else _arg(self.clock()),
            _arg(self._epoch),
            "1" if self.refundable else "0",
            *(_arg(reserved.amount(m)) for m in MEASURES),
            *(_arg(reserved.amount(m) - actual.amount(m)) for m in MEASURES),
            str(admission.ticket),
            _arg(admission.admitted_at),
            str(len(self.forms)),
        ]
        for form, (_, handle) in zip(self.forms, admission.handles, strict=True):
            args += form.args(0.0, handle if form.kind == "F" else None)
        self._heard(float(await self._settle(keys=keys, args=args)))

    # -- the public interface -----------------------------------------------------------------

    async def try_admit(self, tokens_in: int, max_output_tokens: int) -> Admission | float:
        """Admit a request of ``tokens_in`` prompt tokens and at most ``max_output_tokens``
        output tokens on some account, charging every window; or refuse it, answering a lower
        bound of when it may fit, run s (``inf``: only a freed slot can help).

        While Redis is unreachable the answer follows the loss policy: ``fail_closed`` refuses
        until the next attempt to reach Redis; ``local`` refuses until :meth:`blind_until` (answering
        that time), then answers from the 1/N in-memory ledger — and goes on doing so, each
        admission also charged in Redis, until the recovery's barrier is passed (module docstring).
        """
        if self.degraded and time.monotonic() < self._probe_at:
            return self._admit_degraded(tokens_in, max_output_tokens)
        try:
            await self._regained()
            return await self._admit_fleet(tokens_in, max_output_tokens)
        except REDIS_DOWN as exc:
            self._lost(exc)
            return self._admit_degraded(tokens_in, max_output_tokens)

    async def _admit_fleet(self, tokens_in: int, max_output_tokens: int) -> Admission | float:
        """Admit with Redis reachable: on the shared windows, or on the local share while recovering."""
        for _ in range(_MAX_RESYNC):
            if not self.recovering:
                answer = await self._admit_shared(tokens_in, max_output_tokens)
                if not isinstance(answer, str):
                    return answer
                await self._check_in()  # 'C': a recovery this router did not see the outage of
                continue
            local = self._admit_locally(tokens_in, max_output_tokens)
            if isinstance(local, Admission):
                answer = await self._admit_shared(tokens_in, max_output_tokens, "S", local.account)
            else:
                answer = await self._admit_shared(tokens_in, max_output_tokens, "P")
            if answer == "L":  # Redis forgot its state during the recovery: start it again
                if isinstance(local, Admission):
                    self._written.append((self.now(), local))
                await self._check_in()
                return local
            if answer == "W":  # a refusal only a freed slot could end: the barrier is passed by then
                return local if isinstance(local, Admission) else min(local, max(self._release, self._lost_from))
            assert not isinstance(answer, str)
            if isinstance(local, Admission) and self._local is not None:
                if isinstance(answer, SharedAdmission) and self.recovering:
                    self._shadow[answer.account, answer.ticket] = local  # the share's, charged in Redis too
                else:  # the shared windows had no room: the share keeps the request counted, frees its slot
                    self._local.settle(self.now(), local, tokens_in, 0)
            return answer
        return self.now() + 1.0  # recoveries kept starting under this router: ask again shortly

    async def settle(self, admission: Admission, tokens_in: int, tokens_out: int) -> None:
        """Reconcile an admission with the tokens the response actually used, and free its slot.

        An admission of the local ledger settles there (one written back to Redis keeps its
        reservation there). A shared one made before Redis went away settles once Redis is back
        (meanwhile its reservation stays counted)."""
        if not isinstance(admission, SharedAdmission):
            if self._local is not None:
                self._local.settle(self.now(), admission, tokens_in, tokens_out)
            return
        shadow = self._shadow.pop((admission.account, admission.ticket), None)
        if shadow is not None and self._local is not None:
            self._local.settle(self.now(), shadow, tokens_in, tokens_out)
        if self.degraded and time.monotonic() < self._probe_at:
            self._unsettled.append((admission, tokens_in, tokens_out))
            return
        try:
            await self._regained()  # writes back first: a settlement must not recreate lost state
            await self._settle_shared(admission, tokens_in, tokens_out)
        except REDIS_DOWN as exc:
            self._unsettled.append((admission, tokens_in, tokens_out))
            self._lost(exc)

    # -- losing and regaining Redis -----------------------------------------------------------

    def _lost(self, exc: BaseException) -> None:
        self._probe_at = time.monotonic() + self.reconnect_s
        if self.degraded:
            return
        self.degraded = True
        self.outages += 1
        self._down_since = time.monotonic()
        if self.on_loss == "fail_closed":
            policy = "refusing every request (fail_closed)"
        else:
            self._blind_until = self.blind_until(self.now())
            policy = (
                f"refusing every request until what Redis counted has left every window (run s "
                f"{self._blind_until:.1f}), then admitting from a local ledger at 1/{self.routers} of each quota"
            )
        LOG.warning(
            "Redis unreachable for the %s/%s quota ledger (%s: %s); %s until it returns",
            self.provider,
            self.spec.name,
            type(exc).__name__,
            exc,
            policy,
        )

    async def _regained(self) -> None:
        """Back on Redis after an outage: write back and join the recovery (``local``), say so
        once, settle what ended meanwhile. Raises the Redis client's errors (``REDIS_DOWN``)."""
        if not self.degraded:
            return
        written = len(self._written)
        if self.on_loss == "local":
            await self._check_in()
        else:
            await self.client.ping()  # nothing to write back: only make sure Redis answers
        self.degraded = False
        resume = (
            f"wrote back {written} local admissions; admitting from 1/{self.routers} of each quota until every "
            f"router has written back (at the latest from run s {self._release:.1f})"
            if self.recovering
            else "shared quotas resume"
        )
        LOG.warning(
            "Redis reachable again for the %s/%s quota ledger after %.1f s; %s",
            self.provider,
            self.spec.name,
            time.monotonic() - self._down_since,
            resume,
        )
        pending, self._unsettled = self._unsettled, []
        for k, (admission, tokens_in, tokens_out) in enumerate(pending):
            try:
                await self._settle_shared(admission, tokens_in, tokens_out)
            except REDIS_DOWN:
                self._unsettled.extend(pending[k:])
                raise

    async def _check_in(self) -> None:
        """Write this router's local admissions that may still count back to Redis and join the
        destination's recovery (``lua/recover.lua``); ``recovering`` until its barrier is passed."""
        now = self.now()
        entries = [(t, a) for t, a in self._written if self.blind_until(t) > now]
        lost_from = self._blind_until if self._blind_until > -math.inf else self.blind_until(now)
        self._release, self._lost_from = self.blind_until(now + self.grace_s), lost_from
        args = [
            "" if self.clock is None else _arg(now),
            _arg(self._epoch),
            str(self.router),
            str(self.routers),
            _arg(lost_from),
            _arg(self._release),
            str(self.accounts),
            str(len(self.forms)),
        ]
        for form in self.forms:
            args += form.args(now)
        args.append(str(len(entries)))
        for t, admission in entries:
            args += [str(admission.account), _arg(t), *(_arg(admission.charge.amount(m)) for m in MEASURES)]
        reply = await self._recover(keys=self.keys, args=args)
        self._heard(float(reply[1]))
        self._written = []
        if _text(reply[0]) == "O":
            self._recovered()
        else:
            self.recovering = True

    def _recovered(self) -> None:
        """The barrier is passed: every admission that may count is in Redis; the local share ends."""
        if self.recovering:
            LOG.info("every router has written back to the %s/%s quota ledger; shared quotas resume",
                     self.provider, self.spec.name)  # fmt: skip
        self.recovering = False
        self._local = None
        self._shadow.clear()
        self._blind_until = -math.inf

    def _admit_degraded(self, tokens_in: int, max_output_tokens: int) -> Admission | float:
        answer = self._admit_locally(tokens_in, max_output_tokens)
        if isinstance(answer, Admission):
            self._written.append((self.now(), answer))
        return answer

    def _admit_locally(self, tokens_in: int, max_output_tokens: int) -> Admission | float:
        now = self.now()
        if self.on_loss == "fail_closed":
            return now + max(0.0, self._probe_at - time.monotonic()) * self.time_scale
        local = self.local_ledger()
        if local is None:
            return math.inf
        if now < self._blind_until:
            return self._blind_until
        return local.try_admit(now, tokens_in, max_output_tokens)

    def blind_until(self, lost_at: float) -> float:
        """The run time (s) from which a router that found Redis gone at run time ``lost_at`` may
        admit from its local ledger: when every admission Redis counted (all made before
        ``lost_at``) has left every window of this destination and of its account's allowances.

        Rolling window: ``lost_at`` + its length (margin included). Fixed window: the end of the
        period containing ``lost_at`` (its next reset; ``inf`` for one-time credit). Token bucket:
        ``lost_at`` + its length, the time an empty bucket takes to refill. The latest of these:
        a request must fit every window. ``lost_at`` itself when the destination has no window.
        """
        until = lost_at
        for form in self.forms:
            window = form.window
            if isinstance(window, FixedWindow):
                until = max(until, window.schedule.bounds(lost_at)[1])
            elif isinstance(window, RollingWindow | TokenBucket):
                until = max(until, lost_at + window.length_s)
        return until

    def local_ledger(self) -> DestinationQuota | None:
        """The in-memory ledger used while Redis is away under ``local``: 1/N of each quota
        (whole requests and tokens rounded down); ``None`` when 1/N of the concurrency limit
        is less than one slot (it then admits nothing)."""
        if self._local is None:
            spec = split_limits(self.spec, self.routers, never_over=True)  # windows, credit and slots
            if spec.limits.concurrent_requests == 0:
                return None
            pools: list[list[QuotaWindow]] = []
            if self.account_limits is not None:  # 1/N of the account's allowances, for this model alone
                part = split_quotas(self.account_limits, self.routers, never_over=True)
                pools = [
                    limit_windows(part, self.account_resets, self.run_start, self.rolling_margin_s)
                    for _ in range(self.accounts)
                ]
            self._local = DestinationQuota(
                spec, self.accounts, self.run_start, rolling_margin_s=self.rolling_margin_s, pools=pools
            )
        return self._local
