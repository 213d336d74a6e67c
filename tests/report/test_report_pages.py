"""Report pages: a scenario page and the seed audit, built from small runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from capacity.config import Configuration
from capacity.plan import plan as make_plan
from capacity.report.audit import audit_lines, monthly_bars, write_seed_audit
from capacity.report.markdown import esc, floor_count, money, table, tidy
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
    # the run simulated 1 of A's 30 days: the command that rebuilds this page says so
    assert "Regenerate with `capacity report --scenario A --days 1` (this page)" in page
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
    seed, real, per_day, levers = run_scenarios(
        [
            RunRequest(load_scenario("seed-claims", *SMALL), days=2, curve=False),
            RunRequest(load_scenario("A", *SMALL), days=2, curve=False),
            RunRequest(load_scenario("B", *SMALL_B), curve=False),
            RunRequest(load_scenario("A-levers", *SMALL), days=2, curve=False),
        ]
    )
    listed = audit_lines(seed, real, per_day)
    lines = {line.claim: line for line in listed}
    assert lines["Cache hit rate"].holds == "does not hold"  # 30 % claimed; the resume cache never hits
    assert lines["Template savings"].holds == "does not hold"
    option1 = lines["Paid top-up: OpenAI GPT-3.5 Turbo for 48,000 interviews/day"]
    # priced on the one basis `capacity compare` uses: B's interview over B's 22 interviewing days
    month = monthly_usd(per_day.config, "openai", "gpt-3.5-turbo-0125", 48_000)
    assert month is not None
    assert option1.corrected.startswith(f"{money(month)}/month: 48,000 × 22 interviewing days × ")
    assert option1.verdict == f"does not hold ({month / 2_400:,.0f}× the claim)"
    # 50,000 ÷ 30 is right per calendar day: the one rule says it holds
    assert lines["Daily need for 50,000 interviews in a month"].holds == "holds"
    # the script takes the seed's 26 requests as its assumption: not audited, not counted
    assert lines["Requests per interview"].holds == "not audited"
    # 'Optimize & Cache': 1,560 + ~500 = 2,060/day; what the tool models of it (cache 0 %, templates 1 of 26)
    optimize = lines["'Optimize & Cache': effective capacity, and 'EXCEEDS the 50,000 target'"]
    assert optimize.seed_says == "~2,060/day = 1,560 + ~500; 61,800/month (× 30)"
    assert "1,560 × 1.040 = 1,622/day, × 30 = 48,672/month" in optimize.corrected  # 1,560 ÷ (1 − 1/26)
    assert optimize.verdict == "does not hold (79% of the claim on its own base)"  # no levers run: arithmetic
    # with the levers pulled (A-levers) the claim is judged on the simulation
    pulled = {line.claim: line for line in audit_lines(seed, real, per_day, levers)}[optimize.claim]
    day = levers.result.interviews.carried / 2  # two interviewing days
    assert pulled.simulated.startswith(f"{day:,.0f} carried per interviewing day with the levers pulled (A-levers")
    assert pulled.holds == ("holds" if day >= 0.9 * 2_060 else "does not hold")
    assert pulled.why == f"{day / 2_060:.0%} of the claim, simulated"
    assert "Savings do not add" in pulled.corrected
    # Strategy 2 on its own terms: Gemini × 3 and Hugging Face × 2, what the extra accounts carry
    strategy = lines["Free capacity with multiple accounts (Strategy 2: Gemini × 3, Hugging Face × 2)"]
    assert "Limits are per Google Cloud project, not per key" in strategy.sources
    assert "each account allows 20 requests/day (gemini-2.5-flash, rpd binds)" in strategy.sources
    assert "the 2 extra accounts carry 1.6 interviews/day, not 114" in strategy.sources  # 2 × 20 ÷ 25 requests
    assert "Hugging Face (2 accounts): terms — providers.yaml states none" in strategy.sources
    assert "GitHub" not in strategy.sources and "OpenRouter" not in strategy.sources
    tokens = lines["Tokens per interview (Cerebras: 1M tokens ≈ 25 interviews)"]
    assert "Its own rows imply 25,000 and 40,000 tokens per interview" in tokens.corrected
    assert "each resending the 250-token system prompt and the conversation so far" in tokens.corrected
    assert tokens.holds == "does not hold"
    files = write_seed_audit(seed, real, per_day, tmp_path)
    page = files[0].read_text(encoding="utf-8")
    assert page.index("## The answer") < page.index("## Provider by provider") < page.index("## Sources")
    # "N of M hold" counts only audited claims
    holding = sum(1 for line in listed if line.holds == "holds")
    audited = sum(1 for line in listed if line.holds != "not audited")
    assert audited == len(listed) - 2
    assert f"**{holding} of {audited} audited headline claims hold**" in page
    # Groq: 1,000/day is a documented limit, but another binds first
    assert "the 2025 sources contradict 8 of the 10 audited; 1 holds; 1 holds, but another limit" in page
    # the monthly figure's numbers are the page's, rounded down alike
    for bar in monthly_bars(seed, real):
        assert f"| {esc(bar.label)} | {floor_count(bar.value)} |" in page
    assert "partly" not in page
    assert all(p.is_file() for p in files)


def test_markdown_tables_escape_pipes_and_tidy_blank_lines() -> None:
    text = table(["a", "b"], [("x|y", "line\nbreak")], "lr")
    assert "x\\|y" in text
    assert "| :--- | ---: |" in text
    assert esc(" a\nb ") == "a b"
    assert tidy("a\n\n\n\nb\n\n") == "a\n\nb\n"
