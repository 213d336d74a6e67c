"""The Markdown page of a comparison (``capacity compare NAME --out DIR``).

The verdict paragraph first, then the seed's GPU claims with CONFIRMED / REFUTED and their
numbers, then, per demand, the strategies side by side and the break-even months, then the
figures (:mod:`capacity.report.figures.compare`). Everything on the page comes from the
:class:`~capacity.studies.compare.ComparisonResult`; nothing on it varies between two runs of
the same inputs (no dates, no wall times).
"""

from __future__ import annotations

import math
from pathlib import Path

from capacity.report.compare_tables import SHORT_MONTH, prompt_cache_cell
from capacity.report.compare_verdict import comparison_verdict
from capacity.report.figures.compare import comparison_figures
from capacity.report.markdown import bullets, count, heading, image, money, pct, table, tidy
from capacity.studies.compare import ComparisonResult
from capacity.units import duration_text


def comparison_markdown(result: ComparisonResult, figures: list[Path]) -> str:
    """The page's Markdown, with the figures (already written beside it) linked."""
    parts = [
        heading(1, f"Comparison {result.name}: {result.title}"),
        f"Regenerate with `capacity compare {result.name} --out DIR`. "
        f"Scenario A strategies simulate {result.days} days of the month's demand; B strategies one day. "
        f"{SHORT_MONTH}\n",
        heading(2, "Verdict"),
        comparison_verdict(result) + "\n",
    ]
    if result.claims:
        parts.append(heading(2, "The seed's GPU claims"))
        parts.append(
            table(
                ["claim", "verdict", "evidence"],
                [(c.claim, c.verdict, c.evidence) for c in result.claims],
            )
        )
    for group in result.groups:
        parts.append(heading(2, f"Demand {group.label}"))
        parts.append(
            table(
                [
                    "strategy",
                    "carried/day",
                    "need/day",
                    "failed",
                    "p50 / p95 turn",
                    "carries",
                    "binds",
                    "hardware / accounts",
                    "$/month",
                    "$/interview",
                    "prompt cache",
                ],
                [
                    (
                        r.scenario,
                        count(r.carried_per_day),
                        count(r.need_per_day),
                        pct(r.failed_share),
                        f"{duration_text(r.p50_turn_latency_s)} / {duration_text(r.p95_turn_latency_s)}",
                        "yes" if r.carries else "no",
                        r.binds,
                        r.hardware,
                        money(r.usd_per_month),
                        money(r.usd_per_interview) if math.isfinite(r.usd_per_interview) else "–",
                        prompt_cache_cell(r),
                    )
                    for r in group.rows
                ],
                "lrrrrllllrr",
            )
        )
        if group.break_even:
            parts.append(
                "When owning has cost less in all than each alternative, at this demand's volume (the break-even "
                "month"
                + (
                    '; the seed\'s "pays for itself in 3–4 months" is answered once, by the payback claim above'
                    if result.claims
                    else ""
                )
                + "):\n"
            )
            parts.append(
                bullets(
                    f"{b.owned} against {b.other}: "
                    + (f"breaks even in month {b.month}" if b.month is not None else "does not break even in 36 months")
                    + (f" ({b.payback_months:.1f} months)" if b.payback_months is not None else "")
                    for b in group.break_even
                )
            )
    if figures:
        parts.append(heading(2, "Figures"))
        for path in figures:
            parts.append(image(path.stem, path.name))
    return tidy("\n".join(parts))


def write_comparison_page(result: ComparisonResult, out_dir: Path) -> list[Path]:
    """Write ``README.md`` and the figures of ``result`` into ``out_dir``; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = comparison_figures(result.groups, out_dir)
    page = out_dir / "README.md"
    page.write_text(comparison_markdown(result, figures), encoding="utf-8")
    return [page, *figures]
