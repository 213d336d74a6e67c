"""Demand over a day, and interviews in flight against the capacity line.

Top: interviews started in each hour of the day shown (the demand as it arrives, with the
mid-morning peaks of each time zone). Bottom: interviews in flight minute by minute, and the
turns waiting for quota. The capacity line is the static plan's: the interviews a day its
quotas carry, spread evenly over the hours some time zone interviews — in starts per hour
(top), and by Little's law (starts per hour × mean interview duration) in interviews in
flight (bottom). Demand above the line is what the plan's per-day arithmetic does not see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from capacity.report.figures._day import DayWindow, day_window, minutes, per_hour
from capacity.report.figures._style import COLORS, new_figure, save_png, style
from capacity.result import RunResult


@dataclass(frozen=True)
class CapacityLine:
    """The static plan's capacity, spread evenly over the active hours of a day."""

    interviews_per_day: float
    """Interviews per interviewing day the plan's quotas carry."""
    active_hours_per_day: float
    """Hours a day in which some time zone interviews, h."""

    @property
    def starts_per_hour(self) -> float:
        """Interviews per active hour."""
        return self.interviews_per_day / self.active_hours_per_day if self.active_hours_per_day else math.inf

    def in_flight(self, mean_duration_s: float) -> float:
        """Interviews in flight at that rate (Little's law)."""
        return self.starts_per_hour * mean_duration_s / 3600.0


def demand_figure(
    result: RunResult, path: Path, capacity: CapacityLine | None = None, window: DayWindow | None = None
) -> Path:
    """Write the demand and in-flight figure of ``result`` to ``path`` (PNG)."""
    window = window or day_window(result)
    labels = window.hour_labels()
    starts = per_hour(minutes(result.timeseries.interview_starts, window))
    in_flight = minutes(result.timeseries.in_flight_interviews, window)
    queued = minutes(result.timeseries.queued_turns, window)
    x_min = np.arange(len(in_flight)) / 60.0
    mean_s = result.interview_duration_s.mean
    offered = _offered_in_flight(minutes(result.timeseries.interview_starts, window), mean_s)
    lo, hi = shown_hours(result, window)
    with style():
        fig = new_figure(10.0, 7.0)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.0, 1.3])
        top.bar(np.arange(24) + 0.5, starts, width=0.85, color=COLORS["demand"], label="interviews started")
        if capacity is not None and math.isfinite(capacity.starts_per_hour):
            top.axhline(
                capacity.starts_per_hour,
                color=COLORS["capacity"],
                linestyle="--",
                linewidth=2,
                label=f"static plan: {capacity.interviews_per_day:,.0f} interviews/day "
                f"over {capacity.active_hours_per_day:g} active hours",
            )
        top.set_ylabel("interviews started per hour")
        top.set_title("Demand: interview starts per hour")
        top.legend(loc="upper right")
        # a plan with no stated limit (a paid API) carries without bound: it draws no line and sets no height
        planned = capacity.starts_per_hour if capacity is not None and math.isfinite(capacity.starts_per_hour) else 0.0
        top.set_ylim(0, max(float(starts.max()), planned, 1.0) * 1.4)

        if mean_s > 0:
            bottom.plot(
                x_min,
                offered,
                color=COLORS["demand"],
                linewidth=1.4,
                linestyle=":",
                label=f"demand: interviews started in the last {mean_s / 60:.0f} min",
            )
        bottom.plot(
            x_min, in_flight, color=COLORS["carried"], linewidth=1.6, label="interviews in flight (carried)"
        )
        peak = max(float(in_flight.max()), float(offered.max()))
        if capacity is not None and mean_s > 0 and math.isfinite(capacity.starts_per_hour):
            line = capacity.in_flight(mean_s)
            bottom.axhline(
                line,
                color=COLORS["capacity"],
                linestyle="--",
                linewidth=2,
                label=f"static plan: {line:,.0f} in flight ({capacity.starts_per_hour:,.0f}/h × "
                f"{mean_s / 60:.0f} min interviews)",
            )
            peak = max(peak, line)
        bottom.set_ylabel("interviews in flight")
        bottom.set_ylim(0, max(peak, 1.0) * 1.35)
        twin = bottom.twinx()
        twin.fill_between(
            x_min,
            queued,
            step="post",
            color=COLORS["queue"],
            alpha=0.35,
            linewidth=0,
            label="turns waiting for quota (right axis)",
        )
        twin.set_ylabel("turns waiting for quota")
        twin.set_ylim(0, max(float(queued.max()), 1.0) * 1.25)
        twin.grid(False)
        twin.spines["right"].set_visible(True)
        handles, texts = bottom.get_legend_handles_labels()
        h2, t2 = twin.get_legend_handles_labels()
        twin.legend(handles + h2, texts + t2, loc="upper right")
        bottom.set_title("Interviews in flight against the capacity line")
        step = 1 if hi - lo <= 14 else 2
        ticks = list(range(lo, hi + 1, step))
        bottom.set_xlim(lo, hi)
        bottom.set_xticks(ticks)
        bottom.set_xticklabels([labels[i % 24] for i in ticks])
        bottom.set_xlabel("time of day (UTC)")
        fig.suptitle(f"Scenario {result.scenario}: demand and capacity over a day\n{window.span_caption(lo, hi)}")
        return save_png(fig, path)


def _offered_in_flight(starts_per_minute: NDArray[np.float64], mean_duration_s: float) -> NDArray[np.float64]:
    """Interviews that would be in flight if every one ran its mean duration: starts in the last D minutes."""
    span = max(1, round(mean_duration_s / 60.0))
    cumulative = np.concatenate([[0.0], np.cumsum(starts_per_minute)])
    idx = np.arange(1, len(cumulative))
    out: NDArray[np.float64] = cumulative[idx] - cumulative[np.maximum(idx - span, 0)]
    return out


def shown_hours(result: RunResult, window: DayWindow) -> tuple[int, int]:
    """The hours of ``window`` the demand figure draws (offsets 0–24, the last exclusive): those with
    an interview started or in flight, and one quiet hour either side. The figure's title and the
    page's caption name this span (:meth:`DayWindow.span_caption`)."""
    starts = per_hour(minutes(result.timeseries.interview_starts, window))
    in_flight = per_hour(minutes(result.timeseries.in_flight_interviews, window))
    return _active_span(starts, in_flight)


def _active_span(*hourly: NDArray[np.float64]) -> tuple[int, int]:
    """First and last hour (exclusive) with any activity, one quiet hour either side."""
    active = np.flatnonzero(np.sum(hourly, axis=0) > 0)
    if len(active) == 0:
        return 0, 24
    return max(0, int(active[0]) - 1), min(24, int(active[-1]) + 2)
