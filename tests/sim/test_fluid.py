"""The fluid fast mode against the exact engine on short horizons (capacity.sim.fluid).

Agreement target (issue 13): carried interviews and per-provider requests within 2%. Both hold
where quotas do not bind (the paid scenarios), and interview durations with them; where the free
tiers bind, carried interviews on A's first day and the calls spent on B's first hours hold,
per-provider requests do not: their measured gaps are in the README and the bench, not tested
against a looser bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.cli.common import load
from capacity.errors import UsageError
from capacity.metrics.recorder import Recorder
from capacity.policy.ledger import AccountQuota
from capacity.policy.windows import QuotaWindow, RollingWindow, TokenBucket
from capacity.sim.fluid import simulate_fluid
from capacity.sim.fluid_quota import MEASURES, admit_account, erlang_b, slot_level, unsupported
from capacity.sim.model import simulate
from capacity.units import Measure


def _close(fluid: float, exact: float) -> bool:
    return abs(fluid - exact) <= 0.02 * max(exact, 1.0)


@pytest.mark.parametrize(("scenario", "interviews"), [("A-paid", 150), ("B-paid", 150)])
def test_fluid_carries_and_sends_what_the_exact_engine_does(scenario: str, interviews: int) -> None:
    config = load(scenario, None, None)
    exact = simulate(config, days=1, max_interviews=interviews)
    fluid = simulate_fluid(config, days=1, max_interviews=interviews)
    assert fluid.fidelity == "fluid" and exact.fidelity == "exact"
    assert fluid.interviews.requested == exact.interviews.requested == interviews
    assert _close(fluid.carried, exact.carried)
    for e, f in zip(exact.destinations, fluid.destinations, strict=True):
        assert e.name == f.name
        assert _close(f.requests, e.requests), (e.name, e.requests, f.requests)
    assert fluid.turn_latency_s.count == 0  # not modelled: left empty, not invented


@pytest.mark.parametrize("scenario", ["A-paid", "B-paid"])
def test_fluid_interviews_last_as_long_as_exact_ones_where_nothing_binds(scenario: str) -> None:
    """Half the turns follow the one before at once (no candidate speaking between them); where no
    window refuses, such a turn met at the next step is sent when it was needed, so interviews last
    what they last in the exact engine (before: 28% longer, 2,126 s against 1,671 s on A-paid)."""
    config = load(scenario, None, None)
    exact = simulate(config, days=1, max_interviews=150).interview_duration_s
    fluid = simulate_fluid(config, days=1, max_interviews=150).interview_duration_s
    assert fluid.count == exact.count == 150
    assert _close(fluid.mean, exact.mean), (exact.mean, fluid.mean)
    assert _close(fluid.p95, exact.p95), (exact.p95, fluid.p95)


@pytest.mark.parametrize("scenario", ["A-paid", "B-paid"])
def test_fluid_prices_calls_as_the_exact_engine_with_a_provider_prompt_cache(scenario: str) -> None:
    """gpt-4o-mini reads each turn's conversation so far from OpenAI's prompt cache: four fifths of
    the input at half price. The fluid mode prices it as the exact engine does (before: the whole
    prompt at list price, B-paid's day $446.67 against $298.54)."""
    config = load(scenario, None, None)
    exact = simulate(config, days=1, max_interviews=150)
    fluid = simulate_fluid(config, days=1, max_interviews=150)
    assert exact.prompt_cache.cached_share > 0.75  # the cache really serves most of the input
    assert abs(fluid.prompt_cache.cached_share - exact.prompt_cache.cached_share) <= 0.02
    assert _close(fluid.cost_usd, exact.cost_usd), (exact.cost_usd, fluid.cost_usd)
    assert _close(fluid.prompt_cache.saved_usd, exact.prompt_cache.saved_usd)


def test_fluid_carries_what_the_exact_engine_carries_when_free_tiers_bind() -> None:
    """Scenario A's first day: daily, per-minute and per-second windows of the free tiers bind from
    the early afternoon (UTC) and a quarter of the interviews fail; fluid, meeting a minute where a
    window refuses in three parts (the default), carries within 2% (this seed: +0.5%; the mean of seeds
    1-4: -0.9%; in one part: -3.6% and -3.9%)."""
    config = load("A", None, None)
    exact = simulate(config, days=1)
    fluid = simulate_fluid(config, days=1)
    assert exact.interviews.failed > 0.2 * exact.interviews.requested  # the quotas really bind
    assert fluid.interviews.requested == exact.interviews.requested
    assert _close(fluid.carried, exact.carried), (exact.carried, fluid.carried)


def test_fluid_names_the_window_that_binds_as_the_exact_engine_does() -> None:
    """Scenario A's first day: each destination's binding window (the one full the longest) is the exact
    engine's — Mistral's 1 request a second, Fireworks' requests a minute, the daily budgets. Windows of
    under a minute count as full the share of each minute Erlang's formula has every server busy (before:
    none, and Mistral showed no binding window). A concurrency slot's peak is the level the minute's
    arrivals more likely than not reach (before: 0, never recorded)."""
    config = load("A", None, None)
    exact = simulate(config, days=1)
    fluid = simulate_fluid(config, days=1)
    for e, f in zip(exact.destinations, fluid.destinations, strict=True):
        assert f.binding_window is not None and f.binding_window == e.binding_window, (e.name, f.binding_window)
    slots = {d.name: w.peak_fraction for d in fluid.destinations for w in d.windows if w.name == "concurrent_requests"}
    assert slots == {"github-models/openai/gpt-4o-mini": 0.6, "github-models/openai/gpt-4o": 1.0}  # exact: 1.0 both
    # gpt-4o's two slots turn requests away (exact: from 14:48 UTC, 10 s in all): found full too (a trial: never)
    gpt4o = next(d for d in fluid.destinations if d.name == "github-models/openai/gpt-4o")
    slot = next(w for w in gpt4o.windows if w.name == "concurrent_requests")
    assert slot.first_blocked_s is not None and 0 < slot.full_s < 60
    mistral = next(f for f in fluid.destinations if f.name.startswith("mistral/"))
    assert mistral.binding_window == "rps"
    # a window's peak use is a share of its limit, as in the exact engine — a daily token bucket up to a
    # minute's refill over it: a waiting turn is charged as the step starts the room the bucket has by its end
    assert all(0.0 <= w.peak_fraction <= 1.0 + 1.0 / 1440 + 1e-6 for d in fluid.destinations for w in d.windows)
    assert mistral.windows[0].peak_fraction == 1.0


def test_fluid_spends_the_calls_the_exact_engine_spends_in_an_overload() -> None:
    """Scenario B's first 3,000 interviews (its first hours): the free tiers bind and most interviews
    fail; the fluid engine sends the calls the exact one sends within 2%. (Calls -1.6% on the scenario's seed,
    -2.9% on the mean of seeds 1-4; carried interviews differ by 12% here, 661 against 753: a turn waits for
    quota in whole minutes; README, "Fluid mode".)"""
    config = load("B", None, None)
    exact = simulate(config, days=1, max_interviews=3000)
    fluid = simulate_fluid(config, days=1, max_interviews=3000)
    assert exact.interviews.failed > 0.5 * exact.interviews.requested  # an overload
    assert fluid.interviews.requested == exact.interviews.requested == 3000
    assert _close(fluid.requests.api_calls, exact.requests.api_calls), (exact.requests.api_calls,
                                                                         fluid.requests.api_calls)


@settings(max_examples=5, deadline=None)
@given(interviews=st.integers(20, 400), seed=st.integers(0, 2**31))
def test_fluid_conserves_interviews_and_never_exceeds_a_daily_limit(interviews: int, seed: int) -> None:
    config = load("A", None, None)
    result = simulate_fluid(config, days=1, max_interviews=interviews, seed=seed)
    iv = result.interviews
    assert iv.requested == iv.completed + iv.degraded + iv.failed + iv.unfinished == interviews
    assert result.requests.api_calls == sum(d.requests for d in result.destinations)
    for dest in result.destinations:
        for window in dest.windows:
            if window.name == "rpd":
                assert dest.requests <= window.limit * dest.accounts


def test_fluid_spends_a_daily_quota_exactly_once() -> None:
    """A destination with 200 requests a day (Gemini 2.0 Flash's free tier) is given all of them
    and no more, whichever engine runs the day."""
    config = load("A", None, ["routing.destinations=[{provider: gemini, model: gemini-2.0-flash}]"])
    fluid = simulate_fluid(config, days=1, max_interviews=60)
    (dest,) = fluid.destinations
    assert dest.requests == 200
    assert dest.binding_window == "rpd"
    assert fluid.interviews.failed > 0 and fluid.carried < 60


def test_fluid_refuses_what_it_does_not_model() -> None:
    config = load("A", None, ["routing.strategy=latency_aware"])
    assert unsupported(config) is not None
    with pytest.raises(UsageError, match="latency_aware"):
        simulate_fluid(config, days=1, max_interviews=10)
    # what came after the fluid engine: model groups, work done ahead, sticky sessions
    groups = [
        "routing.groups={smart: {destinations: [{provider: groq, model: llama-3.3-70b-versatile}]}}",
        "script.stages.final_scoring.group=smart",
    ]
    ahead = ["script.stages.resume_analysis.deferral={lead_time_s: 3600, via: off_peak}"]
    for overrides, setting in [
        (groups, "model groups"),
        (ahead, "deferred stages"),
        (["routing.session_affinity=true"], "session affinity"),
    ]:
        with pytest.raises(UsageError, match=setting):
            simulate_fluid(load("A", None, overrides), days=1, max_interviews=10)


@settings(max_examples=30, deadline=None)
@given(servers=st.integers(1, 60), offered=st.floats(0.0, 200.0))
def test_erlang_b_is_a_share_that_falls_with_servers(servers: int, offered: float) -> None:
    b = erlang_b(servers, offered)
    assert 0.0 <= b <= 1.0
    assert erlang_b(servers + 1, offered) <= b + 1e-12
    carried = offered * (1 - b)
    assert carried <= servers + 1e-9  # never more busy servers than there are


def test_erlang_b_known_value() -> None:
    # one server under one erlang loses half the arrivals: B(1, a) = a / (1 + a)
    assert math.isclose(erlang_b(1, 1.0), 0.5)


def test_a_slot_reaches_the_level_a_minute_of_arrivals_more_likely_than_not_reaches() -> None:
    # calls of 5 s: a lone call in the minute holds one slot; none, none
    assert slot_level(2, 5 / 60, 1) == 1
    assert slot_level(2, 0.0, 0) == 0
    # GitHub gpt-4o-mini, 15 calls a minute of 5 s on 5 slots (1.25 erlangs): P(N ≥ 3) = 0.130, so one of the
    # 15 arrivals finds 3 or more in flight with odds 0.88 (level 4); P(N ≥ 4) = 0.036 gives the fifth odds 0.43
    assert slot_level(5, 1.25, 15) == 4
    # twice the calls the slots can carry: full
    assert slot_level(2, 2.5, 30) == 2
    # a large slot under a heavy load (offered^i ÷ i! overflows a float past i ≈ 170): about the load, not 0
    assert 900 < slot_level(2_000, 900.0, 50_000) < 1_100


@settings(max_examples=30, deadline=None)
@given(servers=st.integers(1, 40), offered=st.floats(0.0, 100.0), arrivals=st.floats(1.0, 2_000.0))
def test_a_slot_level_is_within_its_slots_and_grows_with_the_load(
    servers: int, offered: float, arrivals: float
) -> None:
    level = slot_level(servers, offered, arrivals)
    assert 1 <= level <= servers  # an arrival finds the slot empty more likely than not, or fills it further
    assert slot_level(servers, offered * 2, arrivals * 2) >= level


def test_fluid_draws_the_token_counts_the_exact_engine_draws() -> None:
    """Each interview draws its answers and outputs, so prompts grow as the exact engine's do: where no
    quota binds, the tokens each provider is sent and answers agree within 2%."""
    config = load("A-paid", None, None)
    exact = simulate(config, days=1, max_interviews=150)
    fluid = simulate_fluid(config, days=1, max_interviews=150)
    for e, f in zip(exact.destinations, fluid.destinations, strict=True):
        assert _close(f.tokens_in, e.tokens_in), (e.name, e.tokens_in, f.tokens_in)
        assert _close(f.tokens_out, e.tokens_out), (e.name, e.tokens_out, f.tokens_out)


def _sequential(windows: list[QuotaWindow], now: float, times: list[float], tokens: list[float]) -> list[int]:
    """The exact router's way, one request at a time at its own instant, on the policy's own windows."""
    admitted = []
    for i, (t, amount) in enumerate(zip(times, tokens, strict=True)):
        charge = {Measure.REQUESTS: 1.0, Measure.TOKENS: amount}
        if all(w.fits(t, charge[w.measure]) for w in windows):
            for w in windows:
                w.take(t, charge[w.measure])
            admitted.append(i)
    return admitted


def _windows(level: float, earlier: list[tuple[float, float]]) -> list[QuotaWindow]:
    """A daily token bucket at ``level`` at run time 600 s, and a rolling minute of 6,000 tokens holding
    ``earlier`` charges (time, tokens)."""
    bucket = TokenBucket("tpd", Measure.TOKENS, 500_000, 86_400)
    bucket.take(600.0, 500_000 - level)
    minute = RollingWindow("tpm", Measure.TOKENS, 6_000, 60)
    for t, amount in earlier:
        minute.take(t, amount)
    return [bucket, minute]


@settings(max_examples=25, deadline=None)
@given(
    level=st.floats(0.0, 8_000.0),
    earlier=st.lists(st.tuples(st.floats(541.0, 600.0), st.floats(100.0, 3_000.0)), max_size=4),
    requests=st.lists(st.tuples(st.floats(0.0, 59.9), st.floats(300.0, 4_500.0)), min_size=1, max_size=30),
)
def test_a_step_admits_what_one_request_at_a_time_would(
    level: float, earlier: list[tuple[float, float]], requests: list[tuple[float, float]]
) -> None:
    """A step of a minute admits, of a line of requests at their own instants, exactly those the exact
    router would admit one at a time on the same windows: a daily token bucket that refills as the minute
    goes on, and a rolling minute whose earlier charges leave during it — so a small request gets in
    where a large one before it did not."""
    now = 600.0
    earlier.sort()
    requests.sort()
    times = [now + t for t, _ in requests]
    tokens = [amount for _, amount in requests]
    expected = _sequential(_windows(level, earlier), now, times, tokens)
    account = AccountQuota(_windows(level, earlier), None, refundable=False)
    charges = np.zeros((len(MEASURES), len(tokens)))
    charges[MEASURES.index(Measure.REQUESTS)] = 1.0
    charges[MEASURES.index(Measure.TOKENS)] = tokens
    selected, _ = admit_account(
        account, now, np.array(times), charges, charges, 1.0, Recorder(86_400.0), {}
    )
    assert selected.tolist() == expected
