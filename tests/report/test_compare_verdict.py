"""The comparison verdict: one figure per question, and a claims tally that names real verdicts."""

from __future__ import annotations

from capacity.plan.tco import TcoOption, break_even_month, payback_months, tco_series
from capacity.report.compare_page import comparison_markdown
from capacity.report.compare_verdict import comparison_verdict
from capacity.studies.claims import ClaimCheck
from capacity.studies.compare import BreakEven, ComparisonResult, GroupResult, StrategyRow


def _row(scenario: str, carried: float, usd_per_month: float) -> StrategyRow:
    return StrategyRow(
        scenario=scenario,
        description="",
        group="B",
        need_per_day=50_000.0,
        scenario_need_per_day=50_000.0,
        carried_per_day=carried,
        carried_share=carried / 50_000,
        failed_share=0.0,
        degraded_share=0.0,
        unfinished_share=0.0,
        p50_turn_latency_s=1.0,
        p95_turn_latency_s=2.0,
        p95_ttft_s=0.5,
        sla_p95_turn_latency_s=3.0,
        carries=False,
        binds="rpd",
        hardware="",
        upfront_usd=0.0,
        usd_per_month=usd_per_month,
        usd_per_interview=usd_per_month / (carried * 22),
        interviews_per_month=carried * 22,
        interviewing_days_per_month=22,
        days=1,
        seed=1,
        wall_time_s=1.0,
    )


def _result(claims: tuple[ClaimCheck, ...]) -> ComparisonResult:
    # 3 cards: $7,500 up front, $150/month; the API $400/month: 7,500 / 250 = 30.0 months; rent $330/month
    own = TcoOption("own 3× RTX 4090", "owned_gpu", 7_500.0, 150.0, 600_000.0)
    api = TcoOption("Groq (paid): llama-3.1-8b-instant", "paid_api", 0.0, 400.0, 600_000.0)
    rent = TcoOption("rent 3× RTX 4090", "rented_gpu", 0.0, 330.0, 600_000.0)
    evens = tuple(BreakEven(own.label, o.label, break_even_month(own, o), payback_months(own, o)) for o in (api, rent))
    rows = (_row("B", 330.0, 0.0), _row("B-gpu", 27_000.0, 354.0))
    group = GroupResult("B", rows, (own, api, rent), tco_series([own, api, rent]), evens)
    return ComparisonResult("free-vs-gpu", "t", 1, 5, (group,), claims, (), (), 1.0)


def _claim(verdict: str, payback: float | None = None) -> ClaimCheck:
    numbers = {} if payback is None else {"payback_months": payback}
    return ClaimCheck("Some claim: words", verdict, "evidence", numbers, "summary")  # type: ignore[arg-type]


def test_the_verdict_cites_one_payback_figure_and_says_what_the_break_even_answers() -> None:
    claims = (_claim("REFUTED", payback=36.3), _claim("REFUTED"), _claim("CONFIRMED ONLY UNDER 24/7"))
    text = comparison_verdict(_result(claims))
    # rent ($330/month × 36 = $11,880) is the cheapest over 36 months against own ($7,500 + 36 × $150 = $12,900)
    assert "cheapest alternative, rent 3× RTX 4090; owning never breaks even in 36 months" in text
    assert "owning never breaks even in 36 months. The break-even month answers from when owning" in text
    assert 'not the seed\'s "pays for itself in 3–4 months", whose one answer is the payback claim below' in text
    assert "the payback claim below (36.3 months)." in text
    assert text.count("The break-even month answers") == 1
    assert "Of the seed's 3 self-hosting and cost claims checked below: 2 refuted, 1 confirmed only under 24/7." in text
    assert "0 " not in text.split("checked below:")[1]  # no verdict counted as nothing
    assert "hold only in part" not in text


def test_the_page_says_what_the_break_even_months_answer() -> None:
    page = comparison_markdown(_result((_claim("REFUTED", payback=36.3),)), [])
    assert "answered once, by the payback claim above" in page
    # own $7,500 + $150/month against the API's $400/month: 30.0 months, the first whole month 30
    assert "own 3× RTX 4090 against Groq (paid): llama-3.1-8b-instant: breaks even in month 30 (30.0 months)" in page
    # against the rent, $180/month saved on $7,500: 41.7 months, past the 36-month horizon
    assert "own 3× RTX 4090 against rent 3× RTX 4090: does not break even in 36 months (41.7 months)" in page


def test_a_slice_of_a_monthly_demand_names_both_its_own_need_and_the_scenarios() -> None:
    """Tried as a new user would: the need read 2,273 in `plan`, 2,264 in `compare` and 2,260 on the
    curve, unexplained; a comparison's 5-day slice offers its own share, and now says so."""
    from dataclasses import replace

    result = _result(())
    (group,) = result.groups
    sliced = tuple(replace(r, need_per_day=2_264.0, scenario_need_per_day=50_000 / 22, days=5) for r in group.rows)
    text = comparison_verdict(replace(result, groups=(replace(group, rows=sliced),)))
    assert "(2,264 interviews per interviewing day in the 5 days simulated; 2,273 over the scenario's)" in text
    whole = comparison_verdict(result)  # a daily demand's one day is its whole horizon: one figure
    assert "(50,000 interviews per interviewing day)" in whole and "simulated" not in whole


def test_the_verdict_opens_with_a_one_sentence_answer() -> None:
    """Tried as a new user would: a 20-line paragraph with no one-line answer to "should we self-host?"."""
    from dataclasses import replace

    result = _result(())
    text = comparison_verdict(result)
    assert text.startswith(
        "In short: on B's demand, none carries it within the 3 s target; B-gpu carries the most (54%, p95 2.00 s)."
    )
    (group,) = result.groups
    rows = (group.rows[0], replace(group.rows[1], carries=True))
    carried = comparison_verdict(replace(result, groups=(replace(group, rows=rows),)))
    assert carried.startswith("In short: on B's demand, B-gpu carries it within the target for $354/month.")
