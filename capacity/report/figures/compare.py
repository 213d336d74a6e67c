"""Comparison figures (``capacity compare``): EXTENSION POINT, to be drawn with that command.

The comparison of several plans — side-by-side bars of their headline numbers, and total cost
of ownership with break-even lines over 36 months (paid APIs against self-hosted GPUs) — takes
the runs to compare, each with its label, and the TCO series of their group
(:class:`capacity.plan.tco.TcoSeries`: cumulative US dollars per option, month by month). The
signature is fixed here so that ``capacity compare`` and the report pages can be written
against it. Use the helpers of :mod:`capacity.report.figures._style` (``style``,
``new_figure``, ``save_png``, ``palette``, ``short_name``) so that the figures look like the
others and are reproducible bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from capacity.plan.tco import TcoSeries
from capacity.result import RunResult


def comparison_figures(
    runs: Sequence[tuple[str, RunResult]], tco: Sequence[TcoSeries], out_dir: Path
) -> list[Path]:
    """Draw the comparison figures of ``runs`` (label, result) and their TCO series into ``out_dir``.

    To write: ``compare.png`` (side-by-side bars: carried interviews/day, p95 turn latency
    against the SLA, cost per interview) and ``tco.png`` (cumulative cost over 36 months,
    break-even months marked). Returns the files written.
    """
    raise NotImplementedError("comparison figures come with `capacity compare`")
