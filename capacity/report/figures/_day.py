"""Which 24 hours of a run a "day" figure shows, and the run's series cut to them.

A run's clock is UTC; interviews follow the candidates' business hours, so for American
time zones one business day runs from about 13:00 UTC to 01:00 UTC the next day. A figure
of "a day" therefore starts at the end of the longest quiet stretch of the day (no interview
in flight) rather than at midnight UTC, so that each business day is drawn in one piece.
Of the run's days it shows the worst one (most failed turns), or the busiest when no turn
failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capacity.result import RunResult

MINUTES_PER_HOUR = 60
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class DayWindow:
    """24 hours of the run, from ``start_hour`` (hours since run time 0, a UTC hour)."""

    start_hour: int
    day_index: int
    """0-based: the run's day this window starts on."""
    reason: str
    """Why this day: ``worst day`` or ``busiest day``."""
    run_start: dt.datetime

    @property
    def first_clock_hour(self) -> int:
        """UTC hour of day at which the window starts."""
        return self.start_hour % HOURS_PER_DAY

    def hour_labels(self) -> list[str]:
        """``HH:00`` UTC for each hour of the window."""
        return [f"{(self.first_clock_hour + i) % HOURS_PER_DAY:02d}:00" for i in range(HOURS_PER_DAY)]

    def caption(self) -> str:
        """``worst day: Mon 2025-10-06, 11:00 UTC to 11:00 the next day``."""
        start = self.run_start + dt.timedelta(hours=self.start_hour)
        return f"{self.reason}: {start:%a %Y-%m-%d}, {start:%H:%M} UTC to {start:%H:%M} the next day"

    def span_caption(self, first: int, last: int) -> str:
        """The hours ``first`` to ``last`` (offsets into the window, 0–24) in words, as a figure that
        draws only them says: ``worst day: Wed 2025-10-29, 12:00 to 03:00 UTC the next day``."""
        start = self.run_start + dt.timedelta(hours=self.start_hour + first)
        end = self.run_start + dt.timedelta(hours=self.start_hour + last)
        later = "" if end.date() == start.date() else " the next day"
        return f"{self.reason}: {start:%a %Y-%m-%d}, {start:%H:%M} to {end:%H:%M} UTC{later}"


def _quiet_start_hour(in_flight: NDArray[np.float64]) -> int:
    """UTC hour of day that ends the longest circular stretch of least activity."""
    hours = len(in_flight) // MINUTES_PER_HOUR
    if hours == 0:
        return 0
    by_hour = in_flight[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR).sum(axis=1)
    profile = np.zeros(HOURS_PER_DAY)
    np.add.at(profile, np.arange(hours) % HOURS_PER_DAY, by_hour)
    quiet = profile <= profile.min() + 1e-9
    if quiet.all():
        return 0
    best_len, best_end = -1, 0
    for start in range(HOURS_PER_DAY):
        if not quiet[start] or quiet[start - 1]:
            continue  # not the first hour of a quiet stretch
        length = 0
        while quiet[(start + length) % HOURS_PER_DAY]:
            length += 1
        if length > best_len:
            best_len, best_end = length, (start + length - 1) % HOURS_PER_DAY
    return best_end


def day_window(result: RunResult) -> DayWindow:
    """The 24 hours a day figure shows: the worst (or busiest) day, drawn in one piece."""
    ts = result.timeseries
    in_flight = np.asarray(ts.in_flight_interviews, dtype=float)
    failed = np.asarray(ts.failed_turns, dtype=float)
    starts = np.asarray(ts.interview_starts, dtype=float)
    h0 = _quiet_start_hour(in_flight)
    total_hours = max(1, len(in_flight) // MINUTES_PER_HOUR)
    candidates = list(range(h0, max(h0 + 1, total_hours - HOURS_PER_DAY + 1), HOURS_PER_DAY)) or [h0]

    def total(series: NDArray[np.float64], first_hour: int) -> float:
        a = first_hour * MINUTES_PER_HOUR
        return float(series[a : a + HOURS_PER_DAY * MINUTES_PER_HOUR].sum())

    any_failed = failed.sum() > 0
    key = failed if any_failed else starts
    best = max(candidates, key=lambda h: (total(key, h), total(starts, h), -h))
    return DayWindow(
        start_hour=best,
        day_index=best // HOURS_PER_DAY,
        reason="worst day (most failed turns)" if any_failed else "busiest day (most interview starts)",
        run_start=dt.datetime.fromisoformat(result.run_start_utc),
    )


def minutes(series: list[int], window: DayWindow) -> NDArray[np.float64]:
    """A per-minute series cut to the window (zero-padded past the run's end)."""
    out = np.zeros(HOURS_PER_DAY * MINUTES_PER_HOUR)
    a = window.start_hour * MINUTES_PER_HOUR
    part = np.asarray(series[a : a + len(out)], dtype=float)
    out[: len(part)] = part
    return out


def hours(series: list[float] | list[int], window: DayWindow) -> NDArray[np.float64]:
    """A per-hour series cut to the window (zero-padded past the run's end)."""
    out = np.zeros(HOURS_PER_DAY)
    part = np.asarray(series[window.start_hour : window.start_hour + HOURS_PER_DAY], dtype=float)
    out[: len(part)] = part
    return out


def per_hour(series_by_minute: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum a per-minute series of a whole number of hours into hours."""
    n = len(series_by_minute) // MINUTES_PER_HOUR
    out: NDArray[np.float64] = (
        series_by_minute[: n * MINUTES_PER_HOUR].reshape(n, MINUTES_PER_HOUR).sum(axis=1)
    )
    return out
