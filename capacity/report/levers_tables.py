"""``capacity compare levers``: the table, its JSON form and its Markdown page.

One row per run of :func:`capacity.studies.levers.compare_levers` — the base scenario (no
lever), the base with each lever alone, every lever together — with interviews carried per
interviewing day, API calls per carried interview, cost per month and turn latency; then the
line that sets what adding up each lever's own saving predicts (the seed's arithmetic) against
what all the levers measured together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from capacity.report.markdown import table, tidy
from capacity.studies.levers import LEVERS, LeverComparison, LeverRow

QUALITY_NOTE = (
    "The tool counts calls, tokens, quota and latency; it cannot judge whether a template, a cached "
    "answer or a smaller model is good enough for an interview."
)

_HEADERS = ("levers on", "carried/day", "API calls/carried interview", "cost/month", "turn p50 / p95")


def _calls(x: float) -> str:
    return f"{x:,.1f}" if math.isfinite(x) else "—"


def _usd(x: float) -> str:
    if not math.isfinite(x):
        return "—"
    return f"${x:,.2f}" if 0 < abs(x) < 100 else f"${x:,.0f}"


def _change(now: float, before: float) -> str:
    change = now / before - 1
    return " (±0%)" if abs(change) < 0.005 else f" ({change:+.0%})"


def _cells(row: LeverRow, result: LeverComparison) -> tuple[str, ...]:
    s = row.strategy
    none = result.none
    gain = ""
    if row is not none and none.strategy.carried_per_day > 0:
        gain = _change(s.carried_per_day, none.strategy.carried_per_day)
    return (
        result.row_label(row),
        f"{s.carried_per_day:,.0f}{gain}",
        _calls(row.api_calls_per_interview),
        _usd(s.usd_per_month),
        f"{s.p50_turn_latency_s:,.2f} / {s.p95_turn_latency_s:,.2f} s",
    )


def summary_lines(result: LeverComparison) -> list[str]:
    """The sentences under the table: the need, the additive prediction against all together."""
    none, every = result.none, result.all
    absent = [lv.name for lv in LEVERS if lv.name not in {r.label for r in result.rows}]
    lines = [
        f"none: {result.base} as it is; each other row switches on one lever of {result.scenario} (its "
        f"settings), all: {result.scenario}. Not switched on by {result.scenario}: {', '.join(absent) or 'none'}"
        + (" (its comments say why)." if absent else "."),
        f"Need: {none.strategy.need_per_day:,.0f} interviews per interviewing day; "
        f"{result.days} day{'' if result.days == 1 else 's'} simulated, seed {result.seed}, the same in every run.",
    ]
    if len(result.rows) > 3:
        added, measured = result.additive_calls_per_interview, every.api_calls_per_interview
        if math.isclose(added, measured, rel_tol=0.01):
            how = "here they add up"
        elif measured > added:
            how = "the savings overlap, so together they save less than their sum"
        else:
            how = "the savings compound, so together they save more than their sum"
        lines.append(
            f"Adding up each lever's own saving (the seed's arithmetic) predicts {_calls(added)} API calls "
            f"per interview; all together measure {_calls(measured)}: {how}."
        )
    lines.append(QUALITY_NOTE)
    return lines


def render_levers(result: LeverComparison, console: Console) -> None:
    """Print the lever table and its summary."""
    out = Table(
        title=f"Levers of {result.scenario} over {result.base}",
        title_justify="left",
    )
    for i, header in enumerate(_HEADERS):
        out.add_column(header, justify="left" if i == 0 else "right")
    for row in result.rows:
        out.add_row(*_cells(row, result))
    console.print(out)
    for line in summary_lines(result):
        console.print(line, highlight=False, markup=False)



def levers_markdown(result: LeverComparison, figures: Sequence[Path] = ()) -> str:
    """The Markdown page of a lever comparison (deterministic: no wall times)."""
    parts = [
        f"# Levers of {result.scenario} over {result.base}\n",
        "Each row runs the base scenario with the levers named switched on (settings from "
        f"`scenarios/{result.scenario}.yaml`), with one seed and horizon.\n",
        table(_HEADERS, (_cells(r, result) for r in result.rows), "lrrrr"),
        "\n\n".join(summary_lines(result)) + "\n",
    ]
    parts += [f"![{p.stem}]({p.name})\n" for p in figures]
    return tidy("\n".join(parts))


def write_levers_page(result: LeverComparison, out_dir: Path) -> list[Path]:
    """Write ``README.md`` and ``levers.png`` of ``result`` into ``out_dir``; returns the files."""
    from capacity.report.figures.levers import levers_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    figure = levers_figure(result, out_dir / "levers.png")
    page = out_dir / "README.md"
    page.write_text(levers_markdown(result, [figure]), encoding="utf-8")
    return [page, figure]
