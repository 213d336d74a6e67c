"""Reset schedules of fixed quota windows, in run time (s since the run's start instant).

A fixed window's usage returns to zero at its period boundaries: a local time each day
(Gemini: 00:00 America/Los_Angeles, so DST moves it in UTC), 00:00 on the 1st of each
month, or never (a one-time credit). Bounds are computed from the time zone database and
cached, so asking for the current period is O(1) until the period ends.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Protocol
from zoneinfo import ZoneInfo


class ResetSchedule(Protocol):
    """Gives the period that contains a run time."""

    def bounds(self, now: float) -> tuple[float, float]:
        """(start, end) of the period containing ``now``, s; start ≤ now < end."""
        ...


class NeverResets:
    """One period for ever: a one-time allowance."""

    def bounds(self, now: float) -> tuple[float, float]:
        return (-math.inf, math.inf)


class _CalendarSchedule:
    """Shared caching of calendar-aligned periods."""

    def __init__(self, run_start: dt.datetime, timezone: str) -> None:
        self.run_start = run_start
        self.tz = ZoneInfo(timezone)
        self._start = math.inf
        self._end = -math.inf

    def _run_seconds(self, instant: dt.datetime) -> float:
        return (instant - self.run_start).total_seconds()

    def _period_of(self, local: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        raise NotImplementedError

    def bounds(self, now: float) -> tuple[float, float]:
        if not self._start <= now < self._end:
            local = (self.run_start + dt.timedelta(seconds=now)).astimezone(self.tz)
            start, end = self._period_of(local)
            self._start, self._end = self._run_seconds(start), self._run_seconds(end)
        return self._start, self._end


class DailyAt(_CalendarSchedule):
    """Resets every day at local time ``at`` in ``timezone``."""

    def __init__(self, run_start: dt.datetime, at: dt.time, timezone: str) -> None:
        super().__init__(run_start, timezone)
        self.at = at

    def _period_of(self, local: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        day = local.date()
        start = dt.datetime.combine(day, self.at, tzinfo=self.tz)
        if start > local:
            day -= dt.timedelta(days=1)
            start = dt.datetime.combine(day, self.at, tzinfo=self.tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), self.at, tzinfo=self.tz)
        return start, end


class MonthlyOnFirst(_CalendarSchedule):
    """Resets at 00:00 on the 1st of each month in ``timezone``."""

    def _period_of(self, local: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime(local.year, local.month, 1, tzinfo=self.tz)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return start, dt.datetime(year, month, 1, tzinfo=self.tz)


class EveryAligned:
    """Resets every ``length_s`` at multiples of it in run time (a fixed minute or hour)."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s

    def bounds(self, now: float) -> tuple[float, float]:
        start = math.floor(now / self.length_s) * self.length_s
        return start, start + self.length_s
