"""Quota windows: how much of one limit is in use at a given run time.

Three kinds, after the providers' own documented behaviour:

* :class:`RollingWindow` — at most ``limit`` in *any* interval of ``length_s`` ending now.
  The safe reading of an undocumented "per minute": it holds under every alignment of the
  provider's own windows. Exact: it keeps one entry per admission in the window.
* :class:`FixedWindow` — at most ``limit`` per period of a :class:`ResetSchedule` (a daily
  reset at a documented local time, the 1st of the month, or never for one-time credit).
* :class:`TokenBucket` — an allowance of ``limit`` that refills continuously at
  ``limit / length_s`` per second (Cerebras); over any interval of length t it admits at
  most ``limit + t·limit/length_s``.

Every window is charged at admission (``take``), may be partly refunded after the response
(``refund``: tokens reserved for ``max_tokens`` but not generated), and answers ``free_at``:
the earliest run time at which an amount fits again. Amounts are in the window's *measure*
(requests, tokens, neurons, dollars).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, final

from capacity.policy.resets import ResetSchedule
from capacity.units import Measure

_EPS = 1e-9


class QuotaWindow:
    """Common interface and bookkeeping of the window kinds."""

    __slots__ = ("id", "limit", "measure", "name")

    def __init__(self, name: str, measure: Measure, limit: float) -> None:
        self.name = name
        self.measure = measure
        self.limit = float(limit)
        self.id = 0  # numbered by build_core, so that observers can tell windows apart

    def used(self, now: float) -> float:
        """Amount in use at ``now``."""
        raise NotImplementedError

    def set_limit(self, limit: float) -> None:
        """Give the window a new limit from now on (a dated limit change); what it has counted stays counted."""
        self.limit = float(limit)

    def fits(self, now: float, amount: float) -> bool:
        """Whether ``amount`` more can be admitted at ``now``."""
        return self.used(now) + amount <= self.limit * (1 + _EPS)

    def take(self, now: float, amount: float) -> Any:
        """Charge ``amount`` at ``now`` (the caller checked ``fits``); returns a handle for ``refund``."""
        raise NotImplementedError

    def refund(self, now: float, handle: Any, amount: float) -> None:
        """Give back ``amount`` (≥ 0) of an earlier charge, if its window still counts it."""
        raise NotImplementedError

    def free_at(self, now: float, amount: float) -> float:
        """Earliest run time ≥ now at which ``amount`` fits, or ``math.inf`` if it never will."""
        raise NotImplementedError


@final
class _Charged:
    """One admission in a rolling window's log: when (run s) and how much it still counts (its
    amount less what was refunded). Its own compiled class, not a ``[time, amount]`` list: the
    simulator writes one per admission and reads it at every expiry check, and a list's floats
    are boxed objects."""

    __slots__ = ("admitted", "amount")

    def __init__(self, admitted: float, amount: float) -> None:
        self.admitted = admitted
        self.amount = amount


class RollingWindow(QuotaWindow):
    """At most ``limit`` in any interval of ``length_s`` ending now (exact sliding log)."""

    __slots__ = ("_entries", "_next_expiry", "_sum", "length_s")

    def __init__(self, name: str, measure: Measure, limit: float, length_s: float) -> None:
        super().__init__(name, measure, limit)
        self.length_s = length_s
        self._entries: deque[_Charged] = deque()
        self._sum = 0.0
        self._next_expiry = math.inf  # when the oldest entry leaves (inf: none held): most checks stop here

    def _expire(self, now: float) -> None:
        # an entry leaves at exactly ``admitted + length_s``, the instant free_at promises
        if now < self._next_expiry:
            return
        length = self.length_s
        entries = self._entries
        while entries and entries[0].admitted + length <= now:
            self._sum -= entries.popleft().amount
        if entries:
            self._next_expiry = entries[0].admitted + length
        else:
            self._sum = 0.0  # no drift from float sums
            self._next_expiry = math.inf

    def used(self, now: float) -> float:
        self._expire(now)
        return self._sum

    def fits(self, now: float, amount: float) -> bool:
        self._expire(now)
        return self._sum + amount <= self.limit * (1 + _EPS)

    def take(self, now: float, amount: float) -> _Charged:
        self._expire(now)
        entry = _Charged(now, float(amount))
        if not self._entries:
            self._next_expiry = now + self.length_s
        self._entries.append(entry)
        self._sum += amount
        return entry

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self._expire(now)
        entry: _Charged = handle
        if entry.admitted + self.length_s > now:
            give = min(amount, entry.amount)
            entry.amount -= give
            self._sum -= give

    def free_at(self, now: float, amount: float) -> float:
        if amount > self.limit * (1 + _EPS):
            return math.inf
        self._expire(now)
        excess = self._sum + amount - self.limit * (1 + _EPS)
        if excess <= 0:
            return now
        for entry in self._entries:
            excess -= entry.amount
            if excess <= 0:
                return entry.admitted + self.length_s
        return math.inf  # pragma: no cover - unreachable when amount ≤ limit

    def entries(self) -> list[tuple[float, float]]:
        """The charges still in the window, oldest first (for tests and reports)."""
        return [(e.admitted, e.amount) for e in self._entries]


class FixedWindow(QuotaWindow):
    """At most ``limit`` per period; usage returns to zero when the schedule's period ends."""

    __slots__ = ("_end", "_start", "_used", "schedule")

    def __init__(self, name: str, measure: Measure, limit: float, schedule: ResetSchedule) -> None:
        super().__init__(name, measure, limit)
        self.schedule = schedule
        self._start = math.inf
        self._end = -math.inf
        self._used = 0.0

    def _roll(self, now: float) -> None:
        if not self._start <= now < self._end:
            self._start, self._end = self.schedule.bounds(now)
            self._used = 0.0

    def used(self, now: float) -> float:
        self._roll(now)
        return self._used

    def fits(self, now: float, amount: float) -> bool:
        if not self._start <= now < self._end:
            self._roll(now)
        return self._used + amount <= self.limit * (1 + _EPS)

    def take(self, now: float, amount: float) -> float:
        self._roll(now)
        self._used += amount
        return self._start

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self._roll(now)
        if handle == self._start:
            self._used = max(0.0, self._used - amount)

    def free_at(self, now: float, amount: float) -> float:
        if amount > self.limit * (1 + _EPS):
            return math.inf
        self._roll(now)
        return now if self._used + amount <= self.limit * (1 + _EPS) else self._end

    @property
    def period(self) -> tuple[float, float]:
        """(start, end) of the current period, s."""
        return self._start, self._end


class TokenBucket(QuotaWindow):
    """An allowance of ``limit`` refilling continuously at ``limit / length_s`` per second."""

    __slots__ = ("_last", "_level", "length_s", "rate")

    def __init__(self, name: str, measure: Measure, limit: float, length_s: float) -> None:
        super().__init__(name, measure, limit)
        self.length_s = length_s
        self.rate = limit / length_s
        self._level = float(limit)
        self._last = 0.0

    def set_limit(self, limit: float) -> None:
        """A new capacity and refill rate (limit ÷ length); the level is capped at the new capacity
        when it next refills, as the provider's bucket would be."""
        super().set_limit(limit)
        self.rate = self.limit / self.length_s

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._level = min(self.limit, self._level + (now - self._last) * self.rate)
            self._last = now

    def used(self, now: float) -> float:
        self._refill(now)
        return self.limit - self._level

    def take(self, now: float, amount: float) -> None:
        self._refill(now)
        self._level -= amount

    def refund(self, now: float, handle: Any, amount: float) -> None:
        self._refill(now)
        self._level = min(self.limit, self._level + amount)

    def free_at(self, now: float, amount: float) -> float:
        if amount > self.limit * (1 + _EPS):
            return math.inf
        self._refill(now)
        missing = amount - self._level
        return now if missing <= self.limit * _EPS else now + missing / self.rate


class ConcurrencyLimit:
    """At most ``limit`` requests in flight; a slot frees when a response ends (not by time)."""

    __slots__ = ("id", "in_flight", "limit", "name")

    def __init__(self, limit: int) -> None:
        self.name = "concurrent_requests"
        self.limit = limit
        self.in_flight = 0
        self.id = 0  # numbered by build_core, like the windows'

    def fits(self) -> bool:
        """Whether one more request may start."""
        return self.in_flight < self.limit

    def take(self, now: float) -> None:
        """Start a request."""
        self.in_flight += 1

    def release(self) -> None:
        """End a request."""
        self.in_flight -= 1
