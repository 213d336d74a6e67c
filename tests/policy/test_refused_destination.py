"""A 4xx about the destination against a 4xx about the request, decided by the pipeline.

The live driver writes the endpoint's HTTP status into the :class:`Call`; the pipeline tells a
refused *destination* (401, 403, 404, 410: a bad key, a withdrawn model) — taken out of rotation
for the rest of the run, the turn sent to the next destination at once, no retry spent — from a
refused *request* (400, 413, 422 …), which is not retried. Driven by the float clock, each call
scripted by its destination.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from floatclock import FloatClock, Service, Spy
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import build, destinations, provider

from capacity.config.loader import Configuration
from capacity.policy.actions import Call
from capacity.policy.build import build_core, seed_streams
from capacity.policy.pipeline import UNUSABLE_STATUSES, refuses_destination
from capacity.units import ErrorKind, Outcome, Served

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
REFUSAL = "HTTP 404: model_not_found: model 'm' was withdrawn on 2025-12-06"


def refusing(statuses: dict[str, int], latency_s: float = 0.25) -> Service:
    """Calls to provider ``p`` of ``statuses`` fail with that HTTP status (a 4xx); others answer."""

    def service(call: Call, now: float) -> tuple[str | None, float, float]:
        status = statuses.get(call.routed.destination.name.split("/")[0])
        if status is None:
            return None, 0.0, latency_s
        call.status, call.detail = status, f"HTTP {status}: refused"
        return ErrorKind.CLIENT_ERROR.value, latency_s, latency_s

    return service


def run(config: Configuration, service: Service, starts: list[float]) -> tuple[FloatClock, Spy]:
    spy = Spy()
    clock = FloatClock(build_core(config, START, seed_streams(1), spy), service)
    for i, t in enumerate(starts):
        clock.start(t, candidate=i)
    clock.run()
    return clock, spy


def test_only_the_destinations_own_statuses_refuse_it() -> None:
    assert {401, 403, 404, 410} == UNUSABLE_STATUSES
    assert all(refuses_destination("4xx", s) for s in (401, 403, 404, 410))
    assert not any(refuses_destination("4xx", s) for s in (400, 408, 413, 422, 429, None))
    assert not refuses_destination("5xx", 404)  # only a client error, whatever a server put in its status


def test_a_refused_destination_is_retired_and_the_turn_goes_on_elsewhere_at_once() -> None:
    """No retries at all (``max_retries: 0``): p0's 404 still sends the turn to p1 at once, and
    p0 is never asked again — not by the later interviews either."""
    config = build(
        [provider("p0"), provider("p1")],
        destinations("p0", "p1", max_retries=0, backoff_base_s=50.0, cooldown_s=1.0, on_deadline="fail"),
    )
    clock, spy = run(config, refusing({"p0": 404}), [0.0, 100.0, 200.0])
    sent = [(t, c.routed.destination.name, c.key[3]) for t, c in clock.calls]
    assert sent == [(0.0, "p0/m", 0), (0.25, "p1/m", 1), (100.0, "p1/m", 0), (200.0, "p1/m", 0)]
    assert spy.turns() == [(0.0, Served.PROVIDER, 0.5, 0.0), (100.0, Served.PROVIDER, 0.25, 0.0),
                           (200.0, Served.PROVIDER, 0.25, 0.0)]
    assert spy.outcomes() == [Outcome.COMPLETED] * 3
    p0 = clock.core.destinations[0]
    assert p0.cooldown_until == math.inf  # out of rotation, not a 1 s cool-down
    assert spy.of("call_failed") == [(p0, "4xx", "HTTP 404: refused")]  # the reason reaches the observer


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_refused_request_is_not_retried_and_its_destination_stays(status: int) -> None:
    config = build(
        [provider("p0"), provider("p1")],
        destinations("p0", "p1", max_retries=3, cooldown_s=5.0, on_deadline="fail"),
    )
    clock, spy = run(config, refusing({"p0": status}), [0.0, 100.0])
    assert [(t, c.routed.destination.name) for t, c in clock.calls] == [(0.0, "p0/m"), (100.0, "p0/m")]
    assert [how for _, how, _, _ in spy.turns()] == [Served.FAILED, Served.FAILED]
    assert clock.core.destinations[0].cooldown_until == 105.25  # a 5 s cool-down after each, never retired


def test_when_every_destination_refused_a_turn_fails_at_once_instead_of_waiting() -> None:
    """Both destinations retired by the first turn: it fails when the second refusal comes, and
    the next interview's turn fails at its start, with no call, not at its deadline."""
    config = build(
        [provider("p0"), provider("p1")],
        destinations("p0", "p1", max_retries=2, turn_deadline_s=600.0, on_deadline="fail", on_exhausted="queue"),
    )
    clock, spy = run(config, refusing({"p0": 401, "p1": 403}), [0.0, 100.0])
    assert [(t, c.routed.destination.name) for t, c in clock.calls] == [(0.0, "p0/m"), (0.25, "p1/m")]
    assert spy.turns() == [(0.0, Served.FAILED, 0.5, 0.0), (100.0, Served.FAILED, 0.0, 0.0)]
    assert spy.outcomes() == [Outcome.FAILED, Outcome.FAILED]


@settings(max_examples=25, deadline=None)
@given(
    statuses=st.lists(st.sampled_from([None, 401, 403, 404, 410]), min_size=1, max_size=4),
    starts=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=4),
)
def test_each_refusing_destination_is_asked_once_and_turns_complete_while_one_answers(
    statuses: list[int | None], starts: list[float]
) -> None:
    """Any mix of healthy and refusing destinations, interviews overlapping or not: a refusing
    destination is asked at most as often as interviews were in flight when it first refused
    (once, for interviews that do not overlap its first call), never after; every interview
    completes if one destination answers, and fails otherwise."""
    names = [f"p{i}" for i in range(len(statuses))]
    config = build(
        [provider(n) for n in names],
        destinations(*names, max_retries=0, turn_deadline_s=600.0, on_deadline="fail", on_exhausted="queue"),
    )
    refused = {n: s for n, s in zip(names, statuses, strict=True) if s is not None}
    clock, spy = run(config, refusing(refused), sorted(starts))
    for name in refused:
        asked = [t for t, c in clock.calls if c.routed.destination.name == f"{name}/m"]
        assert len(asked) <= len(starts)
        if asked:  # nothing is sent there after its first refusal came back
            assert all(t <= asked[0] + 0.25 for t in asked)
    healthy = len(refused) < len(names)
    assert spy.outcomes() == [Outcome.COMPLETED if healthy else Outcome.FAILED] * len(starts)
