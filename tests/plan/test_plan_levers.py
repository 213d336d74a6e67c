"""The plan's arithmetic for deferred stages and question banks, worked by hand on a one-turn script.

100 one-turn interviews a day, 09:00–10:00 UTC every day (30 interviewing days a month); the turn
sends a 100-token prompt and gets 10 tokens back; the provider charges $1 in / $2 out per 1M tokens.
One request costs (100 × 1 + 10 × 2) / 1M = $0.00012.
"""

from __future__ import annotations

from typing import Any

import pytest
from simkit import build, const, provider

from capacity.plan.planner import plan

PER_REQUEST_USD = (100 * 1.0 + 10 * 2.0) / 1e6


def paid(**batch: Any) -> dict[str, Any]:
    spec = provider("p0", billing="paid", prices=(1.0, 2.0))
    spec["batch"] = {"source": "test", "as_of": "2026-11-01", "draws_on_quotas": False, **batch}
    return spec


def ahead(lever: str, **fields: Any) -> dict[str, Any]:
    stage = {"input": {"history": False}, "output_tokens": const(10.0), "max_output_tokens": 20, lever: fields}
    return {"script": {"stages": {"ask": stage}}}


def test_a_batch_deferral_leaves_the_quotas_and_costs_the_batch_price() -> None:
    config = build(
        [paid(price_factor=0.5, completion_window_s=3600, max_enqueued_tokens=5000)],
        ahead("deferral", lead_time_s=7200, via="batch"),
    )
    result = plan(config)
    assert result.workload.api_requests_per_interview == 0.0  # nothing left on the normal quotas
    assert result.levers is not None
    (d,) = result.levers.deferrals
    assert d.target == "p0/m" and d.ready_in_time  # 2 h lead ≥ 1 h window
    # the queue holds 5,000 ÷ 100 = 50 requests for an hour each: 50 × 24 = 1,200 a day
    assert d.batch_requests_per_day_max == pytest.approx(1200.0)
    assert d.requests_per_day == pytest.approx(100.0)
    # 100 a day × 30 days × $0.00012 × 0.5, and in the plan's monthly total
    assert d.monthly_cost_usd == pytest.approx(100 * 30 * PER_REQUEST_USD * 0.5)
    assert result.totals.monthly_cost_usd == pytest.approx(d.monthly_cost_usd)  # nothing else is sent
    assert d.peak_requests_per_minute_freed == pytest.approx(100 / 60)  # all 100 start in the one hour


def test_a_short_lead_time_is_flagged_not_ready() -> None:
    config = build([paid(completion_window_s=86400)], ahead("deferral", lead_time_s=3600, via="batch"))
    result = plan(config)
    assert result.levers is not None and not result.levers.deferrals[0].ready_in_time
    # the new-user trial: nothing is ready, so every request stays live, and the batch is paid too
    assert result.levers.deferrals[0].ready_share == 0.0
    assert result.workload.api_requests_per_interview == 1.0
    assert result.totals.monthly_cost_usd == pytest.approx(100 * 30 * PER_REQUEST_USD * 2)  # batch factor 1


def test_a_queue_that_finishes_half_leaves_half_on_the_quotas_and_bills_both() -> None:
    """The queue holds 100 ÷ 100 = 1 request for a 1,728 s window: 86,400 ÷ 1,728 = 50 a day, half
    of the 100 needed."""
    config = build(
        [paid(price_factor=0.5, completion_window_s=1728, max_enqueued_tokens=100)],
        ahead("deferral", lead_time_s=7200, via="batch"),
    )
    result = plan(config)
    assert result.levers is not None
    (d,) = result.levers.deferrals
    assert d.batch_requests_per_day_max == pytest.approx(50.0)
    assert d.ready_share == pytest.approx(0.5)
    assert result.workload.api_requests_per_interview == pytest.approx(0.5)  # the late half, live
    batch = 100 * 30 * PER_REQUEST_USD * 0.5  # every request goes through the batch API
    live = 50 * 30 * PER_REQUEST_USD  # the half not ready in time is sent again, live
    assert result.totals.monthly_cost_usd == pytest.approx(batch + live)


def test_an_off_peak_deferral_stays_on_the_daily_quotas_but_frees_the_peak_hour() -> None:
    plain = plan(build([paid()]))
    config = build([paid()], ahead("deferral", lead_time_s=7200, via="off_peak"))
    result = plan(config)
    assert result.workload.api_requests_per_interview == plain.workload.api_requests_per_interview == 1.0
    assert result.levers is not None
    (d,) = result.levers.deferrals
    assert d.target == "routing" and d.monthly_cost_usd == 0.0 and d.batch_requests_per_day_max is None
    assert d.peak_requests_per_minute_freed == pytest.approx(100 / 60)


def test_a_bank_costs_variants_times_roles_requests_once_and_saves_its_stage() -> None:
    config = build(
        [paid(price_factor=0.5)],
        {"candidates": {"roles": 5}},
        ahead("bank", variants=4, via="batch"),
    )
    result = plan(config)
    assert result.workload.api_requests_per_interview == 0.0
    assert result.levers is not None
    (b,) = result.levers.banks
    assert b.one_off_requests == 20  # 4 variants × 5 roles
    assert b.one_off_cost_usd == pytest.approx(20 * PER_REQUEST_USD * 0.5)
    assert b.interviews_per_variant == pytest.approx(100 / 20)  # 100 interviews over 1 day, 20 variants


def test_a_plan_without_levers_has_none() -> None:
    assert plan(build([paid()])).levers is None
