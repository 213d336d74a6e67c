"""Cost per month and per interview, by destination.

Billed cost is what the run spent: paid destinations at their list price, free tiers at $0
while their quota lasts, GPU pools at their hourly price. A month is the run's cost scaled by
``runs_per_month`` (interviewing days in a month ÷ interviewing days in the run). Hatched
bars show what the same tokens would cost at each provider's paid list price — the bill if
its free tier ended, for the interviews the run carried. Per interview is each destination's
cost ÷ all interviews carried, so the bars of one figure add up to the run's cost per carried
interview. Every destination of the run has a row, the free ones without a list price too.

The page's cost paragraph and the figure are written from the same :class:`CostSummary`, so
the page and the picture show the same dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capacity.report.figures._style import new_figure, palette, save_png, short_name, style, usd_tick
from capacity.report.markdown import money, pct
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


@dataclass(frozen=True)
class CostSummary:
    """The dollars the cost figure draws and the page's cost paragraph states, USD.

    ``rows`` holds every destination of the run, in routing order; ``runs_per_month`` scales
    the run to a month (interviewing days a month ÷ those of the run).
    """

    scenario: str
    rows: tuple[CostRow, ...]
    runs_per_month: float
    carried: int
    """Interviews the run carried (completed or degraded)."""
    requested: int
    """Interviews the run was asked for."""

    @property
    def has_cost(self) -> bool:
        """Whether any destination cost something, billed or at a list price (else nothing to draw)."""
        return any(r.billed_usd > 0 or (r.list_usd or 0.0) > 0 for r in self.rows)

    @property
    def carried_share(self) -> float:
        """Carried ÷ requested, 0–1 (1 for an empty run)."""
        return self.carried / self.requested if self.requested else 1.0

    @property
    def billed_month(self) -> float:
        """The run's bill scaled to a month, USD/month."""
        return sum(r.billed_usd for r in self.rows) * self.runs_per_month

    @property
    def list_month(self) -> float:
        """The run's tokens at the paid list prices, scaled to a month: the bill if the free tiers
        ended, for the interviews carried, USD/month."""
        return sum(r.list_usd or 0.0 for r in self.rows) * self.runs_per_month

    @property
    def billed_each(self) -> float:
        """Billed USD per carried interview (0 when none was carried)."""
        return sum(r.billed_usd for r in self.rows) / self.carried if self.carried else 0.0

    @property
    def list_each(self) -> float:
        """List-price USD per carried interview (0 when none was carried)."""
        return sum(r.list_usd or 0.0 for r in self.rows) / self.carried if self.carried else 0.0

    @property
    def list_month_all(self) -> float:
        """The bill if the free tiers ended and every requested interview were carried, USD/month:
        the list price per carried interview × the interviews requested in a month."""
        return self.list_each * self.requested * self.runs_per_month

    @property
    def unpriced(self) -> tuple[str, ...]:
        """Destinations that carried tokens but have no paid list price in providers.yaml."""
        return tuple(r.destination for r in self.rows if r.list_usd is None)


def cost_summary(
    result: RunResult, prices: Mapping[str, tuple[float, float]], runs_per_month: float
) -> CostSummary:
    """The cost figure's and page's dollars for ``result`` (see :class:`CostSummary`)."""
    iv = result.interviews
    return CostSummary(result.scenario, tuple(cost_rows(result, prices)), runs_per_month, iv.carried, iv.requested)


def cost_figure(summary: CostSummary, path: Path) -> Path:
    """Write the cost figure of ``summary`` to ``path`` (PNG): every destination, per month and per
    carried interview, billed (solid) and at the paid list price (hatched).

    Raises ValueError when nothing has a cost (:attr:`CostSummary.has_cost` is false): a page
    says so in words instead of drawing an empty figure.
    """
    if not summary.has_cost:
        raise ValueError(f"scenario {summary.scenario}: no cost, billed or at list price, to draw")
    rows = summary.rows
    carried = summary.carried
    with style():
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        fig = new_figure(11.0, 2.4 + 0.34 * max(len(rows), 2))
        month_ax, each_ax = fig.subplots(1, 2, sharey=True)
        y = np.arange(len(rows))
        color_of = dict(zip((r.destination for r in rows), palette(len(rows)), strict=True))
        for ax, scale, unit in (
            (month_ax, summary.runs_per_month, "US$ per month"),
            (each_ax, 1.0 / carried if carried else 0.0, "US$ per carried interview"),
        ):
            billed = [r.billed_usd * scale for r in rows]
            listed = [(r.list_usd or 0.0) * scale for r in rows]
            ax.barh(
                y - 0.2, billed, height=0.38, color=[color_of[r.destination] for r in rows], label="billed in this run"
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
            for yi, b, lp, row in zip(y, billed, listed, rows, strict=True):
                ax.text(b + top * 0.01, yi - 0.2, money(b), va="center", fontsize=7.5)
                at_list = "no paid list price" if row.list_usd is None else money(lp)
                ax.text(lp + top * 0.01, yi + 0.2, at_list, va="center", fontsize=7.5, color="#555555")
            ax.set_xlim(0, top * 1.3)
            ax.set_xlabel(unit)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_tick(v)))
        month_ax.set_yticks(y, [short_name(r.destination, 60) for r in rows])
        month_ax.invert_yaxis()
        every = (
            f"\nat list price, every requested interview carried: {money(summary.list_month_all)}"
            if 0 < carried < summary.requested
            else ""
        )
        month_ax.set_title(
            f"Per month\nbilled {money(summary.billed_month)} · at list price {money(summary.list_month)}{every}"
        )
        each_ax.set_title(
            f"Per carried interview\nbilled {money(summary.billed_each)} · at list price {money(summary.list_each)}"
        )
        month_ax.legend(loc="lower right", fontsize=8)
        fig.suptitle(
            f"Scenario {summary.scenario}: cost by destination, for the {carried:,} interviews carried "
            f"({pct(summary.carried_share)} of those requested)"
        )
        return save_png(fig, path)

