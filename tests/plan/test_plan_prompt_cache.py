"""``plan`` with provider prompt caches: the expected cached share from the script, its price and
the token-limited capacity it frees, against hand arithmetic.

The script is the policy tests' three turns (prompts of 2,000, 2,100 and 2,200 tokens, no
output; 1,920 and 2,048 tokens cached on a hit: 3,968 of 6,300).
"""

from __future__ import annotations

from typing import Any

import pytest
from simkit import build, const, destinations, provider

from capacity.config.providers import PromptCache
from capacity.plan import plan
from capacity.plan.prompt_cache import expected_effect, hit_probability
from capacity.workload.script import compile_script

SHARE = 3968 / 6300


def cache(**fields: Any) -> dict[str, Any]:
    return {
        "min_prefix_tokens": 1024,
        "granularity_tokens": 128,
        "retention_s": 7200,
        "source": "test",
        "as_of": "2026-11-01",
        **fields,
    }


def three_turns(think: dict[str, Any]) -> dict[str, Any]:
    stage = {"input": {"history": True}, "output_tokens": const(0.0), "max_output_tokens": 1}
    return {
        "script": {
            "system_prompt_tokens": 2000,
            "resume_tokens": 0,
            "answer_tokens": const(100.0),
            "think_time_s": think,
            "opening": ["ask"],
            "rounds": 2,
            "round": ["reply"],
            "stages": {"ask": stage, "reply": {**stage, "candidate_speaks_before": True}},
        }
    }


def with_cache(name: str, block: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    spec = provider(name, **kwargs)
    if block is not None:
        spec["prompt_cache"] = block
    return spec


def test_the_expected_share_and_price_of_the_three_turn_script() -> None:
    config = build([provider("p0")], three_turns(const(60.0)))
    script = compile_script(config.scenario.script)
    rule = PromptCache.model_validate(cache(read_price_factor=0.5, write_price_factor=1.25, counts_toward_limits=False))
    effect = expected_effect(script, rule)
    assert effect.cached_share == pytest.approx(SHARE)
    assert effect.input_price_factor == pytest.approx(4899 / 6300)  # see the policy test's price by hand
    assert effect.uncounted_share == pytest.approx(SHARE)


def test_a_think_time_longer_than_the_lifetime_expects_no_hit() -> None:
    config = build([provider("p0")], three_turns(const(400.0)))
    script = compile_script(config.scenario.script)
    assert hit_probability(script, 300.0) == 0.0
    assert expected_effect(script, PromptCache.model_validate(cache(retention_s=300))).cached_share == 0.0
    assert hit_probability(script, 400.0) == 1.0


def test_hit_probability_of_a_lognormal_think_time() -> None:
    """Median 120 s, σ 0.5: P(think ≤ 300 s) = Φ(ln 2.5 / 0.5) = Φ(1.8326) = 0.9666."""
    config = build([provider("p0")], three_turns({"kind": "lognormal", "median": 120, "sigma": 0.5}))
    assert hit_probability(compile_script(config.scenario.script), 300.0) == pytest.approx(0.9666, abs=0.004)


@pytest.mark.parametrize(("counts", "requests"), [(True, 10_000 / 2100), (False, 10_000 / (2100 * (1 - SHARE)))])
def test_a_daily_token_limit_not_counting_cached_tokens_carries_more_requests(counts: bool, requests: float) -> None:
    """TPD 10,000 ÷ 2,100 tokens a request = 4.76 requests a day; not counting the cached 63% of
    the input, ÷ 777.3 = 12.86."""
    config = build(
        [with_cache("p0", cache(counts_toward_limits=counts), limits={"tpd": 10_000})], three_turns(const(60.0))
    )
    (dest,) = plan(config).destinations
    assert dest.binding_limit == "tpd"
    assert dest.requests_per_day == pytest.approx(requests)
    assert dest.prompt_cached_share == pytest.approx(SHARE)


def test_the_monthly_cost_falls_by_the_cached_share_at_the_read_price() -> None:
    """$1 per million input tokens, read 0.5×: a request costs 2,100 × (1 − 0.63 × 0.5) token-prices."""
    paid = {"billing": "paid", "prices": (1.0, 0.0)}
    plain = plan(build([provider("p0", **paid)], three_turns(const(60.0)))).totals.monthly_cost_usd
    cached = plan(
        build([with_cache("p0", cache(read_price_factor=0.5), **paid)], three_turns(const(60.0)))
    ).totals.monthly_cost_usd
    assert plain is not None and cached is not None
    assert cached / plain == pytest.approx(1 - SHARE * 0.5)


@pytest.mark.parametrize(("affinity", "share"), [(False, 0.0), (True, SHARE)])
def test_with_two_destinations_hits_are_counted_only_with_session_affinity(affinity: bool, share: float) -> None:
    config = build(
        [with_cache("p0", cache()), with_cache("p1", cache())],
        three_turns(const(60.0)),
        destinations("p0", "p1", session_affinity=affinity),
    )
    result = plan(config)
    assert [d.prompt_cached_share for d in result.destinations] == pytest.approx([share, share])
    assert any(n.startswith("Prompt caching") for n in result.notes)
