"""Sizing with the simulator: monotone in servers, bounded by the roofline, and its searches.

The configurations are scenario B-gpu shrunk until each run takes a fraction of a second:
200 interviews, and a slow server (an L4 running one sequence at a time, questions of 1,500
tokens) so that a few servers are overloaded and the drain day does not hide it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.studies.demand import scale_demand
from capacity.studies.sizing import (
    Probe,
    _guided,
    _interior,
    knee,
    knees,
    latency_floor,
    min_servers,
    probe,
    roofline_interviews_per_day,
)
from capacity.studies.target import Target
from capacity.studies.variants import sized_pool, with_servers

TINY = ("demand.interviews=200", "candidates.count=20")
SLOW = (
    *TINY,
    "gpu_pools.0.gpu=l4",
    "gpu_pools.0.max_batch=1",
    "script.stages.question.output_tokens={kind: constant, value: 1500}",
    "script.stages.question.max_output_tokens=1500",
)
POOL = "rtx4090x3"


@pytest.fixture(scope="module")
def slow(load_scenario: Callable[..., Configuration]) -> Configuration:
    """B-gpu on slow L4 servers, 200 interviews: one server carries a fraction of them."""
    return load_scenario("B-gpu", *SLOW)


def test_more_servers_never_carry_fewer_interviews(slow: Configuration) -> None:
    target = Target(p95_turn_latency_s=600.0)
    runs = [probe(with_servers(slow, POOL, n), target, servers=n) for n in (1, 2, 3, 5)]
    carried = [p.carried_share for p in runs]
    latency = [p.p95_turn_latency_s for p in runs]
    assert carried == sorted(carried)
    assert latency == sorted(latency, reverse=True)
    assert carried[0] < 0.5  # one server is far short
    assert carried[-1] == 1.0  # five carry every interview
    assert all(p.requested == 200 for p in runs)
    assert [p.met for p in runs] == [False, False, True, True]


def test_min_servers_finds_the_least_fleet_and_certifies_it(slow: Configuration) -> None:
    target = Target(p95_turn_latency_s=600.0)
    fleet = min_servers(slow, target)
    assert fleet.servers == 3
    by_count = {p.servers: p for p in fleet.probes}
    assert by_count[3].met
    assert not by_count[2].met  # certified: one fewer misses
    assert fleet.reason == "3 servers meet the target and 2 do not"
    # the roofline bound (the day's work within 12 active hours) is 7 servers, but a 600 s
    # target lets the backlog run into the night: the search walked down from it
    assert fleet.roofline_servers == 7
    assert by_count[7].met
    # every probe agrees with monotonicity: misses below the answer, meets above it
    assert all(p.met == (p.servers >= 3) for p in fleet.probes)
    # the floor gives every candidate of the trickle a server: nobody queues
    assert fleet.floor.servers == 10


def test_min_servers_says_no_fleet_when_an_idle_server_is_too_slow(slow: Configuration) -> None:
    fleet = min_servers(slow, Target(p95_turn_latency_s=2.0))
    assert fleet.servers is None
    assert fleet.probes == ()
    assert fleet.floor.p95_turn_latency_s > 2.0
    assert "no fleet meets the target" in fleet.reason


def test_an_idle_rtx4090_is_slower_than_three_seconds_at_p95(
    load_scenario: Callable[..., Configuration],
) -> None:
    # the turns a candidate waits for: 60-token questions and 120-token evaluations after a
    # prompt of up to 5,000 tokens; at ≈ 50 tokens/s in fp16 the slowest 5 % take ≈ 3.4 s on an
    # idle card, however many cards there are; int8 weights read half the bytes a token
    config = load_scenario("B-gpu", *TINY)
    floor = latency_floor(config, Target(p95_turn_latency_s=3.0), pool=POOL, servers=10)
    assert 3.0 < floor.p95_turn_latency_s < 4.0
    assert floor.p95_ttft_s < 1.0
    assert not floor.met
    assert (floor.requested, floor.servers) == (100, 10)
    int8 = load_scenario("B-gpu", *TINY, "gpu_pools.0.precision=int8")
    quick = latency_floor(int8, Target(p95_turn_latency_s=3.0), pool=POOL, servers=10)
    assert quick.met
    assert quick.p95_turn_latency_s < 0.7 * floor.p95_turn_latency_s


def test_knee_is_bracketed_and_under_the_roofline(load_scenario: Callable[..., Configuration]) -> None:
    # one RTX 4090 running one sequence at a time: the knee is a few hundred interviews a day
    one = load_scenario("B-gpu", *TINY, "gpu_pools.0.servers=1", "gpu_pools.0.max_batch=1")
    result = knee(one, Target(p95_turn_latency_s=20.0), rel_tol=0.25)
    assert result.scale is not None
    assert result.upper_scale is not None
    assert result.upper_scale / result.scale <= 1.25 + 1e-9
    met = [p for p in result.probes if p.met]
    missed = [p for p in result.probes if not p.met]
    assert max(p.scale for p in met) == result.scale
    assert min(p.scale for p in missed) == result.upper_scale
    # monotone along the search: every met demand is below every missed one
    assert max(p.offered_per_day for p in met) < min(p.offered_per_day for p in missed)
    assert result.interviews_per_day is not None
    assert 200 < result.interviews_per_day < 400
    # a simulated server never carries more than the roofline's full-batch bound over the active hours
    bound = roofline_interviews_per_day(one, sized_pool(one))
    assert bound == pytest.approx(632.6, rel=0.01)
    assert result.interviews_per_day <= bound


def test_knees_at_two_targets_share_their_runs_and_find_what_each_finds_alone(
    load_scenario: Callable[..., Configuration],
) -> None:
    one = load_scenario("B-gpu", *TINY, "gpu_pools.0.servers=1", "gpu_pools.0.max_batch=1")
    turn, ttft = Target(p95_turn_latency_s=20.0), Target(p95_turn_latency_s=None, p95_ttft_s=5.0)
    shared = knees(one, (turn, ttft), rel_tol=0.5)  # coarse: the sharing, not the precision
    second, alone = shared[1], knee(one, ttft, rel_tol=0.5)  # the second search, as it runs alone
    assert (second.scale, second.upper_scale) == (alone.scale, alone.upper_scale)
    assert second.scale is not None and second.upper_scale is not None
    # the same runs, the same judgements
    assert [replace(p, wall_time_s=0.0, why="") for p in second.probes] == [
        replace(p, wall_time_s=0.0, why="") for p in alone.probes
    ]
    reused = [p for p in second.probes if p.wall_time_s == 0.0]
    assert all(p.why.endswith("of another target's search") for p in reused)
    first_scales = {p.scale for p in shared[0].probes}
    assert reused and {p.scale for p in reused} <= first_scales  # the floor and the shared steps: not run again
    assert all(p.wall_time_s > 0 for p in second.probes if p.scale not in first_scales)


def test_knee_of_a_plan_that_misses_even_a_trickle(slow: Configuration) -> None:
    result = knee(with_servers(slow, POOL, 1), Target(p95_turn_latency_s=600.0))
    assert result.scale is None
    assert result.interviews_per_day is None
    assert result.probes == ()
    assert "not even a trickle" in result.reason


def test_scale_demand_keeps_interviews_per_candidate(load_scenario: Callable[..., Configuration]) -> None:
    config = load_scenario("B-gpu")
    half = scale_demand(config, 0.5).scenario
    assert (half.candidates.count, half.demand.interviews) == (2_500, 25_000)
    tiny = scale_demand(config, 1e-9).scenario
    assert (tiny.candidates.count, tiny.demand.interviews) == (1, 10)
    with pytest.raises(UsageError):
        scale_demand(config, 0.0)


def test_the_pool_to_size_must_be_named_when_ambiguous(load_scenario: Callable[..., Configuration]) -> None:
    with pytest.raises(UsageError, match="no gpu_pools"):
        sized_pool(load_scenario("B"))
    with pytest.raises(UsageError, match="no gpu pool 'x'"):
        sized_pool(load_scenario("B-gpu"), "x")
    assert sized_pool(load_scenario("B-gpu")).servers == 3
    with pytest.raises(UsageError):
        with_servers(load_scenario("B-gpu"), POOL, 0)
    assert math.isfinite(roofline_interviews_per_day(load_scenario("B-gpu"), sized_pool(load_scenario("B-gpu"))))


def _probe(servers: int, p95_ttft_s: float, met: bool) -> Probe:
    return Probe(servers, 1.0, 1000, 1000.0, 1000.0, 1.0, 2.0, p95_ttft_s, met, 1.0)


def test_the_search_probes_where_the_misses_point() -> None:
    # B-gpu's search for p95 TTFT ≤ 1 s: 14 servers (the roofline) miss at 87.6 s, 21 meet at
    # 0.73 s; the miss shrinks about linearly in servers, so the boundary is just under 21:
    # 20 is the count to try (if it misses, 21 is certified at once), and 16 bisects the rest
    target = Target(p95_turn_latency_s=None, p95_ttft_s=1.0)
    lo, hi = _probe(14, 87.6, met=False), _probe(21, 0.73, met=True)
    assert _guided(lo, hi, target, 2, guide=True) == {16: "bisecting", 20: "where the misses point"}
    assert _guided(lo, hi, target, 1, guide=True) == {20: "where the misses point"}
    assert _interior(14, 21, 1) == [18]
    assert _guided(lo, hi, target, 1, guide=False) == {18: "bisecting"}
    # the estimate never leaves the bracket, and a count is never tried twice
    assert _guided(_probe(20, 87.6, False), hi, target, 3, guide=True) == {}
    assert _guided(_probe(18, 5.0, False), hi, target, 3, guide=True) == {19: "bisecting", 20: "where the misses point"}
    # an unmeasured latency (no call made) gives no estimate: bisection
    assert _guided(_probe(14, math.nan, False), hi, target, 1, guide=True) == {18: "bisecting"}


def test_min_servers_guided_finds_what_trying_every_count_finds(slow: Configuration) -> None:
    target = Target(p95_turn_latency_s=600.0)
    every = [probe(with_servers(slow, POOL, n), target, servers=n) for n in range(1, 8)]
    least = min(p.servers for p in every if p.met)
    for jobs in (1, 2):
        fleet = min_servers(slow, target, jobs=jobs)
        assert fleet.servers == least
        by_count = {p.servers: p for p in fleet.probes}
        assert by_count[least].met and not by_count[least - 1].met
        # each probe says which round tried it and why; the first round starts at the roofline
        assert all(p.why.startswith("round ") for p in fleet.probes)
        assert by_count[fleet.roofline_servers].why == "round 1: the roofline's bound"
        assert fleet.floor.why.startswith("the latency floor")
