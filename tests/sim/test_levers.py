"""Deferred stages and question banks in the simulator: when the requests happen, and what falls back."""

from __future__ import annotations

from typing import Any

from simkit import build, check_conservation, const, demand, provider

from capacity.result import RunResult
from capacity.sim.model import Simulation, simulate

BATCH = {"source": "test", "as_of": "2026-11-01", "draws_on_quotas": False}


def batch_provider(name: str = "p0", **batch: Any) -> dict[str, Any]:
    """A paid provider ($1/$2 per 1M tokens) with a batch API."""
    spec = provider(name, billing="paid", prices=(1.0, 2.0))
    spec["batch"] = {**BATCH, **batch}
    return spec


def ahead(lever: str, **fields: Any) -> dict[str, Any]:
    """The one-turn script's stage made ahead: a ``deferral`` or a ``bank``."""
    stage = {"input": {"history": False}, "output_tokens": const(10.0), "max_output_tokens": 20, lever: fields}
    return {"script": {"stages": {"ask": stage}}}


def test_off_peak_requests_are_made_lead_time_before_their_interview() -> None:
    # 100 interviews 09:00–10:00 UTC, booked 2 h ahead: every request between 07:00 and 08:00
    config = build([provider("p0")], ahead("deferral", lead_time_s=7200, via="off_peak"))
    result = simulate(config)
    check_conservation(result)
    hourly = result.destinations[0].hourly_requests
    assert hourly[7] == 100 and sum(hourly) == 100
    assert result.levers.deferred_ready == 100 and result.levers.deferred_late == 0
    assert result.requests.deferred == 100 and result.requests.provider == 0
    # each answer took 10 s (10 tokens at 1 token/s), then waited the rest of the lead time
    assert abs(result.levers.deferred_early_p50_s - (7200 - 10)) < 1e-6


def test_a_batch_result_not_ready_in_time_falls_back_to_a_live_call() -> None:
    # a 2 h completion window but a 1 h lead time: every result is late
    config = build(
        [batch_provider(completion_window_s=7200, price_factor=0.5)],
        ahead("deferral", lead_time_s=3600, via="batch"),
    )
    result = simulate(config)
    check_conservation(result)
    levers = result.levers
    assert levers.deferred_requests == 100 and levers.deferred_late == 100 and levers.deferred_ready == 0
    assert result.requests.provider == 100 and result.destinations[0].requests == 100  # the live fallbacks
    # both were paid: 100 batch requests (100 in + 10 out tokens at half of $1/$2) and 100 live calls
    batch_usd = 100 * (100 * 1.0 + 10 * 2.0) / 1e6 * 0.5
    assert abs(levers.batch_cost_usd - batch_usd) < 1e-9
    assert abs(result.cost_usd - batch_usd - result.destinations[0].cost_usd) < 1e-6


def test_batch_requests_are_submitted_before_their_interview_and_within_the_batch_limits() -> None:
    # two interviews per candidate, same day: a booking holds two requests; batches of at most one,
    # at most five enqueued, a 10-minute window, booked 3 h ahead
    config = build(
        [batch_provider(completion_window_s=600, max_requests_per_batch=1, max_enqueued_requests=5)],
        demand(100, each=2, spacing="same_day"),
        ahead("deferral", lead_time_s=3 * 3600, via="batch"),
    )
    sim = Simulation(config)
    result = sim.run()
    check_conservation(result)
    assert sim.core.pipeline.deferred is not None
    (queue,) = set(sim.core.pipeline.deferred.batch.values())
    jobs = queue.submitted
    assert len(jobs) == 100 and all(j.requests == 1 for j in jobs)
    for j in jobs:
        assert sum(k.requests for k in jobs if k.submitted_s <= j.submitted_s < k.ready_s) <= 5
    first_start = min(sim.session_start)
    assert all(j.submitted_s < first_start + 3600 for j in jobs)  # all before the business hour ends
    assert result.levers.deferred_ready + result.levers.deferred_late == 100
    assert result.levers.max_enqueued_requests <= 5


def bank_run(policy: str) -> RunResult:
    config = build(
        [provider("p0")],
        {"candidates": {"roles": 2}},
        ahead("bank", variants=3, policy=policy, via="off_peak"),
    )
    return simulate(config)


def test_a_bank_of_n_variants_sends_n_requests_once_and_none_during_the_interviews() -> None:
    result = bank_run("least_used")
    check_conservation(result)
    assert result.levers.bank_requests == 6  # 3 variants × 2 roles
    assert result.requests.api_calls == 0 and result.requests.bank == 100
    assert result.levers.bank_max_uses == 17  # 50 interviews a role over 3 variants: 17, 17, 16
    assert result.levers.bank_cost_usd == 0.0  # a free tier


def test_a_random_bank_is_reproducible_and_uneven() -> None:
    one, two = bank_run("random"), bank_run("random")
    assert one.levers.bank_max_uses == two.levers.bank_max_uses >= 17
