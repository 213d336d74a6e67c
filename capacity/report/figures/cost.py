"""Cost per month and per interview, by destination.

Billed cost is what the run spent: paid destinations at their list price, free tiers at $0
while their quota lasts, GPU pools at their hourly price. A month is the run's cost scaled by
``runs_per_month`` (interviewing days in a month ÷ interviewing days in the run). Hatched
bars show what the same tokens would cost at each provider's paid list price — the bill if
its free tier ended. Per interview is each destination's cost ÷ all interviews carried, so the
bars of one figure add up to the run's cost per carried interview.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capacity.report.figures._style import new_figure, palette, save_png, short_name, style
from capacity.result import RunResult
from capacity.units import MTOK


@dataclass(frozen=True)
class CostRow:
    """One destination's cost over the run, billed and at list price, US dollars."""

    destination: str
    billed_usd: float
    list_usd: float | None
    """The same tokens at the paid list price (None: no price known)."""


def cost_rows(result: RunResult, prices: Mapping[str, tuple[float, float]]) -> list[CostRow]:
    """Each destination's billed and list-price cost; ``prices`` maps destination → ($/1M in, $/1M out)."""
    rows = []
    for d in result.destinations:
        price = prices.get(d.name)
        at_list = None if price is None else (d.tokens_in * price[0] + d.tokens_out * price[1]) / MTOK
        rows.append(CostRow(d.name, d.cost_usd, at_list))
    return rows


def cost_figure(
    result: RunResult, path: Path, prices: Mapping[str, tuple[float, float]], runs_per_month: float
) -> Path:
    """Write the cost figure of ``result`` to ``path`` (PNG)."""
    rows = [r for r in cost_rows(result, prices) if r.billed_usd > 0 or (r.list_usd or 0) > 0]
    carried = result.interviews.completed + result.interviews.degraded
    with style():
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        if not rows:
            fig = new_figure(11.0, 2.0)
            ax = fig.subplots()
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                "Every destination is free and has no paid list price in providers.yaml:\n"
                "no cost, billed or at list price, to show.",
                ha="center",
                va="center",
                fontsize=11,
            )
            fig.suptitle(f"Scenario {result.scenario}: cost by destination")
            return save_png(fig, path)
        fig = new_figure(11.0, 2.2 + 0.32 * max(len(rows), 2))
        month_ax, each_ax = fig.subplots(1, 2, sharey=True)
        if rows:
            y = np.arange(len(rows))
            colors = palette(len(result.destinations))
            color_of = {d.name: c for d, c in zip(result.destinations, colors, strict=True)}
            for ax, scale, unit in (
                (month_ax, runs_per_month, "US$ per month"),
                (each_ax, 1.0 / carried if carried else 0.0, "US$ per carried interview"),
            ):
                billed = [r.billed_usd * scale for r in rows]
                listed = [(r.list_usd or 0.0) * scale for r in rows]
                ax.barh(
                    y - 0.2,
                    billed,
                    height=0.38,
                    color=[color_of[r.destination] for r in rows],
                    label="billed in this run",
                )
                ax.barh(
                    y + 0.2,
                    listed,
                    height=0.38,
                    color="white",
                    edgecolor=[color_of[r.destination] for r in rows],
                    hatch="///",
                    label="same tokens at paid list price",
                )
                top = max([*billed, *listed, 1e-9])
                for yi, b, lp in zip(y, billed, listed, strict=True):
                    ax.text(b + top * 0.01, yi - 0.2, _money(b), va="center", fontsize=7.5)
                    ax.text(lp + top * 0.01, yi + 0.2, _money(lp), va="center", fontsize=7.5, color="#555555")
                ax.set_xlim(0, top * 1.25)
                ax.set_xlabel(unit)
                ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick(v)))
            month_ax.set_yticks(y, [short_name(r.destination) for r in rows])
            month_ax.invert_yaxis()
            month_total = sum(r.billed_usd for r in rows) * runs_per_month
            list_total = sum(r.list_usd or 0.0 for r in rows) * runs_per_month
            month_ax.set_title(
                f"Per month\nbilled {_money(month_total)} · at list price {_money(list_total)}"
            )
            list_each = sum(r.list_usd or 0.0 for r in rows) / carried if carried else 0.0
            each_ax.set_title(
                f"Per carried interview\nbilled {_money(result.cost_per_interview_usd)} · at list price "
                f"{_money(list_each)}"
            )
            month_ax.legend(loc="lower right", fontsize=8)
        fig.suptitle(f"Scenario {result.scenario}: cost by destination")
        return save_png(fig, path)


def _money(x: float) -> str:
    """A bar's value in dollars: whole dollars from $100, cents from $1, else three significant digits."""
    if x == 0:
        return "$0"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:.3g}"


def _tick(x: float) -> str:
    """An axis tick in dollars: whole dollars from $10, else three significant digits."""
    if x == 0:
        return "$0"
    return f"${x:,.0f}" if abs(x) >= 10 else f"${x:.3g}"
