"""Figures of the seed audit: a month of interviews, claimed and real; the seed's providers.

``monthly``: interviews in a month by each reading — the seed's figures, its arithmetic
corrected on the same claimed quotas, the static plan on the 2025 sources, and the
simulations (the seed's claimed quotas and the 2025 free tiers on a realistic calendar) —
against the 50,000 needed. ``providers``: per provider of the seed's table, interviews a day
as the seed says, corrected, and simulated. Every label is a whole number of interviews,
rounded down as the page prints it (a part of an interview is not carried).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capacity.report.figures._style import COLORS, new_figure, save_png, style

READING_COLORS = {
    "seed": "#9E9E9E",
    "corrected": "#4C72B0",
    "sources": "#DD8452",
    "simulated": "#55A868",
    "simulated_claimed": "#A6D096",
}
"""One colour per kind of reading."""


def _whole(v: float) -> str:
    """A count of interviews as the page prints it: rounded down, with thousands separators."""
    return f"{math.floor(v + 1e-9):,}"


@dataclass(frozen=True)
class Bar:
    """One reading of a figure: a label, a value, and its kind (a key of READING_COLORS)."""

    label: str
    value: float
    kind: str


def monthly_figure(bars: Sequence[Bar], need: float, path: Path, title: str) -> Path:
    """Horizontal bars of interviews a month against the need (PNG)."""
    with style():
        fig = new_figure(10.5, 1.6 + 0.55 * len(bars))
        ax = fig.subplots()
        y = np.arange(len(bars))
        values = [b.value for b in bars]
        ax.barh(y, values, color=[READING_COLORS[b.kind] for b in bars], height=0.62)
        top = max([*values, need])
        for yi, v in zip(y, values, strict=True):
            ax.text(
                v + top * 0.01,
                float(yi),
                _whole(v),
                va="center",
                fontsize=9,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
            )
        ax.axvline(need, color=COLORS["capacity"], linestyle="--", linewidth=2, zorder=0.5)
        ax.text(
            need,
            -0.55,
            f" need: {need:,.0f}",
            color=COLORS["capacity"],
            va="top",
            fontsize=9,
            fontweight="bold",
        )
        ax.set_yticks(y, [b.label for b in bars])
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.18)
        ax.set_ylim(len(bars) - 0.1, -0.6)
        from matplotlib.patches import Patch
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_xlabel("interviews in a month")
        kinds = {
            "seed": "the document's figures",
            "corrected": "its claims, arithmetic corrected",
            "sources": "2025 sources, static plan",
            "simulated": "simulated, realistic calendar",
        }
        used = [k for k in kinds if any(b.kind == k for b in bars)]
        ax.legend(
            [Patch(color=READING_COLORS[k]) for k in used],
            [kinds[k] for k in used],
            loc="lower right",
            fontsize=8,
        )
        fig.suptitle(title)
        return save_png(fig, path)


@dataclass(frozen=True)
class ProviderBars:
    """One provider row of the seed's table: interviews a day by reading (None: no figure)."""

    label: str
    seed: float
    corrected: float | None
    simulated_claimed: float | None
    simulated_2025: float | None


def providers_figure(rows: Sequence[ProviderBars], path: Path, title: str) -> Path:
    """Grouped horizontal bars per seed provider (PNG)."""
    series: tuple[tuple[str, str, Callable[[ProviderBars], float | None]], ...] = (
        ("the document says", "seed", lambda r: r.seed),
        ("the same claim, arithmetic corrected", "corrected", lambda r: r.corrected),
        (
            "simulated: the claimed quota on a real calendar",
            "simulated_claimed",
            lambda r: r.simulated_claimed,
        ),
        ("simulated: the 2025 free tier", "simulated", lambda r: r.simulated_2025),
    )
    with style():
        fig = new_figure(10.5, 1.8 + 0.62 * len(rows))
        ax = fig.subplots()
        y = np.arange(len(rows))
        height = 0.2
        top = max([v for r in rows for _, _, get in series if (v := get(r)) is not None] + [1.0])
        for k, (name, kind, get) in enumerate(series):
            values = [get(r) for r in rows]
            ys = y - 1.5 * height + k * height
            ax.barh(
                ys, [v or 0.0 for v in values], height=height * 0.95, color=READING_COLORS[kind], label=name
            )
            for yi, v in zip(ys, values, strict=True):
                ax.text(
                    (v or 0.0) + top * 0.01, yi, "–" if v is None else _whole(v), va="center", fontsize=7
                )
        ax.set_yticks(y, [r.label for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.15)
        ax.set_xlabel("interviews per interviewing day (the document's figures: per day)")
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.legend(loc="lower right", fontsize=8)
        fig.suptitle(title)
        return save_png(fig, path)
