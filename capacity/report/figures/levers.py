"""``levers.png``: what each lever is worth alone and together (``capacity compare levers``).

Two panels over the same rows as the table — no lever, each lever alone, all of them:
interviews carried per interviewing day against the need, and API calls per carried interview,
with the seed's additive prediction (each lever's own saving added up) drawn as a dashed line
beside what all the levers measured together. Drawn with the shared style, so the PNG is the
same bit for bit for the same data.
"""

from __future__ import annotations

import math
from pathlib import Path

from capacity.report.figures._style import COLORS, new_figure, save_png, style
from capacity.studies.levers import LeverComparison


def levers_figure(result: LeverComparison, path: Path) -> Path:
    """Draw ``levers.png`` of ``result`` at ``path``; returns it."""
    from matplotlib.ticker import FuncFormatter

    rows = result.rows
    labels = [result.row_label(r) for r in rows]
    y = list(range(len(rows)))
    with style():
        fig = new_figure(11.0, 1.9 + 0.45 * len(rows))
        carried_ax, calls_ax = fig.subplots(1, 2, sharey=True)
        days = f"{result.days} day" + ("" if result.days == 1 else "s")
        fig.suptitle(f"Levers of {result.scenario} over {result.base} (one seed, {days} simulated)")
        carried_ax.barh(y, [r.strategy.need_per_day for r in rows], color="#DDDDDD", label="need")
        carried_ax.barh(
            y, [r.strategy.carried_per_day for r in rows], height=0.5, color=COLORS["carried"], label="carried"
        )
        carried_ax.set_yticks(y, labels)
        carried_ax.invert_yaxis()
        carried_ax.set_xlabel("interviews per interviewing day")
        carried_ax.set_title("Carried against the need")
        carried_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))

        calls = [r.api_calls_per_interview if math.isfinite(r.api_calls_per_interview) else 0.0 for r in rows]
        calls_ax.barh(y, calls, color=COLORS["p50"], label="measured")
        if len(rows) > 3:
            calls_ax.axvline(
                result.additive_calls_per_interview,
                color=COLORS["sla"],
                linestyle="--",
                label=f"levers' savings added up: {result.additive_calls_per_interview:,.1f}",
            )
        calls_ax.set_xlabel("API calls per carried interview")
        calls_ax.set_title("API calls per interview")
        handles = [*carried_ax.get_legend_handles_labels()[0], *calls_ax.get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        return save_png(fig, path)
