"""Comparison figures of several plans on the same demand (``capacity compare``).

``compare.png`` sets the strategies side by side on three panels: interviews per interviewing
day carried against the need, p50/p95 turn latency against the service level (log scale), and
cost per carried interview. Every number is the comparison table's own
(:class:`~capacity.studies.compare.StrategyRow`): per interviewing day of the run, and a month
of the calendar's interviewing days (22 on weekdays, 30 for a 24/7 calendar) for the cost, so
the figure and the table beside it agree.

``tco.png`` draws, for each demand group, the cumulative cash of every option over 36 months
(owned GPUs start with their purchase, rented GPUs and paid APIs start at zero) on a log scale,
so that the cheap options do not lie flat under the dearest one. Each legend entry states the
break-even month of owning against that option, from the group's
:class:`~capacity.studies.compare.BreakEven` (the months the page lists); the crossing is
marked on the lines. Drawn with the shared style, so the PNGs are the same bit for bit for the
same data.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

from capacity.report.figures._style import COLORS, new_figure, palette, save_png, seconds_axis, style, usd_tick
from capacity.report.markdown import money
from capacity.studies.compare import BreakEven, GroupResult, StrategyRow


def comparison_figures(groups: Sequence[GroupResult], out_dir: Path) -> list[Path]:
    """Draw ``compare.png`` (every group's strategies side by side) and, if a group has a TCO,
    ``tco.png`` (cumulative cost over the horizon, break-even months marked) into ``out_dir``;
    returns the files written."""
    written: list[Path] = []
    rows = [row for g in groups for row in g.rows]
    if rows:
        written.append(_bars(rows, out_dir / "compare.png"))
    with_tco = [g for g in groups if g.tco is not None]
    if with_tco:
        written.append(_tco(with_tco, out_dir / "tco.png"))
    return written


def cost_label(row: StrategyRow) -> str:
    """The cost panel's label of ``row``: the table's $/interview (``–`` when nothing was carried)."""
    return money(row.usd_per_interview) if math.isfinite(row.usd_per_interview) else "–"


def _bars(rows: Sequence[StrategyRow], path: Path) -> Path:
    labels = [r.scenario for r in rows]
    y = list(range(len(rows)))
    with style():
        fig = new_figure(12.0, 1.9 + 0.42 * len(rows))
        carried_ax, latency_ax, cost_ax = fig.subplots(1, 3, sharey=True)
        fig.suptitle("Strategies side by side (the same demand and seed within each demand group)")

        carried_ax.barh(y, [r.need_per_day for r in rows], color="#DDDDDD", label="need")
        carried_ax.barh(y, [r.carried_per_day for r in rows], height=0.5, color=COLORS["carried"], label="carried")
        carried_ax.set_xlabel("interviews per interviewing day")
        carried_ax.set_title("Carried against the need")
        carried_ax.set_yticks(y, labels)
        carried_ax.invert_yaxis()
        from matplotlib.ticker import FuncFormatter

        carried_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))

        p95 = [max(r.p95_turn_latency_s, 0.05) if math.isfinite(r.p95_turn_latency_s) else 0.05 for r in rows]
        p50 = [max(r.p50_turn_latency_s, 0.05) if math.isfinite(r.p50_turn_latency_s) else 0.05 for r in rows]
        latency_ax.barh(y, p95, color=COLORS["p95"], alpha=0.8, label="p95")
        latency_ax.barh(y, p50, height=0.5, color=COLORS["p50"], label="p50")
        sla = rows[0].sla_p95_turn_latency_s
        latency_ax.axvline(sla, color=COLORS["sla"], linestyle="--", label=f"target p95 {sla:g} s")
        latency_ax.set_xscale("log")
        seconds_axis(latency_ax.xaxis)
        latency_ax.set_xlabel("turn latency, s (log scale)")
        latency_ax.set_title("Turn latency")
        handles = [*carried_ax.get_legend_handles_labels()[0], *latency_ax.get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))

        cost = [r.usd_per_interview if math.isfinite(r.usd_per_interview) else 0.0 for r in rows]
        cost_ax.barh(y, cost, color=palette(len(rows)))
        for yi, value, row in zip(y, cost, rows, strict=True):
            cost_ax.annotate(cost_label(row), (value, yi), xytext=(3, 0), textcoords="offset points", va="center")
        days = sorted({r.interviewing_days_per_month for r in rows})
        basis = " or ".join(str(d) for d in days)
        cost_ax.set_xlabel("USD per carried interview")
        cost_ax.set_title(f"Cost per carried interview\n({basis}-day month, as the table)")
        cost_ax.set_xlim(0, max([*cost, 1e-3]) * 1.4)
        cost_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_tick(v)))
        return _save(fig, path)


def even_label(option: str, owned: str, even: Sequence[BreakEven]) -> str:
    """The legend entry of a TCO option: the option, and when owning breaks even against it."""
    match = next((b for b in even if b.owned == owned and b.other == option), None)
    if option == owned or match is None:
        return option
    if match.month is None:
        return f"{option}: owning never breaks even"
    return f"{option}: owning breaks even in month {match.month}"


def _tco(groups: Sequence[GroupResult], path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    with style():
        fig = new_figure(12.0, 4.6 * len(groups))
        axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
        fig.suptitle("Total cost of ownership: cumulative cash by month (log scale)")
        for ax, group in zip(axes, groups, strict=True):
            tco = group.tco
            assert tco is not None
            labels = list(tco.cumulative_usd)
            owned = next((b.owned for b in group.break_even), None)
            for label, color in zip(labels, palette(len(labels)), strict=True):
                values = tco.cumulative_usd[label]
                months = [m for m, v in zip(tco.months, values, strict=True) if v > 0]
                shown = [v for v in values if v > 0]
                name = even_label(label, owned, group.break_even) if owned else label
                width = 2.6 if label == owned else 1.8
                ax.plot(months, shown, color=color, linewidth=width, label=name)
            for b in group.break_even:
                if b.month is not None and b.month > 0 and b.month in tco.months:
                    ax.plot([b.month], [tco.at(b.owned, b.month)], marker="o", color="black", markersize=5)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_tick(v)))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("months from purchase (● owning breaks even)")
            ax.set_ylabel("cumulative cost, USD (log scale)")
            title = f"Demand {group.label}, costed at {tco.volume_basis}"
            ax.set_title("\n".join(textwrap.wrap(title, 100)), loc="left")
            ax.set_xlim(0, tco.months[-1])
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="option", title_fontsize=8)
        return _save(fig, path)


def _save(fig: object, path: Path) -> Path:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    return save_png(fig, path)
