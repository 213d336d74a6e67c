"""Each page's figures and its text come from the same numbers.

The figures are drawn for real (matplotlib, Agg); ``save_png`` is wrapped to read back every
text a figure drew — titles, legends, labels on bars — and the test finds the same numbers,
written the same way, in the page's Markdown: the cost and the share of the demand it covers,
the hours the day figure shows, the capacity curve's demand line and knee, each strategy's
$/interview and each break-even month of a comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capacity.config import Configuration
from capacity.plan import plan as make_plan
from capacity.plan.tco import TcoOption, break_even_month, payback_months, tco_series
from capacity.report import pages
from capacity.report.compare_page import write_comparison_page
from capacity.report.figures import _style, compare, cost, curve, demand, latency, quota, requests
from capacity.report.figures._style import short_name
from capacity.report.figures.compare import cost_label
from capacity.report.markdown import money
from capacity.report.pages import costs_of, write_scenario_page
from capacity.sim.model import simulate
from capacity.studies.compare import BreakEven, ComparisonResult, GroupResult, StrategyRow
from capacity.studies.runs import ScenarioRun
from capacity.studies.sweep import capacity_curve

Drawn = dict[str, list[str]]
"""PNG file name → every non-empty text drawn on the figure."""


@pytest.fixture(scope="module")
def run_a(load_scenario: Callable[..., Configuration]) -> ScenarioRun:
    config = load_scenario("A", "demand.interviews=2000", "candidates.count=200")
    plan = make_plan(config)
    return ScenarioRun(config, plan, simulate(config, days=1), capacity_curve(config, plan, days=1, factors=[1.0, 2.0]))


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Drawn:
    """Record the texts of every figure as it is saved."""
    from matplotlib.text import Text

    texts: Drawn = {}
    real = _style.save_png

    def capture(fig: Any, path: Path) -> Path:
        out = real(fig, path)  # drawn: tick labels and legends are laid out
        texts[path.name] = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
        return out

    for module in (compare, cost, curve, demand, latency, quota, requests):
        monkeypatch.setattr(module, "save_png", capture)
    return texts


def _section(page: str, heading: str) -> str:
    return page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _one(texts: list[str], start: str) -> str:
    found = [t for t in texts if t.startswith(start)]
    assert len(found) == 1, (start, texts)
    return found[0]


def test_a_scenario_page_states_the_numbers_its_figures_draw(run_a: ScenarioRun, drawn: Drawn, tmp_path: Path) -> None:
    write_scenario_page(run_a, tmp_path)
    page = (tmp_path / "README.md").read_text(encoding="utf-8")

    # cost: the month's bill, billed and at list price, and the share of the demand it covers
    costs = costs_of(run_a)
    assert costs.list_month > 0  # free tiers with list prices: something to compare
    month_title = _one(drawn["cost.png"], "Per month")
    suptitle = _one(drawn["cost.png"], "Scenario A: cost by destination")
    cost_text = _section(page, "Cost")
    dollars = re.findall(r"\$[\d,.]*\d", month_title)
    assert dollars == [money(costs.billed_month), money(costs.list_month)]
    assert all(d in cost_text for d in dollars)
    covered = re.search(r"for the ([\d,]+) interviews carried \(([\d.]+%) of those requested\)", suptitle)
    assert covered is not None
    assert f"for the {covered[1]} interviews carried ({covered[2]} of those requested)" in cost_text
    assert int(covered[1].replace(",", "")) == run_a.result.interviews.carried
    each_title = _one(drawn["cost.png"], "Per carried interview")
    assert re.findall(r"\$[\d,.]*\d", each_title)[0] in _section(page, "Headline numbers")  # billed per interview
    rows = {short_name(d.name, 60) for d in run_a.result.destinations}
    assert len(rows) == len(run_a.result.destinations) and rows <= set(drawn["cost.png"])  # every destination

    # the day figure: its title names the hours on its axis, and the page the same hours
    span = _one(drawn["demand.png"], "Scenario A: demand and capacity over a day").split("\n")[1]
    assert re.search(r"\d\d:00 to \d\d:00 UTC", span)
    assert span in _section(page, "Demand and capacity over a day")

    # the capacity curve: the demand line's words and the knee, as the page says them
    curve_text = _section(page, "Capacity curve")
    need_line = next(t for t in drawn["capacity-curve.png"] if "need" in t).replace("\n", " ")
    assert need_line in curve_text
    assert re.search(rf"need: {run_a.result.need_interviews_per_day:,.0f}( interviews)?/day", need_line)
    knee = run_a.curve.knee if run_a.curve else None
    if knee is not None:
        legend = next(t for t in drawn["capacity-curve.png"] if t.startswith("knee"))
        assert legend.endswith(f": {knee.offered_per_day:,.0f}/day")
        assert f"**Knee: {knee.offered_per_day:,.0f} interviews/day**" in curve_text


def test_a_page_without_any_cost_says_so_and_draws_no_empty_figure(
    run_a: ScenarioRun, drawn: Drawn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cost.png").write_bytes(b"an earlier run's figure")
    monkeypatch.setattr(pages, "list_prices", lambda _config: {})  # free tiers and no list price anywhere
    files = write_scenario_page(run_a, tmp_path)
    page = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "cost.png" not in drawn
    assert not (tmp_path / "cost.png").exists()
    assert "cost.png" not in page and tmp_path / "cost.png" not in files
    assert "no cost, billed or at list price, to show" in _section(page, "Cost")
    with pytest.raises(ValueError, match="no cost"):
        cost.cost_figure(costs_of(run_a), tmp_path / "cost.png")


def _row(name: str, carried: float, usd_per_month: float, upfront: float = 0.0) -> StrategyRow:
    per_month = carried * 22
    return StrategyRow(
        scenario=name, description=name, group="D", need_per_day=2_000.0, scenario_need_per_day=2_000.0,
        carried_per_day=carried,
        carried_share=carried / 2_000.0, failed_share=1 - carried / 2_000.0, degraded_share=0.0,
        unfinished_share=0.0, p50_turn_latency_s=1.2, p95_turn_latency_s=2.5, p95_ttft_s=0.6,
        sla_p95_turn_latency_s=3.0, carries=carried >= 1_980, binds="nothing", hardware="–", upfront_usd=upfront,
        usd_per_month=usd_per_month, usd_per_interview=usd_per_month / per_month if per_month else float("inf"),
        interviews_per_month=per_month, interviewing_days_per_month=22, days=5, seed=1, wall_time_s=0.0,
    )  # fmt: skip


def test_a_comparison_page_states_the_numbers_its_figures_draw(drawn: Drawn, tmp_path: Path) -> None:
    rows = (_row("free", 700.0, 0.0), _row("gpu", 2_000.0, 118.0, upfront=2_500.0), _row("paid", 2_000.0, 950.0))
    volume = 44_000.0
    options = (
        TcoOption("own 1× card", "owned_gpu", 2_500.0, 60.0, volume),
        TcoOption("rent 1× card", "rented_gpu", 0.0, 170.0, volume),
        TcoOption("cheap API", "api", 0.0, 40.0, volume),
        TcoOption("dear API", "api", 0.0, 1_200.0, volume),
    )
    even = tuple(
        BreakEven(options[0].label, o.label, break_even_month(options[0], o), payback_months(options[0], o))
        for o in options[1:]
    )
    group = GroupResult("D", rows, options, tco_series(options, volume_basis="44,000 interviews/month"), even)
    result = ComparisonResult("test", "three strategies", 1, 5, (group,), (), (), (), 0.0)
    write_comparison_page(result, tmp_path)
    page = (tmp_path / "README.md").read_text(encoding="utf-8")

    cells = {
        line.split(" | ")[0].lstrip("| "): [c.strip() for c in line.strip("| ").split(" | ")]
        for line in page.splitlines()
        if line.startswith("| ")
    }
    column = next(header for header in cells.values() if "$/interview" in header).index("$/interview")
    for row in rows:  # the bar's label is the table's $/interview, on the same 22-day month
        label = cost_label(row)
        assert label in drawn["compare.png"]
        assert cells[row.scenario][column] == label
    assert "(22-day month, as the table)" in _one(drawn["compare.png"], "Cost per carried interview")

    assert {b.month for b in even} == {None, 23, 3}  # never, late and early: each said the same way
    legend = drawn["tco.png"]
    for b in even:
        if b.month is None:
            assert f"{b.other}: owning never breaks even" in legend
            assert f"{b.owned} against {b.other}: does not break even in 36 months" in page
        else:
            assert f"{b.other}: owning breaks even in month {b.month}" in legend
            assert f"{b.owned} against {b.other}: breaks even in month {b.month}" in page
