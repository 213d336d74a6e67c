"""A what-if grid's figure: the chosen metric over one or two axes, with 95 % intervals.

Two axes: a heatmap, the first axis down and the second across, each cell coloured by the mean
over the replications and labelled ``mean ± half-width``. One axis: the mean against the axis
values (evenly spaced, in the order given) with 95 % error bars. Three or more axes are not
drawn — a heatmap shows two; the grid's table holds every cell (run one sweep per value of the
extra axes for a figure each).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from capacity.report.figures._style import COLORS, new_figure, save_png, style
from capacity.studies.grid import METRICS, GridResult


def _label(mean: float, half_width: float) -> str:
    def fmt(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    return fmt(mean) if math.isnan(half_width) else f"{fmt(mean)}\n± {fmt(half_width)}"


def grid_figure(result: GridResult, path: Path, caption: str = "") -> tuple[Path | None, str]:
    """Draw the grid's figure to ``path`` (PNG), with ``caption`` below it (whether the replications
    tell the cells apart: a figure pasted on its own must say when its contrast is noise); returns
    the path (None when not drawn) and a sentence on what the figure shows or why there is none."""
    axes = result.axes
    what = METRICS[result.metric]
    intervals = [c.interval(result.metric) for c in result.cells]
    title = f"Scenario {result.scenario}{' (fluid mode)' if result.fidelity == 'fluid' else ''}: {what}"
    over = (
        f"mean ± 95 % half-width over {result.replications} replications" if result.replications > 1
        else "one replication: no interval"
    )
    if len(axes) > 2:
        return None, (
            f"No figure: the grid has {len(axes)} axes and a heatmap shows two; the table holds every cell."
        )
    with style():
        if len(axes) == 1:
            fig = new_figure(8.0, 4.8)
            ax = fig.subplots()
            xs = list(range(len(intervals)))
            means = [ci.mean for ci in intervals]
            errors = [0.0 if math.isnan(ci.half_width) else ci.half_width for ci in intervals]
            ax.errorbar(
                xs, means, yerr=errors, marker="o", capsize=5, color=COLORS["carried"], label=over
            )
            ax.set_xticks(xs, list(axes[0].values))
            ax.set_xlabel(axes[0].path)
            ax.set_ylabel(what)
            ax.legend(loc="best")
            bars = "with 95 % error bars" if result.replications > 1 else "one replication: no error bars"
            note = f"{what} against {axes[0].path}, {bars}."
        else:
            rows, cols = len(axes[0].values), len(axes[1].values)
            table = [[intervals[r * cols + c].mean for c in range(cols)] for r in range(rows)]
            fig = new_figure(max(8.0, 1.6 * cols + 3.0), max(4.0, 1.0 * rows + 2.2))
            ax = fig.subplots()
            image = ax.imshow(table, cmap="viridis", aspect="auto")
            ax.grid(False)
            finite = [m for row in table for m in row if not math.isnan(m)]
            middle = (min(finite) + max(finite)) / 2 if finite else 0.0
            for r in range(rows):
                for c in range(cols):
                    ci = intervals[r * cols + c]
                    ax.text(
                        c, r, _label(ci.mean, ci.half_width), ha="center", va="center", fontsize=9,
                        color="black" if ci.mean >= middle else "white",
                    )
            ax.set_xticks(range(cols), list(axes[1].values))
            ax.set_yticks(range(rows), list(axes[0].values))
            ax.set_xlabel(axes[1].path)
            ax.set_ylabel(axes[0].path)
            fig.colorbar(image, ax=ax, label=what)
            ax.set_title(f"each cell: {over}", fontsize=9, fontweight="normal")
            each = "mean ± 95 % half-width" if result.replications > 1 else "its one replication's figure (no interval)"
            note = f"Heatmap of {what}: {axes[0].path} down, {axes[1].path} across; each cell {each}."
        # a title naming the --set overrides can be longer than the figure is wide: wrap it (about ten
        # characters of the title's size an inch)
        fig.suptitle("\n".join(textwrap.wrap(title, width=int(fig.get_figwidth() * 10))))
        if caption:  # below the axes, where the layout makes room for it (about 14 characters an inch)
            fig.supxlabel("\n".join(textwrap.wrap(caption, width=int(fig.get_figwidth() * 14))), fontsize=8)
        return save_png(fig, path), note
