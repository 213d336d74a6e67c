"""The turn pipeline, driven by a float clock (no SimPy): every decision checked by hand.

Each test builds a tiny configuration (:mod:`simkit`: one-turn interviews, providers with
one limit), starts sessions at chosen times on :class:`floatclock.FloatClock`, scripts how
each call ends, and checks what the pipeline did — which destination, when, how long the
turn waited, how it was served — against arithmetic done by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from floatclock import FloatClock, Spy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import build, const, destinations, one_turn, provider

from capacity.config.loader import Configuration
from capacity.policy.actions import Call
from capacity.policy.build import Core, build_core, seed_streams
from capacity.units import Outcome, Served

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)


def core_of(config: Configuration, spy: Spy, seed: int = 1) -> Core:
    return build_core(config, START, seed_streams(seed), spy)


def answers_in(latency_s: float, ttft_s: float = 0.0) -> Any:
    def service(call: Call, now: float) -> tuple[str | None, float, float]:
        return None, ttft_s, latency_s

    return service


def test_a_turn_goes_to_the_provider_and_ends_once() -> None:
    spy = Spy()
    clock = FloatClock(core_of(build([provider("p0")]), spy), answers_in(2.0, ttft_s=0.5))
    clock.start(10.0, candidate=0)
    clock.run()
    assert spy.turns() == [(10.0, Served.PROVIDER, 2.0, 0.0)]
    assert spy.outcomes() == [Outcome.COMPLETED]
    assert [(t, c.routed.destination.name, c.tokens_in) for t, c in clock.calls] == [(10.0, "p0/m", 100)]
    assert [e[3] for e in spy.of("call_done")] == [0.5]  # the time to first token is reported
    assert clock.sessions_done == 1


def test_a_failed_call_is_retried_after_backoff_on_a_destination_not_cooling_down() -> None:
    """p0's first call fails after 1 s; p0 cools down 30 s; the retry waits U(½, 1)·4 s and
    goes to p1, which answers in 2 s."""
    config = build(
        [provider("p0"), provider("p1")],
        destinations("p0", "p1", max_retries=2, backoff_base_s=4.0, backoff_max_s=100.0, cooldown_s=30.0),
    )

    def service(call: Call, now: float) -> tuple[str | None, float, float]:
        return ("5xx", 1.0, 1.0) if now == 0.0 else (None, 0.0, 2.0)

    spy = Spy()
    clock = FloatClock(core_of(config, spy), service)
    clock.start(0.0, candidate=0)
    clock.run()
    (t0, first), (t1, second) = clock.calls
    assert (t0, first.routed.destination.name, first.failure) == (0.0, "p0/m", "5xx")
    assert second.routed.destination.name == "p1/m"
    assert 1.0 + 2.0 <= t1 <= 1.0 + 4.0  # failed at 1 s, then a delay in [2, 4] s
    assert spy.turns() == [(0.0, Served.PROVIDER, t1 + 2.0, 0.0)]
    assert spy.of("call_failed")[0][1] == "5xx"
    assert first.routed.destination.cooldown_until == 31.0


@pytest.mark.parametrize(
    ("on_deadline", "served", "outcome"),
    [
        ("degrade", Served.DEGRADED, Outcome.DEGRADED),
        ("fail", Served.FAILED, Outcome.FAILED),
    ],
)
def test_past_its_deadline_a_failing_turn_degrades_or_fails(on_deadline: str, served: Served, outcome: Outcome) -> None:
    config = build(
        [provider("p0")],
        destinations("p0", max_retries=50, backoff_base_s=2.0, turn_deadline_s=10.0, on_deadline=on_deadline),
    )
    spy = Spy()
    clock = FloatClock(core_of(config, spy), lambda call, now: ("5xx", 1.0, 1.0))
    clock.start(0.0, candidate=0)
    clock.run()
    assert len(clock.calls) >= 2
    assert all(t < 10.0 for t, _ in clock.calls)  # no attempt starts past the deadline
    ((needed, how, latency, _),) = spy.turns()
    assert (needed, how) == (0.0, served) and latency < 10.0
    assert spy.outcomes() == [outcome]


@pytest.mark.parametrize(("on_exhausted", "served"), [("degrade", Served.DEGRADED), ("fail", Served.FAILED)])
def test_with_no_quota_anywhere_a_turn_degrades_or_fails_at_once(on_exhausted: str, served: Served) -> None:
    config = build([provider("p0", limits={"rpd": 1})], destinations("p0", on_exhausted=on_exhausted))
    spy = Spy()
    clock = FloatClock(core_of(config, spy), answers_in(1.0))
    clock.start(0.0, candidate=0)
    clock.start(5.0, candidate=1)
    clock.run()
    assert len(clock.calls) == 1
    assert spy.turns() == [(0.0, Served.PROVIDER, 1.0, 0.0), (5.0, served, 0.0, 0.0)]


def test_turns_wait_in_order_until_the_rolling_minute_frees() -> None:
    """RPM 1 (rolling): requests at 0, 10 and 20 s are admitted at 0, 60 and 120 s."""
    config = build([provider("p0", limits={"rpm": 1})])
    spy = Spy()
    clock = FloatClock(core_of(config, spy), answers_in(1.0))
    for i, t in enumerate((0.0, 10.0, 20.0)):
        clock.start(t, candidate=i)
    clock.run()
    assert [t for t, _ in clock.calls] == [0.0, 60.0, 120.0]
    assert spy.turns() == [
        (0.0, Served.PROVIDER, 1.0, 0.0),
        (10.0, Served.PROVIDER, 51.0, 50.0),
        (20.0, Served.PROVIDER, 101.0, 100.0),
    ]
    assert max(length for _, length in spy.of("queue_length")) == 2


def test_a_queued_turn_gives_up_at_its_deadline() -> None:
    config = build([provider("p0", limits={"rpm": 1})], destinations("p0", turn_deadline_s=30.0))
    spy = Spy()
    clock = FloatClock(core_of(config, spy), answers_in(1.0))
    clock.start(0.0, candidate=0)
    clock.start(10.0, candidate=1)
    clock.run()
    assert len(clock.calls) == 1
    assert spy.turns()[1] == (10.0, Served.FAILED, 30.0, 30.0)  # queued from 10 s to its deadline at 40 s
    assert spy.outcomes() == [Outcome.COMPLETED, Outcome.FAILED]


def test_an_identical_request_in_flight_is_sent_once_and_a_later_one_hits_the_cache() -> None:
    config = build(
        [provider("p0")],
        one_turn(cache={"key": "candidate"}),
        {"cache": {"enabled": True, "ttl_s": 100.0, "deduplicate_in_flight": True}},
    )
    spy = Spy()
    clock = FloatClock(core_of(config, spy), answers_in(5.0))
    for t in (0.0, 1.0, 6.0, 200.0):
        clock.start(t, candidate=7)
    clock.run()
    assert [t for t, _ in clock.calls] == [0.0, 200.0]  # the cache entry expired at 105 s
    assert [(needed, how, latency) for needed, how, latency, _ in spy.turns()] == [
        (0.0, Served.PROVIDER, 5.0),
        (1.0, Served.DEDUPLICATED, 4.0),  # ends with the leader's answer, at 5 s
        (6.0, Served.CACHE, 0.0),
        (200.0, Served.PROVIDER, 5.0),
    ]
    assert spy.of("cache_lookup") == [(False,), (False,), (True,), (False,)]


def test_gated_admission_turns_interviews_away_while_turns_wait_for_quota() -> None:
    config = build([provider("p0", limits={"rpm": 1})], destinations("p0", admission="gated", admission_cooldown_s=0.0))
    spy = Spy()
    clock = FloatClock(core_of(config, spy), answers_in(1.0))
    for i, t in enumerate((0.0, 10.0, 20.0, 70.0)):
        clock.start(t, candidate=i)
    clock.run()
    assert spy.of("turned_away") == [(20.0,)]  # at 20 s a turn waits; at 70 s none does
    assert [t for t, _ in clock.calls] == [0.0, 60.0, 120.0]


def test_a_gpu_pool_sends_each_request_to_the_least_loaded_server() -> None:
    config = build(
        [],
        {
            "gpu_pools": [{"name": "pool", "gpu": "rtx4090", "model": "llama-3.1-8b", "servers": 3}],
            "routing": {"destinations": [{"pool": "pool"}]},
        },
    )
    spy = Spy()
    # server 0 takes 100 s per request, the others 10 s
    clock = FloatClock(core_of(config, spy), lambda call, now: (None, 0.1, 100.0 if call.server == 0 else 10.0))
    for i, t in enumerate((0.0, 1.0, 2.0, 15.0, 16.0, 17.0)):
        clock.start(t, candidate=i)
    clock.run()
    # 0, 1, 2 fill the three servers; at 15 s servers 1 and 2 are free again; at 17 s all hold one
    assert [c.server for _, c in clock.calls] == [0, 1, 2, 1, 2, 0]
    assert all(n == 0 for n in clock.core.destinations[0].replicas.outstanding)  # type: ignore[union-attr]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limits=st.fixed_dictionaries({}, optional={"rpm": st.integers(1, 5), "concurrent_requests": st.integers(1, 3)}),
    error_rate=st.sampled_from([0.0, 0.3, 1.0]),
    on_exhausted=st.sampled_from(["queue", "degrade", "fail"]),
    on_deadline=st.sampled_from(["degrade", "fail"]),
    retries=st.integers(0, 3),
    deadline=st.sampled_from([5.0, 60.0, 1e6]),
    gated=st.booleans(),
    cached=st.booleans(),
    starts=st.lists(st.tuples(st.floats(0, 600), st.integers(0, 5), st.integers(1, 3)), min_size=1, max_size=25),
    seed=st.integers(0, 2**16),
)
def test_every_call_and_every_interview_ends_exactly_once(
    limits: dict[str, int],
    error_rate: float,
    on_exhausted: str,
    on_deadline: str,
    retries: int,
    deadline: float,
    gated: bool,
    cached: bool,
    starts: list[tuple[float, int, int]],
    seed: int,
) -> None:
    config = build(
        [provider("p0", limits=limits), provider("p1", limits={"rpm": 2})],
        one_turn(output=const(3.0), max_output=8, cache={"key": "candidate"} if cached else None),
        {"cache": {"enabled": cached, "ttl_s": 50.0}},
        destinations(
            "p0",
            "p1",
            on_exhausted=on_exhausted,
            on_deadline=on_deadline,
            max_retries=retries,
            turn_deadline_s=deadline,
            cooldown_s=5.0,
            admission="gated" if gated else "open",
            admission_cooldown_s=30.0,
        ),
    )
    spy = Spy()
    core = core_of(config, spy, seed)
    draws = iter(range(10**9))

    def service(call: Call, now: float) -> tuple[str | None, float, float]:
        fails = (next(draws) * 0.618) % 1.0 < error_rate  # deterministic, spread over [0, 1)
        return ("5xx", 0.5, 0.5) if fails else (None, 0.2, 1.0 + call.tokens_out)

    clock = FloatClock(core, service)
    for t, candidate, interviews in starts:
        clock.start(t, candidate, interviews)
    clock.run()
    interviews = sum(n for _, _, n in starts)
    assert clock.sessions_done == len(starts)
    assert len(spy.of("interview_ended")) + len(spy.of("turned_away")) == interviews
    assert len(spy.of("interview_started")) == len(spy.of("interview_ended"))
    assert len(spy.of("call_sent")) == len(clock.calls) == len(spy.of("call_done")) + len(spy.of("call_failed"))
    assert len(spy.turns()) == len(spy.of("interview_started"))  # one turn each, each ended once
    assert len(core.queue) == 0 and not core.pipeline.in_flight._waiting
    for account in (a for d in core.destinations if d.quota for a in d.quota.accounts):
        assert account.concurrency is None or account.concurrency.in_flight == 0  # every slot freed


def test_a_client_error_is_not_retried() -> None:
    """A 4xx (a bad key, an unknown model) fails the turn at once, whatever retries remain."""
    config = build([provider("p0")], destinations("p0", max_retries=5, on_deadline="fail"))
    spy = Spy()
    clock = FloatClock(core_of(config, spy), lambda call, now: ("4xx", 0.0, 0.2))
    clock.start(0.0, candidate=0)
    clock.run()
    assert len(clock.calls) == 1
    assert spy.turns() == [(0.0, Served.FAILED, 0.2, 0.0)]
