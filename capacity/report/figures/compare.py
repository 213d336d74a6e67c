"""Comparison figures of several plans on the same demand (``capacity compare``).

``compare.png`` sets the plans side by side on three panels: interviews a day carried against
the need, p95 turn latency against the service level (log scale), and cost per carried
interview. ``tco.png`` draws, for each demand group, the cumulative cash of every option over
36 months (owned GPUs start with their purchase, rented GPUs and paid APIs start at zero);
the month at which owning becomes no dearer than another option is where the lines cross, and
it is marked. Drawn with the shared style, so the PNGs are the same bit for bit for the same
data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from capacity.plan.tco import TcoSeries
from capacity.report.figures._style import COLORS, new_figure, palette, save_png, seconds_axis, style
from capacity.result import RunResult


def _first_crossing(owned: Sequence[float], other: Sequence[float]) -> int | None:
    """First month index at which ``owned`` is no dearer than ``other`` (None: never)."""
    return next((m for m, (a, b) in enumerate(zip(owned, other, strict=True)) if a <= b + 1e-9), None)


def comparison_figures(runs: Sequence[tuple[str, RunResult]], tco: Sequence[TcoSeries], out_dir: Path) -> list[Path]:
    """Draw ``compare.png`` (the runs side by side) and, if there are TCO series, ``tco.png``
    (cumulative cost over the horizon, break-even months marked) into ``out_dir``; returns the
    files written."""
    written: list[Path] = []
    if runs:
        written.append(_bars(runs, out_dir / "compare.png"))
    if tco:
        written.append(_tco(tco, out_dir / "tco.png"))
    return written


def _bars(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    labels = [label for label, _ in runs]
    results = [r for _, r in runs]
    y = list(range(len(runs)))
    with style():
        fig = new_figure(12.0, 1.6 + 0.42 * len(runs))
        carried_ax, latency_ax, cost_ax = fig.subplots(1, 3, sharey=True)
        fig.suptitle("Plans side by side (the same demand and seed within each scenario group)")

        carried = [r.carried_interviews_per_day for r in results]
        need = [r.need_interviews_per_day for r in results]
        carried_ax.barh(y, need, color="#DDDDDD", label="need")
        carried_ax.barh(y, carried, height=0.5, color=COLORS["carried"], label="carried")
        carried_ax.set_xlabel("interviews per day")
        carried_ax.set_title("Carried against the need")
        carried_ax.set_yticks(y, labels)
        carried_ax.invert_yaxis()

        p95 = [max(r.turn_latency_s.p95, 0.05) for r in results]
        p50 = [max(r.turn_latency_s.p50, 0.05) for r in results]
        latency_ax.barh(y, p95, color=COLORS["p95"], alpha=0.8, label="p95")
        latency_ax.barh(y, p50, height=0.5, color=COLORS["p50"], label="p50")
        sla = results[0].sla_p95_turn_latency_s
        latency_ax.axvline(sla, color=COLORS["sla"], linestyle="--", label=f"target p95 {sla:g} s")
        latency_ax.set_xscale("log")
        seconds_axis(latency_ax.xaxis)
        latency_ax.set_xlabel("turn latency, s (log scale)")
        latency_ax.set_title("Turn latency")
        handles = [*carried_ax.get_legend_handles_labels()[0], *latency_ax.get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))

        cost = [r.cost_per_interview_usd for r in results]
        colors = palette(len(runs))
        cost_ax.barh(y, cost, color=colors)
        for yi, value in zip(y, cost, strict=True):
            cost_ax.annotate(f"${value:.4f}", (value, yi), xytext=(3, 0), textcoords="offset points", va="center")
        cost_ax.set_xlabel("cost per carried interview, USD")
        cost_ax.set_title("Cost per interview")
        cost_ax.set_xlim(0, max([*cost, 1e-3]) * 1.35)
        return _save(fig, path)


def _tco(series: Sequence[TcoSeries], path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter

    with style():
        fig = new_figure(11.0, 4.2 * len(series))
        axes = fig.subplots(len(series), 1, squeeze=False)[:, 0]
        fig.suptitle("Total cost of ownership: cumulative cash by month")
        for ax, tco in zip(axes, series, strict=True):
            labels = list(tco.cumulative_usd)
            colors = palette(len(labels))
            for label, color in zip(labels, colors, strict=True):
                ax.plot(tco.months, tco.cumulative_usd[label], color=color, linewidth=2, label=label)
            owned = [label for label in labels if "owned" in label.lower() or "own " in label.lower()]
            notes = []
            for own in owned:
                for other in labels:
                    if other == own:
                        continue
                    m = _first_crossing(tco.cumulative_usd[own], tco.cumulative_usd[other])
                    if m is None:
                        notes.append(f"{own} never breaks even against {other}")
                    elif m > 0:
                        ax.plot([tco.months[m]], [tco.cumulative_usd[own][m]], marker="o", color="black", markersize=5)
                        notes.append(f"{own} breaks even against {other} in month {tco.months[m]}")
            if notes:
                ax.text(
                    0.99,
                    0.03,
                    "\n".join(notes),
                    transform=ax.transAxes,
                    ha="right",
                    va="bottom",
                    fontsize=8,
                    bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "#BBBBBB"},
                )
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"${v:,.0f}"))
            ax.set_xlabel("months from purchase")
            ax.set_ylabel("cumulative cost")
            ax.set_title(f"At {tco.interviews_per_month:,.0f} interviews a month ({tco.volume_basis})")
            ax.set_xlim(0, tco.months[-1])
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", fontsize=8)
        return _save(fig, path)


def _save(fig: object, path: Path) -> Path:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    return save_png(fig, path)
