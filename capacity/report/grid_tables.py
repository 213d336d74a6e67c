"""A what-if grid's outputs: its table (a pandas frame, CSV, Markdown, the terminal) and JSON.

One row per cell, in grid order (the last axis varies fastest): the cell's value on each axis,
then, for the chosen metric and the standard ones (:data:`~capacity.studies.grid.STANDARD_METRICS`),
the mean over the replications with its 95 % Student-t interval. The figure is
:func:`capacity.report.figures.grid.grid_figure`. Nothing here runs a simulation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from capacity.config.yamldoc import scalar_value
from capacity.report.markdown import bullets, heading, table
from capacity.studies.grid import METRICS, STANDARD_METRICS, GridResult
from capacity.studies.replications import Interval

if TYPE_CHECKING:
    import pandas as pd


FLUID_NOTE = (
    ", in fluid mode (per-minute flows through the same quotas and routing; turn latency not modelled, shown as –;"
    ' README, "Fluid mode")'
)
FLUID_CAVEAT = (
    "Fluid mode: where quotas bind, its figures stray from the exact engine's (up to 8% of a destination's "
    "requests and 26% of its output tokens on the mean of four seeds, 14% of B's small carried residue, B's "
    "cache hit rate 0.62 against 0.52, so a what-if's effect may be understated) and the exact engine is the "
    "faster: run the grid without --fidelity fluid there."
)
"""What a fluid grid's page and terminal output say of its accuracy (README, "Fluid mode")."""


def shown_metrics(result: GridResult) -> list[str]:
    """The chosen metric first, then the standard ones."""
    return [result.metric, *(m for m in STANDARD_METRICS if m != result.metric)]


def number(x: float) -> str:
    """A figure for a table cell: thousands separators from 100 up, three significant digits
    below; ``–`` for NaN."""
    if math.isnan(x):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def with_interval(ci: Interval) -> str:
    """``mean (low–high)``, or the mean alone with one replication (no interval)."""
    if math.isnan(ci.half_width):
        return number(ci.mean)
    return f"{number(ci.mean)} ({number(ci.low)}–{number(ci.high)})"


def grid_frame(result: GridResult) -> pd.DataFrame:
    """The grid as a frame: one row per cell; a column per axis (its path, values as written),
    then ``<metric>_mean``, ``<metric>_ci95_low`` and ``<metric>_ci95_high`` for each shown
    metric (units in :data:`~capacity.studies.grid.METRICS`; the interval NaN with one replication,
    written empty in a CSV), and ``replications``."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for cell in result.cells:
        row: dict[str, Any] = {a.path: v for a, v in zip(result.axes, cell.values, strict=True)}
        for metric in shown_metrics(result):
            ci = cell.interval(metric)
            row |= {f"{metric}_mean": ci.mean, f"{metric}_ci95_low": ci.low, f"{metric}_ci95_high": ci.high}
        row["replications"] = len(cell.runs)
        rows.append(row)
    return pd.DataFrame(rows)


def _headers(result: GridResult) -> list[str]:
    figure = "mean (95 % CI)" if result.replications > 1 else "one run (no interval)"
    return [*(a.path for a in result.axes), *(f"{METRICS[m]}, {figure}" for m in shown_metrics(result))]


def _rows(result: GridResult) -> list[list[str]]:
    out = []
    for cell in result.cells:
        figures = [cell.interval(m) for m in shown_metrics(result)]
        out.append([*cell.values, *(with_interval(ci) for ci in figures)])
    return out


def seeding_note(result: GridResult) -> str:
    """How the runs were seeded, in one sentence."""
    return (
        f"Replication r of a cell runs with seed SeedSequence({result.base_seed}, spawn_key=(cell key, r)), "
        "the cell key being a hash of the cell's assignments: the same cell gets the same seeds whatever "
        "the executor, the workers or the rest of the grid."
    )


def separation_note(result: GridResult) -> str:
    """Whether the replications tell the cells apart on the chosen metric: which cells' 95 % intervals
    overlap the interval of the cell with the highest mean (with one replication, that nothing does: no
    intervals; '' for one cell). A heatmap colours means; where intervals overlap, its contrast is noise,
    not the levers' effect."""
    intervals = [(cell, cell.interval(result.metric)) for cell in result.cells]
    if len(intervals) < 2:
        return ""
    words = METRICS[result.metric].split(",")[0]
    if result.replications < 2:
        return (
            f"On {words}, one replication gives no interval: the cells' differences may be noise "
            "(run -r 2 or more to tell them apart)."
        )
    top_cell, top = max(intervals, key=lambda x: x[1].mean)
    overlapping = [c for c, ci in intervals if c is not top_cell and ci.high >= top.low]
    if all(ci.mean == top.mean and ci.half_width == top.half_width for _, ci in intervals):
        return f"On {words}, every cell has the same figures: the grid's values do not move it here."
    if len(overlapping) == len(intervals) - 1:
        return (
            f"On {words}, every cell's 95 % interval overlaps the highest cell's: at {result.replications} "
            "replications the grid does not tell its cells apart (intervals narrow as 1/√replications)."
        )
    if not overlapping:
        return f"On {words}, the highest cell stands apart: no other cell's 95 % interval reaches its own."
    return (
        f"On {words}, {len(overlapping)} of the other {len(intervals) - 1} cells "
        f"{'has' if len(overlapping) == 1 else 'have'} a 95 % interval overlapping "
        f"the highest cell's: at {result.replications} replications they are not told apart from it."
    )


def grid_markdown(result: GridResult, figure: str | None, figure_note: str) -> str:
    """The grid's Markdown page: what was run, the table, and the figure (``figure``: its file
    name beside the page, or None with ``figure_note`` saying why there is none)."""
    horizon = f"{result.days} day(s) of demand" if result.days else "the scenario's horizon"
    axes = [f"`{a.path}`: {', '.join(a.values)}" for a in result.axes]
    apart = separation_note(result)
    parts = [
        heading(1, f"What-if grid on scenario {result.scenario}"),
        "\n",
        f"{len(result.cells)} cells × {result.replications} replications, {horizon} each"
        f"{FLUID_NOTE if result.fidelity == 'fluid' else ''}. "
        f"Each figure is the mean over the replications with its 95 % Student-t interval. "
        f"{seeding_note(result)}\n\n",
        bullets(axes),
        "\n",
        table(_headers(result), _rows(result), "l" * len(result.axes) + "r" * len(shown_metrics(result))),
        "\n",
        f"{apart}\n\n" if apart else "",
        f"{FLUID_CAVEAT}\n\n" if result.fidelity == "fluid" else "",
        f"![{METRICS[result.metric]} over the grid]({figure})\n" if figure else f"{figure_note}\n",
    ]
    return "".join(parts)


def grid_table(result: GridResult) -> Table:
    """The grid as a terminal table."""
    engine = ", fluid mode (turn latency not modelled)" if result.fidelity == "fluid" else ""
    out = Table(title=f"{result.scenario}: {len(result.cells)} cells × {result.replications} replications{engine}")
    for i, header in enumerate(_headers(result)):
        out.add_column(header, justify="left" if i < len(result.axes) else "right")
    for row in _rows(result):
        out.add_row(*row)
    return out


def grid_json(result: GridResult, files: dict[str, str]) -> dict[str, Any]:
    """The grid as a JSON document: axes (values as the configuration reads them: 2, not "2"), and
    per cell its values, seeds, each replication's headline numbers and each metric's mean and
    95 % interval (NaN where undefined: :func:`~capacity.cli.common.print_json` writes it null)."""

    cells = []
    for cell in result.cells:
        intervals = {}
        for metric in METRICS:
            ci = cell.interval(metric)
            intervals[metric] = {
                "mean": ci.mean,
                "ci95_low": ci.low,
                "ci95_high": ci.high,
            }
        cells.append(
            {
                "values": {a.path: scalar_value(v) for a, v in zip(result.axes, cell.values, strict=True)},
                "seeds": list(cell.seeds),
                "metrics": intervals,
                "runs": [dict(r) for r in cell.runs],
            }
        )
    return {
        "scenario": result.scenario,
        "metric": result.metric,
        "replications": result.replications,
        "days": result.days,
        "base_seed": result.base_seed,
        "fidelity": result.fidelity,
        "seeding": seeding_note(result),
        "axes": [{"path": a.path, "values": [scalar_value(v) for v in a.values]} for a in result.axes],
        "cells": cells,
        "files": files,
    }


def write_grid_files(result: GridResult, folder: Path) -> tuple[dict[str, Path], str]:
    """Write ``grid.csv``, ``grid.md`` and (one or two axes) ``grid.png`` into ``folder``.

    Returns the files written by kind and a note on the figure (how it is drawn, or why there
    is none: a grid of three or more axes is not drawn; its table holds every cell)."""
    from capacity.report.figures.grid import grid_figure

    folder.mkdir(parents=True, exist_ok=True)
    files = {"csv": folder / "grid.csv"}
    grid_frame(result).to_csv(files["csv"], index=False)
    png, note = grid_figure(result, folder / "grid.png", separation_note(result))
    if png is not None:
        files["png"] = png
    files["markdown"] = folder / "grid.md"
    files["markdown"].write_text(grid_markdown(result, png.name if png else None, note), encoding="utf-8")
    return files, note
