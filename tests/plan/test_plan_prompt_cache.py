"""``plan`` with provider prompt caches: the expected cached share from the script, its price and
the token-limited capacity it frees, against hand arithmetic.

The script is :func:`simkit.three_turn_script` (prompts of 2,000, 2,100 and 2,200 tokens, no
output; 1,920 and 2,048 tokens cached on a hit: 3,968 of 6,300).
"""

from __future__ import annotations

import pytest
from simkit import build, const, destinations, prompt_cache_block, provider, three_turn_script, with_prompt_cache

from capacity.config.providers import PromptCache
from capacity.plan import plan
from capacity.plan.prompt_cache import expected_effect, hit_probability
from capacity.workload.script import compile_script

SHARE = 3968 / 6300


def test_the_expected_share_and_price_of_the_three_turn_script() -> None:
    config = build([provider("p0")], three_turn_script(const(60.0)))
    script = compile_script(config.scenario.script)
    rule = PromptCache.model_validate(
        prompt_cache_block(7200, read_price_factor=0.5, write_price_factor=1.25, counts_toward_limits=False)
    )
    effect = expected_effect(script, rule)
    assert effect.cached_share == pytest.approx(SHARE)
    assert effect.input_price_factor == pytest.approx(4899 / 6300)  # see the policy test's price by hand
    assert effect.uncounted_share == pytest.approx(SHARE)


def test_a_think_time_longer_than_the_lifetime_expects_no_hit() -> None:
    config = build([provider("p0")], three_turn_script(const(400.0)))
    script = compile_script(config.scenario.script)
    assert hit_probability(script, 300.0) == 0.0
    rule = PromptCache.model_validate(prompt_cache_block(300))
    assert expected_effect(script, rule).cached_share == 0.0
    assert hit_probability(script, 400.0) == 1.0


def test_hit_probability_of_a_lognormal_think_time() -> None:
    """Median 120 s, σ 0.5: P(think ≤ 300 s) = Φ(ln 2.5 / 0.5) = Φ(1.8326) = 0.9666."""
    config = build([provider("p0")], three_turn_script({"kind": "lognormal", "median": 120, "sigma": 0.5}))
    assert hit_probability(compile_script(config.scenario.script), 300.0) == pytest.approx(0.9666, abs=0.004)


@pytest.mark.parametrize(("counts", "requests"), [(True, 10_000 / 2100), (False, 10_000 / (2100 * (1 - SHARE)))])
def test_a_daily_token_limit_not_counting_cached_tokens_carries_more_requests(counts: bool, requests: float) -> None:
    """TPD 10,000 ÷ 2,100 tokens a request = 4.76 requests a day; not counting the cached 63% of
    the input, ÷ 777.3 = 12.86."""
    config = build(
        [with_prompt_cache("p0", prompt_cache_block(7200, counts_toward_limits=counts), limits={"tpd": 10_000})],
        three_turn_script(const(60.0)),
    )
    (dest,) = plan(config).destinations
    assert dest.binding_limit == "tpd"
    assert dest.requests_per_day == pytest.approx(requests)
    assert dest.prompt_cached_share == pytest.approx(SHARE)


def test_the_monthly_cost_falls_by_the_cached_share_at_the_read_price() -> None:
    """$1 per million input tokens, read 0.5×: a request costs 2,100 × (1 − 0.63 × 0.5) token-prices."""
    paid = {"billing": "paid", "prices": (1.0, 0.0)}
    plain = plan(build([provider("p0", **paid)], three_turn_script(const(60.0)))).totals.monthly_cost_usd
    cached = plan(
        build(
            [with_prompt_cache("p0", prompt_cache_block(7200, read_price_factor=0.5), **paid)],
            three_turn_script(const(60.0)),
        )
    ).totals.monthly_cost_usd
    assert plain is not None and cached is not None
    assert cached / plain == pytest.approx(1 - SHARE * 0.5)


@pytest.mark.parametrize(("affinity", "share"), [(False, 0.0), (True, SHARE)])
def test_with_two_destinations_hits_are_counted_only_with_session_affinity(affinity: bool, share: float) -> None:
    config = build(
        [with_prompt_cache("p0", prompt_cache_block(7200)), with_prompt_cache("p1", prompt_cache_block(7200))],
        three_turn_script(const(60.0)),
        destinations("p0", "p1", session_affinity=affinity),
    )
    result = plan(config)
    assert [d.prompt_cached_share for d in result.destinations] == pytest.approx([share, share])
    assert any(n.startswith("Prompt caching") for n in result.notes)
