"""An independent audit of what the emulator admitted: the most seen in any window of each limit.

The emulator enforces quotas with the policy room's windows
(:func:`capacity.policy.ledger.build_windows`). This module checks them without using them:
from the provider's configuration alone it keeps, per account and limit, a log of what was
admitted and computes exactly

* **rolling** limits: the largest amount in use in any window ``(t − length, t]`` — a sliding
  maximum over the log, evaluated at every admission (the only instants a window's sum grows);
* **fixed** limits (a local reset time across DST, the 1st of the month, fixed minutes, a
  one-time credit): the largest amount charged in any one period;
* **token buckets** (capacity C refilling at C/length per second): the most drawn over any
  interval [s, t] beyond the refill, max(Σ charged − Σ refunded − (t − s)·C/length), which an
  honest bucket keeps ≤ C (prefix sums make it O(1) per event);
* **concurrency**: the most requests in flight at once.

Amounts are what the provider counts at that instant: tokens reserved at admission (input +
max output) and reduced by the refund at the response's end, exactly as the enforcing windows
count them. A *violation* is an admission after which the figure exceeds the limit (beyond a
float tolerance); with correct enforcement there are none. Memory: a rolling log holds only
the entries inside its window, so at most one entry per admitted request of the window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from capacity.config.providers import (
    CalendarMonthReset,
    FixedReset,
    ModelSpec,
    RollingReset,
    TokenBucketReset,
    UnknownReset,
)
from capacity.units import DAY_S, DAYS_PER_MONTH, HOUR_S, MINUTE_S

__all__ = ["Audit", "LimitDef", "limit_defs"]

PERIOD_S = {"second": 1.0, "minute": MINUTE_S, "hour": HOUR_S, "day": DAY_S, "month": DAYS_PER_MONTH * DAY_S}
"""Length of each period, s; a rolling or bucket month is 30 days, as in the ledger."""

_LIMITS: tuple[tuple[str, str, str], ...] = (
    ("rps", "requests", "second"),
    ("rpm", "requests", "minute"),
    ("rph", "requests", "hour"),
    ("rpd", "requests", "day"),
    ("requests_per_month", "requests", "month"),
    ("tpm", "tokens", "minute"),
    ("input_tpm", "input_tokens", "minute"),
    ("output_tpm", "output_tokens", "minute"),
    ("tokens_per_hour", "tokens", "hour"),
    ("tpd", "tokens", "day"),
    ("input_tpd", "input_tokens", "day"),
    ("tokens_per_month", "tokens", "month"),
    ("neurons_per_day", "neurons", "day"),
)


def _tolerance(limit: float) -> float:
    # the ledger admits up to limit·(1 + 1e-9); float sums add a little more
    return limit * (1 + 1e-9) + 1e-6


@dataclass(frozen=True, slots=True)
class LimitDef:
    """One limit of a model, read from its configuration."""

    name: str
    """The field of ``limits`` (``rpm``, ``tpd``, ``credit_usd`` …)."""
    measure: str
    """What it counts: ``requests``, ``tokens``, ``input_tokens``, ``output_tokens``, ``neurons`` or ``usd``."""
    period: str
    """``second``, ``minute``, ``hour``, ``day``, ``month`` or ``once`` (a credit that never renews)."""
    limit: float
    """The allowance per period, in the measure's unit."""
    rule: str
    """How it resets: ``rolling``, ``fixed``, ``token_bucket``, ``calendar_month``, ``unknown`` (counted
    as rolling) or ``never``."""

    @property
    def daily(self) -> bool:
        """True for allowances of a day or longer (an exhausted one is not a burst)."""
        return self.period not in ("second", "minute", "hour")


def limit_defs(spec: ModelSpec) -> list[LimitDef]:
    """The limits of ``spec``, one per configured field (absent limits give none)."""
    out: list[LimitDef] = []
    for name, measure, period in _LIMITS:
        value = getattr(spec.limits, name)
        if value is not None:
            rule = getattr(spec.resets, period)
            out.append(LimitDef(name, measure, period, float(value), rule.kind))
    credit = spec.limits.credit_usd
    if credit is not None:
        if spec.limits.credit_renews == "monthly":
            out.append(LimitDef("credit_usd", "usd", "month", credit, spec.resets.month.kind))
        else:
            out.append(LimitDef("credit_usd", "usd", "once", credit, "never"))
    return out


class _Tracker(Protocol):
    peak: float
    violations: int

    def admit(self, now: float, amount: float) -> Any: ...

    def refund(self, now: float, handle: Any, amount: float) -> None: ...


class _Rolling:
    """Exact sliding maximum of the amount in use in any window (t − length, t]."""

    def __init__(self, limit: float, length_s: float) -> None:
        self.limit, self.length_s = limit, length_s
        self.log: deque[list[float]] = deque()  # [admitted at, amount still counted]
        self.total = 0.0
        self.peak = 0.0
        self.violations = 0

    def _drop_old(self, now: float) -> None:
        while self.log and self.log[0][0] + self.length_s <= now:
            self.total -= self.log.popleft()[1]
        if not self.log:
            self.total = 0.0

    def admit(self, now: float, amount: float) -> list[float] | None:
        self._drop_old(now)
        entry = None
        if amount > 0:
            entry = [now, amount]
            self.log.append(entry)
            self.total += amount
        self.peak = max(self.peak, self.total)
        if self.total > _tolerance(self.limit):
            self.violations += 1
        return entry

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self._drop_old(now)
        if handle is not None and handle[0] + self.length_s > now:
            give = min(amount, handle[1])
            handle[1] -= give
            self.total -= give


class _Periods(Protocol):
    def period(self, now: float) -> tuple[float, float]: ...


class _LocalDaily:
    """Days that start at local time ``at`` in ``tz`` (23 or 25 hours long across DST)."""

    def __init__(self, run_start: dt.datetime, at: dt.time, tz: str) -> None:
        self.run_start, self.at, self.tz = run_start, at, ZoneInfo(tz)

    def period(self, now: float) -> tuple[float, float]:
        local = (self.run_start + dt.timedelta(seconds=now)).astimezone(self.tz)
        day = (
            local.date()
            if dt.datetime.combine(local.date(), self.at, self.tz) <= local
            else (local.date() - dt.timedelta(days=1))
        )
        begin = dt.datetime.combine(day, self.at, self.tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), self.at, self.tz)
        return (begin - self.run_start).total_seconds(), (end - self.run_start).total_seconds()


class _LocalMonth:
    """Calendar months starting 00:00 on the 1st in ``tz``."""

    def __init__(self, run_start: dt.datetime, tz: str) -> None:
        self.run_start, self.tz = run_start, ZoneInfo(tz)

    def period(self, now: float) -> tuple[float, float]:
        local = (self.run_start + dt.timedelta(seconds=now)).astimezone(self.tz)
        nxt = (local.year + local.month // 12, local.month % 12 + 1)
        begin = dt.datetime(local.year, local.month, 1, tzinfo=self.tz)
        end = dt.datetime(nxt[0], nxt[1], 1, tzinfo=self.tz)
        return (begin - self.run_start).total_seconds(), (end - self.run_start).total_seconds()


class _Aligned:
    """Periods of ``length_s`` aligned to run time 0 (a fixed minute or hour)."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s

    def period(self, now: float) -> tuple[float, float]:
        begin = math.floor(now / self.length_s) * self.length_s
        return begin, begin + self.length_s


class _Forever:
    def period(self, now: float) -> tuple[float, float]:
        return -math.inf, math.inf


class _Fixed:
    """The most charged in any one period."""

    def __init__(self, limit: float, periods: _Periods) -> None:
        self.limit, self.periods = limit, periods
        self.begin, self.end = math.inf, -math.inf
        self.total = 0.0
        self.peak = 0.0
        self.violations = 0

    def _roll(self, now: float) -> None:
        if not self.begin <= now < self.end:
            self.begin, self.end = self.periods.period(now)
            self.total = 0.0

    def admit(self, now: float, amount: float) -> float:
        self._roll(now)
        self.total += amount
        self.peak = max(self.peak, self.total)
        if self.total > _tolerance(self.limit):
            self.violations += 1
        return self.begin

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self._roll(now)
        if handle == self.begin:
            self.total = max(0.0, self.total - amount)


class _Bucket:
    """The most drawn over any interval beyond the refill: max over s ≤ t of
    (net charges in [s, t]) − rate·(t − s), via prefix sums (O(1) per event)."""

    def __init__(self, limit: float, length_s: float) -> None:
        self.limit, self.rate = limit, limit / length_s
        self.drawn = 0.0  # net charges so far
        self.best_start = -math.inf  # max over events j of rate·t_j − drawn before j
        self.peak = 0.0
        self.violations = 0

    def admit(self, now: float, amount: float) -> None:
        self.best_start = max(self.best_start, self.rate * now - self.drawn)
        self.drawn += amount
        value = self.drawn - self.rate * now + self.best_start
        self.peak = max(self.peak, value)
        if value > _tolerance(self.limit):
            self.violations += 1

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self.best_start = max(self.best_start, self.rate * now - self.drawn)
        self.drawn -= amount


def _tracker(limit: LimitDef, run_start: dt.datetime, spec: ModelSpec) -> _Tracker:
    if limit.rule == "never":
        return _Fixed(limit.limit, _Forever())
    rule = spec.resets.month if limit.period == "month" else getattr(spec.resets, limit.period)
    length = PERIOD_S[limit.period]
    if isinstance(rule, RollingReset | UnknownReset):  # nothing known: the ledger's safe reading
        return _Rolling(limit.limit, length)
    if isinstance(rule, TokenBucketReset):
        return _Bucket(limit.limit, length)
    if isinstance(rule, CalendarMonthReset):
        return _Fixed(limit.limit, _LocalMonth(run_start, rule.timezone))
    assert isinstance(rule, FixedReset)
    if limit.period == "day":
        return _Fixed(limit.limit, _LocalDaily(run_start, rule.at, rule.timezone))
    return _Fixed(limit.limit, _Aligned(length))


@dataclass(frozen=True, slots=True)
class AuditRow:
    """What the audit saw of one limit on one account."""

    limit: LimitDef
    peak: float
    violations: int


class Audit:
    """The independent audit of one account of one model."""

    def __init__(self, spec: ModelSpec, run_start: dt.datetime) -> None:
        self.limits = limit_defs(spec)
        self._trackers = [_tracker(limit, run_start, spec) for limit in self.limits]
        self.concurrency_limit = spec.limits.concurrent_requests
        self.refundable = not spec.limits.charge_max_output_up_front
        self.in_flight = 0
        self.peak_in_flight = 0
        self.concurrency_violations = 0

    def admit(self, now: float, amounts: dict[str, float]) -> list[Any]:
        """Log an admission charging ``amounts`` (by measure); returns handles for :meth:`settle`."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if self.concurrency_limit is not None and self.in_flight > self.concurrency_limit:
            self.concurrency_violations += 1
        return [t.admit(now, amounts[lim.measure]) for lim, t in zip(self.limits, self._trackers, strict=True)]

    def settle(self, now: float, handles: list[Any], reserved: dict[str, float], used: dict[str, float]) -> None:
        """Log the end of a request that ``reserved`` and ``used`` these amounts (by measure):
        the difference goes back unless the provider charges the maximum up front."""
        self.in_flight -= 1
        for lim, tracker, handle in zip(self.limits, self._trackers, handles, strict=True):
            unused = reserved[lim.measure] - used[lim.measure] if self.refundable else 0.0
            if unused > 0:
                tracker.refund(now, handle, unused)

    def rows(self) -> list[AuditRow]:
        """Peak and violations of every limit."""
        return [AuditRow(lim, t.peak, t.violations) for lim, t in zip(self.limits, self._trackers, strict=True)]
