"""The one service-level target, carried and carried share of a run, and the one knee."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.config.loader import Configuration
from capacity.report.verdict import judge
from capacity.result import InterviewCounts
from capacity.sim.model import simulate
from capacity.studies.target import CARRIED_SHARE, Target, carries, knee_of


def _counts(completed: int, degraded: int, failed: int, unfinished: int) -> InterviewCounts:
    requested = completed + degraded + failed + unfinished
    return InterviewCounts(
        requested=requested, completed=completed, degraded=degraded, failed=failed, unfinished=unfinished
    )


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_carried_is_completed_plus_degraded_and_its_share_a_fraction(
    completed: int, degraded: int, failed: int, unfinished: int
) -> None:
    iv = _counts(completed, degraded, failed, unfinished)
    assert iv.carried == completed + degraded
    assert 0.0 <= iv.carried_share <= 1.0
    if iv.requested:
        assert iv.carried_share == iv.carried / iv.requested
    else:
        assert iv.carried_share == 1.0  # nothing asked, nothing missed


def test_an_empty_run_carried_all_of_nothing(load_scenario: Callable[..., Configuration]) -> None:
    # scenario A starting on a Saturday, one day of it: no interviewing day, no interview
    config = load_scenario("A", "calendar.start_date=2025-10-04", "demand.interviews=200", "candidates.count=20")
    result = simulate(config, days=1)
    assert result.interviews.requested == 0
    assert (result.carried, result.carried_share) == (0, 1.0)
    assert carries(result)  # the scenario's target is met vacuously …
    assert judge(result, config).carries  # … and the verdict agrees with it
    assert "carries" not in result.model_dump()  # properties, not fields: the JSON is unchanged


def test_the_target_is_met_at_its_limits_and_missed_just_past_them() -> None:
    target = Target(p95_turn_latency_s=3.0, p95_ttft_s=1.0)
    assert target.carried_share == CARRIED_SHARE == 0.99
    assert target.met(0.99, 3.0, 1.0)
    assert not target.met(0.9899, 3.0, 1.0)
    assert not target.met(1.0, 3.0001, 1.0)
    assert not target.met(1.0, 3.0, 1.0001)
    assert target.met(1.0, 3.0)  # time to first token not measured: not held against the run
    loose = Target(p95_turn_latency_s=None)
    assert loose.met(0.995, 600.0, 60.0)  # only the carried share is checked
    assert loose.describe() == "≥ 99% carried"
    assert target.describe() == "≥ 99% carried, p95 turn latency ≤ 3 s, p95 time to first token ≤ 1 s"


def test_the_knee_of_a_known_curve() -> None:
    # (offered interviews a day, met): met up to 300, missed at 400, met again at 500 (noise)
    curve = [(100, True), (200, True), (300, True), (400, False), (500, True)]
    assert knee_of(curve, lambda p: p[1]) == (300, True)
    assert knee_of(curve[:3], lambda p: p[1]) == (300, True)  # never missed: the largest tried
    assert knee_of([(100, False), (200, True)], lambda p: p[1]) is None  # misses from the start
    assert knee_of([], lambda p: True) is None


@given(st.lists(st.booleans(), max_size=30))
def test_every_point_up_to_the_knee_meets_and_the_next_misses(met: list[bool]) -> None:
    points = list(enumerate(met))
    knee = knee_of(points, lambda p: p[1])
    if knee is None:
        assert not met or not met[0]
        return
    i = knee[0]
    assert all(met[: i + 1])
    assert i == len(met) - 1 or not met[i + 1]


@pytest.mark.parametrize(("share", "p95", "expected"), [(1.0, 2.9, True), (0.98, 2.9, False), (1.0, 3.1, False)])
def test_carries_is_the_scenarios_own_target(
    share: float, p95: float, expected: bool, load_scenario: Callable[..., Configuration]
) -> None:
    base = simulate(load_scenario("A", "demand.interviews=200", "candidates.count=20"), days=1)
    requested = 1000
    carried = round(share * requested)
    iv = InterviewCounts(requested=requested, completed=carried, degraded=0, failed=requested - carried, unfinished=0)
    quantiles = base.turn_latency_s.model_copy(update={"p95": p95})
    run = base.model_copy(update={"interviews": iv, "turn_latency_s": quantiles, "sla_p95_turn_latency_s": 3.0})
    assert carries(run) is expected
    assert Target.of_service_level(run) == Target(p95_turn_latency_s=3.0)
