"""The capacity curve: offered interviews a day against carried, and p95 turn latency.

Each point is a short run of the scenario at a scaled demand (:mod:`capacity.studies.sweep`).
Left axis: interviews carried per day against offered (the dotted diagonal is "everything
carried"); right axis: p95 turn latency with the service-level target. The knee — the largest
load carried ≥ 99 % within the target — is marked; where no load meets the latency target
the carried knee (≥ 99 % carried, latency aside) is marked instead.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from capacity.report.figures._style import COLORS, new_figure, save_png, seconds_axis, style
from capacity.studies.sweep import CapacityCurve


def demand_label(curve: CapacityCurve, need_per_day: float | None = None) -> str:
    """The words of the curve's demand line (the figure's legend and the page say the same).

    The line stands at the sweep's scale-1 point: the scenario's own demand, as offered per day of
    the short runs. ``need_per_day`` is the scenario's need per calendar day over its whole horizon
    (:attr:`~capacity.result.RunResult.need_interviews_per_day`); where the short runs' days are
    busier than that average (weekdays of a monthly demand), both are named, so the line is not
    read as the need.
    """
    offered = f"{curve.need_per_day:,.0f}"
    if need_per_day is None or f"{need_per_day:,.0f}" == offered:
        return f"the scenario's need: {offered} interviews/day (scale 1)"
    return (
        f"scale 1, the scenario's own demand: {offered} offered/day on these {curve.days}-day runs; "
        f"its need: {need_per_day:,.0f} per calendar day over the whole scenario"
    )


def curve_figure(curve: CapacityCurve, path: Path, need_per_day: float | None = None) -> Path:
    """Write the capacity-curve figure to ``path`` (PNG); ``need_per_day`` labels the demand line
    (:func:`demand_label`)."""
    pts = curve.points
    offered = [p.offered_per_day for p in pts]
    carried = [p.carried_per_day for p in pts]
    p95 = [p.p95_turn_latency_s for p in pts]
    sla = pts[0].sla_p95_turn_latency_s if pts else 0.0
    with style():
        fig = new_figure(10.0, 5.6)
        ax = fig.subplots()
        log = bool(offered) and max(offered) / max(min(offered), 1e-9) > 20
        top = max([*offered, *carried, 1.0])
        ax.plot(
            [0.0 if not log else min(offered), top],
            [0.0 if not log else min(offered), top],
            color="#999999",
            linestyle=":",
            linewidth=1.2,
            label="carried = offered",
        )
        ax.plot(
            offered, carried, marker="o", color=COLORS["carried"], linewidth=2, label="carried interviews/day"
        )
        ax.axvline(
            curve.need_per_day,
            color=COLORS["demand"],
            linestyle="-.",
            linewidth=1.2,
            label=demand_label(curve, need_per_day),
        )
        knee = curve.knee
        mark = knee or curve.carried_knee
        if mark is not None:
            what = (
                "knee (≥ 99 % carried within the latency target)"
                if knee
                else "carried knee (≥ 99 % carried; latency misses target)"
            )
            ax.axvline(
                mark.offered_per_day,
                color=COLORS["capacity"],
                linestyle="--",
                linewidth=1.6,
                label=f"{what}: {mark.offered_per_day:,.0f}/day",
            )
        ax.set_xlabel(f"offered interviews per day ({curve.days}-day runs{', log scale' if log else ''})")
        ax.set_ylabel("carried interviews per day")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        else:
            ax.set_xlim(0, top * 1.05)
            ax.set_ylim(0, top * 1.05)
        from matplotlib.ticker import FuncFormatter, NullFormatter

        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
            axis.set_minor_formatter(NullFormatter())
        twin = ax.twinx()
        twin.plot(
            offered,
            p95,
            marker="s",
            color=COLORS["p95"],
            linewidth=1.5,
            label="p95 turn latency (right axis)",
        )
        twin.axhline(
            sla, color=COLORS["sla"], linestyle="--", linewidth=1.0, label=f"latency target: p95 ≤ {sla:g} s"
        )
        twin.set_yscale("log")
        twin.set_ylabel("p95 turn latency, s (log scale)")
        seconds_axis(twin.yaxis)
        twin.set_ylim(min([*p95, sla]) * 0.7, max([*p95, sla]) * 1.5)
        twin.grid(False)
        twin.spines["right"].set_visible(True)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        wrapped = ["\n".join(textwrap.wrap(text, 70)) for text in l1 + l2]
        fig.legend(h1 + h2, wrapped, loc="outside lower center", ncol=2, fontsize=8)
        fig.suptitle(f"Scenario {curve.scenario}: capacity curve (seed {curve.seed})")
        return save_png(fig, path)
