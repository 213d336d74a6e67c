"""Demand of a study: scaled demand, interviewing days of a run, and the month basis.

**Scaling demand.** :func:`scale_demand` is the one way a study changes how much is asked of a
plan (the capacity curve's points, the knee and the sizing searches, the latency floor): it
scales the number of *candidates* and keeps each candidate's interviews, so a scaled scenario
is still a valid one (``candidates.count × candidates.interviews_each = demand.interviews``)
and each candidate still has the interviews — and the resume-cache behaviour — of the original.
The demand therefore moves in whole candidates: × 0.1729 of scenario A (5,000 candidates × 10)
is 865 candidates, 8,650 interviews.

**Interviewing days.** Figures "per interviewing day" divide by the days of the run on which
interviews happen (:func:`run_interviewing_days`); a month is the calendar's interviewing days
in 30 days (:func:`capacity.workload.calendar.interviewing_days_per_month`: 22 on weekdays, 30
for 24/7), and a run's totals scale to a month by :func:`runs_per_month`.
"""

from __future__ import annotations

import dataclasses

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.workload.calendar import interviewing_days, interviewing_days_per_month


def scale_demand(config: Configuration, factor: float) -> Configuration:
    """``config`` with its demand × ``factor``, in whole candidates (at least one), interviews each kept.

    Raises UsageError when ``factor`` is not positive.
    """
    if not factor > 0:
        raise UsageError(f"a demand scale must be positive, got {factor}")
    sc = config.scenario
    count = max(1, round(sc.candidates.count * factor))
    demand = sc.demand.model_copy(update={"interviews": count * sc.candidates.interviews_each})
    candidates = sc.candidates.model_copy(update={"count": count})
    return dataclasses.replace(config, scenario=sc.model_copy(update={"demand": demand, "candidates": candidates}))


def horizon_days(config: Configuration, days: int | None = None) -> int:
    """Days of demand a run of ``days`` covers (None: the scenario's; a total demand caps it at its own)."""
    demand = config.scenario.demand
    if days is None:
        return demand.days
    return min(days, demand.days) if demand.kind == "total" else days


def run_interviewing_days(config: Configuration, days: int | None = None) -> int:
    """Interviewing days of a run of ``days`` days of ``config`` (None: the scenario's horizon); at least 1."""
    return interviewing_days(config.scenario.calendar, horizon_days(config, days))


def need_per_interviewing_day(config: Configuration) -> float:
    """The scenario's demand per interviewing day (A: 50,000 ÷ 22; B: 50,000)."""
    sc = config.scenario
    if sc.demand.kind == "per_day":
        return float(sc.demand.interviews)
    return sc.demand.interviews / run_interviewing_days(config)


def month_days(config: Configuration) -> int:
    """Interviewing days in a month of the scenario's calendar (22 on weekdays, 30 for 24/7)."""
    return interviewing_days_per_month(config.scenario.calendar)


def runs_per_month(config: Configuration, days: int) -> float:
    """How many runs of ``days`` days make a month: interviewing days a month ÷ those of the run."""
    return month_days(config) / run_interviewing_days(config, days)
