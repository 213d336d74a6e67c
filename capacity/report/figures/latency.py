"""Turn latency: its distribution with the service level marked, and p50/p95 over the day.

Turn latency is the time from the moment a turn needs an answer (the candidate stopped
speaking) to the answer: quota wait + time to first token + generation, with retries. Turns
answered by a template are left out (they take no time); failed turns are left out too (they
waited until the deadline). Left: the share of turns answered within x seconds, with the
p95 target. Right: median and 95th percentile of the turns needed in each hour of the day.
Axes are logarithmic from :data:`FLOOR_S`: cache hits answer in about no time, and are drawn
at that floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from capacity.report.figures._day import HOURS_PER_DAY, DayWindow, day_window
from capacity.report.figures._style import COLORS, SECOND_TICKS, new_figure, save_png, seconds_axis, style
from capacity.result import RunResult

FLOOR_S = 0.05
"""Lowest latency drawn, s; faster answers (cache hits, de-duplicated turns) are drawn at it."""


def latency_figure(result: RunResult, path: Path, window: DayWindow | None = None) -> Path:
    """Write the turn-latency figure of ``result`` to ``path`` (PNG)."""
    window = window or day_window(result)
    sla = result.sla_p95_turn_latency_s
    q = result.turn_latency_s
    with style():
        fig = new_figure(11.0, 5.4)
        cdf_ax, hour_ax = fig.subplots(1, 2, width_ratios=[1.0, 1.25])
        values = np.maximum(np.asarray(result.turn_latency_cdf.values_s, dtype=float), FLOOR_S)
        fraction = np.asarray(result.turn_latency_cdf.fraction, dtype=float) * 100
        if len(values):
            cdf_ax.step(
                values,
                fraction,
                where="post",
                color=COLORS["demand"],
                linewidth=1.8,
                label=f"turns answered by a model ({q.count:,})",
            )
            cdf_ax.set_xscale("log")
            cdf_ax.set_xlim(FLOOR_S * 0.9, max(float(values.max()), sla) * 1.3)
        cdf_ax.axvline(
            sla, color=COLORS["sla"], linestyle="--", linewidth=1.5, label=f"target: p95 ≤ {sla:g} s"
        )
        cdf_ax.axhline(95, color=COLORS["sla"], linestyle=":", linewidth=1.0)
        if q.count:
            ok = q.p95 <= sla
            cdf_ax.plot(
                [max(q.p95, FLOOR_S)],
                [95],
                marker="o",
                markersize=8,
                color=COLORS["carried"] if ok else COLORS["p95"],
                linestyle="none",
                label=f"measured p95: {q.p95:.2f} s ({'meets' if ok else 'misses'} target)",
            )
            cdf_ax.plot(
                [max(q.p50, FLOOR_S)],
                [50],
                marker="s",
                markersize=7,
                color=COLORS["p50"],
                linestyle="none",
                label=f"measured p50: {q.p50:.2f} s",
            )
        cdf_ax.set_ylim(0, 101)
        cdf_ax.set_xlabel(f"turn latency, s (log scale; below {FLOOR_S:g} s drawn at {FLOOR_S:g} s)")
        cdf_ax.set_ylabel("turns answered within x, %")
        cdf_ax.set_title("Distribution (CDF)")
        seconds_axis(cdf_ax.xaxis)
        cdf_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)

        order = [(window.first_clock_hour + i) % HOURS_PER_DAY for i in range(HOURS_PER_DAY)]
        by_hour = {h.hour: h for h in result.turn_latency_by_hour}
        xs, p50, p95 = [], [], []
        for i, hour in enumerate(order):
            h = by_hour.get(hour)
            if h is not None and h.count > 0:
                xs.append(i)
                p50.append(max(h.p50_s, FLOOR_S))
                p95.append(max(h.p95_s, FLOOR_S))
        hour_ax.plot(xs, p95, marker="o", color=COLORS["p95"], label="p95")
        hour_ax.plot(xs, p50, marker="s", color=COLORS["p50"], label="p50 (median)")
        hour_ax.axhline(
            sla, color=COLORS["sla"], linestyle="--", linewidth=1.5, label=f"target: p95 ≤ {sla:g} s"
        )
        hour_ax.set_yscale("log")
        low = min([*p50, sla])
        high = max([*p95, sla])
        hour_ax.set_ylim(
            max([t for t in SECOND_TICKS if t <= low], default=low) * 0.9,
            min([t for t in SECOND_TICKS if t >= high], default=high) * 1.1,
        )
        hour_ax.set_xticks(
            range(0, HOURS_PER_DAY, 2), [f"{order[i]:02d}:00" for i in range(0, HOURS_PER_DAY, 2)]
        )
        if xs:
            hour_ax.set_xlim(max(-0.5, xs[0] - 1), min(HOURS_PER_DAY - 0.5, xs[-1] + 1))
        hour_ax.set_xlabel("hour of the day the turn was needed (UTC), all days of the run")
        hour_ax.set_ylabel("turn latency, s (log scale)")
        hour_ax.set_title("Over the day")
        seconds_axis(hour_ax.yaxis)
        hour_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8)
        fig.suptitle(f"Scenario {result.scenario}: turn latency")
        return save_png(fig, path)
