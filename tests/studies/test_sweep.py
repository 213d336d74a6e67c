"""The capacity curve: demand scaling, the grid of scales, and the knee."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from capacity.config import Configuration
from capacity.plan import plan as make_plan
from capacity.studies.demand import scale_demand
from capacity.studies.sweep import CapacityCurve, CurvePoint, capacity_curve, scales

SMALL = ("demand.interviews=2000", "candidates.count=200")


def _point(offered: float, share: float, p95: float) -> CurvePoint:
    return CurvePoint(
        scale=offered / 100,
        offered_per_day=offered,
        carried_per_day=offered * share,
        carried_share=share,
        p95_turn_latency_s=p95,
        sla_p95_turn_latency_s=3.0,
    )


def test_scaling_multiplies_interviews_and_candidates_together(config_a: Configuration) -> None:
    half = scale_demand(config_a, 0.5)
    assert half.scenario.demand.interviews == 25_000
    assert half.scenario.candidates.count == 2_500
    assert half.scenario.candidates.interviews_each == config_a.scenario.candidates.interviews_each
    assert config_a.scenario.demand.interviews == 50_000  # the original is untouched (frozen)
    # the one scale_demand moves in whole candidates: the least demand is one candidate's 10 interviews
    assert scale_demand(config_a, 1e-9).scenario.demand.interviews == 10


def test_scales_span_the_need_and_the_static_capacity(
    config_a: Configuration, config_b: Configuration
) -> None:
    for config in (config_a, config_b):
        plan = make_plan(config)
        grid = scales(plan)
        need, capacity = plan.demand.need_interviews_per_day, plan.totals.interviews_per_day
        assert 1.0 in grid
        assert grid == sorted(grid)
        # scales are rounded to 4 decimals (stable labels): within half a unit of the 4th decimal
        # (B's low end: 0.25 × 1,070 ÷ 50,000 = 0.00535 → 0.0054)
        assert min(grid) <= 0.25 * min(need, capacity) / need + 0.5e-4
        assert max(grid) >= 2 * max(need, capacity) / need - 0.5e-4


def test_the_knee_is_the_last_point_of_the_leading_run_within_target() -> None:
    curve = CapacityCurve(
        "X",
        2,
        1,
        (_point(100, 1.0, 1.0), _point(200, 0.995, 2.0), _point(300, 0.9, 9.0), _point(400, 1.0, 1.0)),
        need_per_day=200,
    )
    assert curve.knee is not None
    assert curve.knee.offered_per_day == 200  # 400 passes again, but after a failure: not the knee
    slow = CapacityCurve(
        "X", 2, 1, (_point(100, 1.0, 4.0), _point(200, 1.0, 4.0), _point(300, 0.5, 20.0)), 200
    )
    assert slow.knee is None
    assert slow.carried_knee is not None
    assert slow.carried_knee.offered_per_day == 200
    assert CapacityCurve("X", 1, 1, (_point(100, 0.5, 4.0),), 100).carried_knee is None


def test_a_small_sweep_carries_less_share_as_demand_grows(
    load_scenario: Callable[..., Configuration],
) -> None:
    config = load_scenario("A", *SMALL)
    curve = capacity_curve(config, make_plan(config), days=1, factors=[1.0, 30.0])
    small, large = curve.points
    assert small.scale == 1.0
    assert curve.need_per_day == pytest.approx(small.offered_per_day)
    assert large.offered_per_day > 25 * small.offered_per_day
    assert large.carried_share < small.carried_share
