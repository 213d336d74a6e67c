"""Provider prompt caching: hits at the idle-lifetime edge, limits that do not count cached tokens,
the price of an interview with and without a cache, session affinity — each against a hand count.

The script (:func:`simkit.three_turn_script`): a 2,000-token system prompt, then two rounds in which the
candidate speaks (100 tokens, after ``think`` s) and the model answers; no output tokens. The
prompts are 2,000, 2,100 and 2,200 tokens (6,300 in all). With a 1,024-token minimum and
128-token steps, turn 2 finds 2,000 → 1,920 tokens cached and turn 3 2,100 → 2,048 (3,968).
"""

from __future__ import annotations

import datetime as dt

import pytest
from floatclock import FloatClock, Spy
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import (
    Probe,
    build,
    const,
    demand,
    destinations,
    prompt_cache_block,
    three_turn_script,
    with_prompt_cache,
)

from capacity.config.loader import Configuration
from capacity.config.providers import PromptCache
from capacity.policy.actions import Call
from capacity.policy.build import build_core, seed_streams
from capacity.policy.prompt_cache import CacheTerms
from capacity.sim.model import Simulation
from capacity.units import Outcome

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
CACHED = [0, 1920, 2048]
"""Cached tokens of the three turns on a hit (see the module docstring)."""


def run(config: Configuration, starts: list[float], until: float = 1e9) -> tuple[FloatClock, Spy]:
    spy = Spy()
    clock = FloatClock(build_core(config, START, seed_streams(1), spy))
    for k, t in enumerate(starts):
        clock.start(t, candidate=k)
    clock.run(until)
    return clock, spy


def cached_of(clock: FloatClock) -> list[int]:
    return [call.cached_tokens for _, call in clock.calls]


@pytest.mark.parametrize(("think_s", "cached"), [(300.0, CACHED), (300.5, [0, 0, 0])])
def test_a_turn_within_the_idle_lifetime_hits_and_one_a_moment_later_misses(think_s: float, cached: list[int]) -> None:
    """Calls answer at once, so the gap between turns is the think time: 300 s is within a
    300 s lifetime (hit), 300.5 s is past it (miss)."""
    config = build([with_prompt_cache("p0", prompt_cache_block())], three_turn_script(const(think_s)))
    clock, spy = run(config, [0.0])
    assert [c.tokens_in for _, c in clock.calls] == [2000, 2100, 2200]
    assert cached_of(clock) == cached
    assert spy.outcomes() == [Outcome.COMPLETED]


def test_an_unknown_lifetime_counts_no_hit() -> None:
    config = build([with_prompt_cache("p0", prompt_cache_block(retention_s="unknown"))], three_turn_script(const(1.0)))
    clock, _ = run(config, [0.0])
    assert cached_of(clock) == [0, 0, 0]


@pytest.mark.parametrize(("counts", "calls"), [(True, 4), ("unknown", 4), (False, 12)])
def test_a_daily_token_limit_that_does_not_count_cached_tokens_carries_three_times_the_requests(
    counts: bool | str, calls: int
) -> None:
    """TPD 10,000 (Groq-like, cached tokens not counted), five interviews 1,000 s apart, a turn
    refused fails its interview. Counting every token: 2,000 + 2,100 + 2,200, then 2,000 (8,300
    used); the next 2,100 + 1 reserved would make 10,401: 4 calls. Not counting cached tokens an
    interview costs 2,000 + 180 + 152 = 2,332: four fit (9,328), the fifth's 2,001 does not: 12."""
    config = build(
        [
            with_prompt_cache(
                "p0", prompt_cache_block(retention_s=7200, counts_toward_limits=counts), limits={"tpd": 10_000}
            )
        ],
        three_turn_script(const(60.0)),
        destinations("p0", on_exhausted="fail"),
    )
    _, spy = run(config, [1000.0 * k for k in range(5)], until=20_000)
    assert len(spy.of("call_done")) == calls


def test_one_interview_costs_the_hand_computed_price_with_and_without_a_prompt_cache() -> None:
    """$1 per million input tokens, read 0.5×, write 1.25×. Without a cache: 6,300 tokens, $0.0063.
    With: turn 1 writes 2,000 (2,500 token-prices), turn 2 reads 1,920 and writes 180
    (960 + 225), turn 3 reads 2,048 and writes 152 (1,024 + 190): 4,899, so $0.004899, saving
    $0.001401; 3,968 of 6,300 input tokens cached."""
    paid = {"billing": "paid", "prices": (1.0, 2.0)}
    block = prompt_cache_block(read_price_factor=0.5, write_price_factor=1.25)
    results = {}
    for name, b in (("plain", None), ("cached", block)):
        config = build([with_prompt_cache("p0", b, **paid)], three_turn_script(const(60.0)), demand(1))
        results[name] = Simulation(config).run()
    plain, cached = results["plain"], results["cached"]
    assert plain.cost_usd == pytest.approx(0.0063)
    assert plain.prompt_cache.cached_tokens_in == 0
    assert cached.cost_usd == pytest.approx(0.004899)
    assert cached.prompt_cache.saved_usd == pytest.approx(0.001401)
    assert cached.prompt_cache.cached_tokens_in == 3968
    assert cached.prompt_cache.cached_share == pytest.approx(3968 / 6300)
    assert cached.destinations[0].cached_tokens_in == 3968


def test_a_prompt_cache_hit_shortens_the_time_to_first_token() -> None:
    """TTFT 1 s, ttft_saving 0.5: turn 2 (1,920 of 2,100 cached) starts in 1 − 0.5 × 1920/2100 s."""
    config = build(
        [with_prompt_cache("p0", prompt_cache_block(ttft_saving=0.5), ttft=const(1.0))],
        three_turn_script(const(60.0)),
        demand(1),
    )
    sim = Simulation(config)
    probe = Probe(sim)
    sim.run()
    seen = [latency or 0.0 for latency in probe.latencies]
    assert seen == pytest.approx([1.0, 1 - 0.5 * 1920 / 2100, 1 - 0.5 * 2048 / 2200])


@pytest.mark.parametrize(("affinity", "route"), [(False, ["p0", "p1", "p1"]), (True, ["p0", "p0", "p1"])])
def test_session_affinity_keeps_an_interview_where_its_prefix_is_while_that_destination_has_quota(
    affinity: bool, route: list[str]
) -> None:
    """most_headroom sends turn 2 to the emptier p1; with affinity it stays on p0, which holds the
    prefix, until p0's 2 requests a day are spent: turn 3 then goes where the strategy says."""
    config = build(
        [
            with_prompt_cache("p0", prompt_cache_block(), limits={"rpd": 2}),
            with_prompt_cache("p1", prompt_cache_block(), limits={"rpd": 100}),
        ],
        three_turn_script(const(60.0)),
        destinations("p0", "p1", strategy="most_headroom", session_affinity=affinity),
    )
    clock, _ = run(config, [0.0])
    assert [c.routed.destination.name for _, c in clock.calls] == [f"{d}/m" for d in route]
    expected = [0, 1920, 0] if affinity else [0, 0, 2048]  # a hit only where the previous turn went
    assert cached_of(clock) == expected


@settings(max_examples=40, deadline=None)
@given(
    minimum=st.integers(0, 5000),
    step=st.integers(1, 512),
    prefix=st.integers(0, 20_000),
    prompt=st.integers(0, 20_000),
)
def test_cached_tokens_never_exceed_the_prompt_and_respect_minimum_and_steps(
    minimum: int, step: int, prefix: int, prompt: int
) -> None:
    block = prompt_cache_block(min_prefix_tokens=minimum, granularity_tokens=step)
    rule = CacheTerms(PromptCache.model_validate(block))
    cached = rule.cached_tokens(prefix, prompt)
    assert 0 <= cached <= min(prefix, prompt)
    assert cached % step == 0
    assert cached == 0 or cached >= minimum


@settings(max_examples=10, deadline=None)
@given(
    think=st.floats(1.0, 600.0),
    interviews=st.integers(1, 6),
    retention=st.floats(10.0, 900.0),
    counts=st.sampled_from([True, False]),
)
def test_a_daily_token_limit_is_never_exceeded_with_prompt_caching(
    think: float, interviews: int, retention: float, counts: bool
) -> None:
    """Whatever the think times and lifetime, the tokens a TPD window counts over the run never
    exceed it, and no call is served more cached tokens than its prompt."""
    config = build(
        [
            with_prompt_cache(
                "p0", prompt_cache_block(retention_s=retention, counts_toward_limits=counts), limits={"tpd": 9_000}
            )
        ],
        three_turn_script(const(think)),
        destinations("p0", on_exhausted="fail"),
    )
    clock, _ = run(config, [400.0 * k for k in range(interviews)], until=40_000)
    counted = sum(c.tokens_in - (0 if counts else c.cached_tokens) for _, c in clock.calls)
    assert counted <= 9_000
    assert all(0 <= c.cached_tokens <= c.tokens_in for _, c in clock.calls)


def test_a_cache_block_rejects_a_ttft_saving_over_one() -> None:
    with pytest.raises(ValueError, match="ttft_saving"):
        PromptCache.model_validate(prompt_cache_block(ttft_saving=1.5))


def test_calls_carry_their_admission_cached_tokens() -> None:
    """The Call a driver sends reads its cached tokens from the admission (what the ledger charged)."""
    config = build([with_prompt_cache("p0", prompt_cache_block())], three_turn_script(const(10.0)))
    clock, _ = run(config, [0.0])
    for _, call in clock.calls:
        assert isinstance(call, Call)
        assert call.cached_tokens == call.routed.admission.cached_tokens
