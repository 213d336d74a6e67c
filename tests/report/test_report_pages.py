"""Report pages: a scenario page and the seed audit, built from small runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from capacity.config import Configuration
from capacity.plan import plan as make_plan
from capacity.report.audit import audit_lines, write_seed_audit
from capacity.report.markdown import esc, money, table, tidy
from capacity.report.pages import write_scenario_page
from capacity.sim.model import simulate
from capacity.studies.costs import monthly_usd
from capacity.studies.runs import RunRequest, ScenarioRun, run_scenarios
from capacity.studies.sweep import capacity_curve

SMALL = ("demand.interviews=2000", "candidates.count=200")
SMALL_B = ("demand.interviews=300", "candidates.count=30")


@pytest.fixture(scope="module")
def run_a(load_scenario: Callable[..., Configuration]) -> ScenarioRun:
    config = load_scenario("A", *SMALL)
    plan = make_plan(config)
    curve = capacity_curve(config, plan, days=1, factors=[1.0, 2.0])
    return ScenarioRun(config, plan, simulate(config, days=1), curve)


def test_a_scenario_page_puts_the_verdict_first_and_the_assumptions_last(
    run_a: ScenarioRun, tmp_path: Path
) -> None:
    files = write_scenario_page(run_a, tmp_path)
    page = (tmp_path / "README.md").read_text(encoding="utf-8")
    order = [
        page.index(h)
        for h in (
            "## Verdict",
            "## Headline numbers",
            "## Demand and capacity over a day",
            "## Capacity curve",
            "## Assumptions",
        )
    ]
    assert order == sorted(order)
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page):
        assert (tmp_path / link).is_file(), link  # every image the page shows is written beside it
    assert {p.name for p in files} >= {
        "README.md",
        "demand.png",
        "quota.png",
        "latency.png",
        "requests.png",
        "cost.png",
        "capacity-curve.png",
    }
    assert "2025-09-28" in page  # sources with their as_of dates
    assert "help.mistral.ai" in page
    assert "wall" not in page.lower()  # wall time varies: never in a report
    assert "\n\n\n" not in page


def test_the_same_run_writes_the_same_page(run_a: ScenarioRun, tmp_path: Path) -> None:
    write_scenario_page(run_a, tmp_path / "one")
    write_scenario_page(run_a, tmp_path / "two")
    for name in ("README.md", "quota.png", "capacity-curve.png"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_the_seed_audit_sets_each_claim_against_reality(
    load_scenario: Callable[..., Configuration], tmp_path: Path
) -> None:
    seed, real, per_day = run_scenarios(
        [
            RunRequest(load_scenario("seed-claims", *SMALL), days=2, curve=False),
            RunRequest(load_scenario("A", *SMALL), days=2, curve=False),
            RunRequest(load_scenario("B", *SMALL_B), curve=False),
        ]
    )
    lines = {line.claim: line for line in audit_lines(seed, real, per_day)}
    assert lines["Cache hit rate"].holds == "does not hold"  # 30 % claimed; the resume cache never hits
    assert lines["Template savings"].holds == "does not hold"
    option1 = lines["Paid top-up: OpenAI GPT-3.5 Turbo for 48,000 interviews/day"]
    assert option1.holds.startswith("does not hold")
    # priced on the one basis `capacity compare` uses: B's interview over B's 22 interviewing days
    month = monthly_usd(per_day.config, "openai", "gpt-3.5-turbo-0125", 48_000)
    assert month is not None
    assert option1.corrected.startswith(f"{money(month)}/month: 48,000 × 22 interviewing days × ")
    assert f"({month / 2_400:,.0f}× the claim)" in option1.holds
    files = write_seed_audit(seed, real, per_day, tmp_path)
    page = files[0].read_text(encoding="utf-8")
    assert page.index("## The answer") < page.index("## Provider by provider") < page.index("## Sources")
    assert "contradicted" in page
    assert "Cloudflare Workers AI" in page
    assert all(p.is_file() for p in files)


def test_markdown_tables_escape_pipes_and_tidy_blank_lines() -> None:
    text = table(["a", "b"], [("x|y", "line\nbreak")], "lr")
    assert "x\\|y" in text
    assert "| :--- | ---: |" in text
    assert esc(" a\nb ") == "a b"
    assert tidy("a\n\n\n\nb\n\n") == "a\n\nb\n"
