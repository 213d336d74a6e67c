"""Savings: how they combine, and the cache hit rate of a candidate-keyed stage."""

from __future__ import annotations

import math

import pytest

from capacity.config import Configuration
from capacity.plan.savings import candidate_cache_hit_rate, capacity_multiplier, combine, provider_load
from capacity.workload.script import compile_script


def test_savings_compound() -> None:
    # the seed's 30 % + 10 % + 5 %: 0.70 × 0.90 × 0.95 = 0.5985 of the requests are left
    assert combine([0.30, 0.10, 0.05], "multiplicative") == pytest.approx(1 - 0.5985)
    assert combine([0.30, 0.10, 0.05], "additive") == pytest.approx(0.45)
    assert combine([0.7, 0.6], "additive") == 1.0  # disjoint shares cannot exceed everything
    assert combine([], "multiplicative") == 0.0


def test_capacity_multiplier_is_one_over_what_is_left() -> None:
    assert capacity_multiplier(0.0) == 1.0
    assert capacity_multiplier(0.5) == 2.0
    assert 1560 * capacity_multiplier(1 - 0.5985) == pytest.approx(2606.5163)  # not 1,560 × 1.45 = 2,262
    assert math.isinf(capacity_multiplier(1.0))


@pytest.mark.parametrize(
    ("interviews", "ttl_s", "spacing_s", "hit_rate"),
    [
        (10, 3600, 2232, 0.5),  # one miss serves 2 back-to-back interviews: 5 misses of 10
        (10, 3600, 1800, 0.6),  # 1 + ⌊3600/1800⌋ = 3 a miss: ⌈10/3⌉ = 4 misses
        (10, 3600, 190_080, 0.0),  # interviews 2.2 days apart outlive a 1-hour TTL
        (10, 30 * 86400, 190_080, 0.9),  # a 30-day TTL spans them all: 1 miss
        (1, 3600, 100, 0.0),  # a single interview can only miss
    ],
)
def test_candidate_cache_hit_rate(interviews: int, ttl_s: float, spacing_s: float, hit_rate: float) -> None:
    assert candidate_cache_hit_rate(interviews, ttl_s, spacing_s) == pytest.approx(hit_rate)


def test_scenario_a_sends_25_of_26_requests(config_a: Configuration) -> None:
    load = provider_load(config_a.scenario, compile_script(config_a.scenario.script))
    fractions = {s.name: s.fraction for s in load.savings}
    assert load.logical_requests == 26
    assert load.api_requests == 25  # the greeting is a template; spread interviews never hit the cache
    assert fractions == pytest.approx({"template": 1 / 26, "cache": 0.0, "deduplication": 0.0})
    assert load.avoided_fraction == pytest.approx(1 / 26)
    # 25 API turns: the resume analysis (1,850 in) and growing contexts; ≈ 52,037 tokens an interview
    assert load.input_tokens + load.output_tokens == pytest.approx(52_037, abs=1)


def test_scenario_b_back_to_back_interviews_hit_half_the_resume_analyses(config_b: Configuration) -> None:
    load = provider_load(config_b.scenario, compile_script(config_b.scenario.script))
    # 27 min interviews + 10 min gap = 2,232 s apart; TTL 3,600 s → every other one hits
    assert load.api_requests == pytest.approx(24.5)
    cache = next(s for s in load.savings if s.name == "cache")
    assert cache.fraction == pytest.approx(0.5 / 25)
    assert load.avoided_fraction == pytest.approx(1.5 / 26)


def test_cache_disabled_means_no_hits(config_b: Configuration) -> None:
    scenario = config_b.scenario.model_copy(
        update={"cache": config_b.scenario.cache.model_copy(update={"enabled": False})}
    )
    load = provider_load(scenario, compile_script(scenario.script))
    assert load.api_requests == 25
