"""Demand of a study: the one scale_demand, interviewing days of a run, and the month basis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.loader import Configuration
from capacity.config.scenario import Scenario
from capacity.errors import UsageError
from capacity.plan import plan as make_plan
from capacity.studies.demand import (
    horizon_days,
    month_days,
    need_per_interviewing_day,
    run_interviewing_days,
    runs_per_month,
    scale_demand,
)


@settings(max_examples=60, deadline=None)
@given(factor=st.floats(min_value=1e-6, max_value=20.0))
def test_scaled_demand_is_a_valid_scenario_in_whole_candidates(config_a: Configuration, factor: float) -> None:
    scaled = scale_demand(config_a, factor).scenario
    each = config_a.scenario.candidates.interviews_each
    assert scaled.candidates.count == max(1, round(5_000 * factor))
    assert scaled.candidates.interviews_each == each  # every candidate keeps its 10 interviews
    assert scaled.demand.interviews == scaled.candidates.count * each
    assert (scaled.demand.kind, scaled.demand.days) == ("total", 30)
    Scenario.model_validate(scaled.model_dump())  # the scenario's own check: count × each = interviews


@given(low=st.floats(min_value=1e-4, max_value=10.0), high=st.floats(min_value=1e-4, max_value=10.0))
def test_more_scale_never_less_demand(config_b: Configuration, low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert (
        scale_demand(config_b, low).scenario.demand.interviews
        <= scale_demand(config_b, high).scenario.demand.interviews
    )


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan")])
def test_a_scale_must_be_positive(config_a: Configuration, factor: float) -> None:
    with pytest.raises(UsageError, match="demand scale must be positive"):
        scale_demand(config_a, factor)


def test_interviewing_days_of_a_run(config_a: Configuration, config_b: Configuration) -> None:
    # A starts on Monday 2025-10-06: 5 weekdays in its first week, 22 in its 30 days
    assert run_interviewing_days(config_a, 5) == 5
    assert run_interviewing_days(config_a, 7) == 5
    assert run_interviewing_days(config_a) == 22
    assert run_interviewing_days(config_a, 60) == 22  # a monthly demand caps the horizon at its own
    assert horizon_days(config_a, 60) == 30
    assert run_interviewing_days(config_b) == 1  # B: its one day
    assert horizon_days(config_b, 3) == 3  # a daily demand repeats for as many days as asked
    assert need_per_interviewing_day(config_a) == pytest.approx(50_000 / 22)
    assert need_per_interviewing_day(config_b) == 50_000


def test_one_month_basis_for_every_calendar(
    config_a: Configuration, load_scenario: Callable[..., Configuration]
) -> None:
    allday = load_scenario("B-gpu-24h")
    assert month_days(config_a) == 22  # weekdays
    assert month_days(allday) == 30  # every day of a 24/7 calendar
    for config in (config_a, allday):
        assert make_plan(config).demand.business_days_per_month == month_days(config)  # the plan's month too
    assert runs_per_month(config_a, 5) == pytest.approx(22 / 5)
    assert runs_per_month(allday, 1) == 30
