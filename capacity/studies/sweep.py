"""The capacity curve: the scenario run at several demand scales, and its knee.

Each point scales the scenario's demand with :func:`~capacity.studies.demand.scale_demand`
(candidates scaled, each keeping its interviews) and simulates a short horizon at the
scenario's seed. Offered load is the run's demand in interviews per day (of the simulated
days); carried is the interviews completed or degraded per day. The **knee**
(:func:`~capacity.studies.target.knee_of`) is the largest offered load such that it, and
every smaller one, meets the scenario's target (≥ 99 % carried, p95 turn latency within the
service level): beyond it, the plan loses interviews or stalls them. Where no load meets the
latency target (slow models: a 600-token answer at 120 tokens/s takes 5 s whatever the load),
the *carried knee* — the same without the latency condition — still says how many interviews
a day the quotas carry.

Scales are spaced geometrically from a quarter of the smaller of (need, static-plan
capacity) to twice the larger, so the curve spans the knee whether the plan is short
(scenario B: capacity 3 % of the need) or generous; the scenario's own demand (scale 1) is
always a point. Short horizons keep it fast: monthly caps that bind only late in a month do
not show here (the full run's figures show them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capacity.config.loader import Configuration
from capacity.plan.result import PlanResult
from capacity.result import RunResult
from capacity.studies.demand import scale_demand
from capacity.studies.runner import SimTask, TasksDone, run_tasks
from capacity.studies.target import CARRIED_SHARE, Target, knee_of

POINTS = 8
"""Scales in the geometric grid (the scenario's own demand is added to them)."""


@dataclass(frozen=True)
class CurvePoint:
    """One run of the sweep."""

    scale: float
    """Demand ÷ the scenario's demand."""
    offered_per_day: float
    """Interviews requested per simulated day."""
    carried_per_day: float
    """Interviews completed or degraded per simulated day."""
    carried_share: float
    """Carried ÷ requested (1 when nothing was requested: :attr:`~capacity.result.RunResult.carried_share`)."""
    p95_turn_latency_s: float
    sla_p95_turn_latency_s: float

    @property
    def within(self) -> bool:
        """Carried at ≥ 99 % within the latency target (the scenario's :class:`~capacity.studies.target.Target`)."""
        return Target(p95_turn_latency_s=self.sla_p95_turn_latency_s).met(self.carried_share, self.p95_turn_latency_s)

    @property
    def carried_enough(self) -> bool:
        """Carried at ≥ 99 %, latency aside."""
        return self.carried_share >= CARRIED_SHARE


@dataclass(frozen=True)
class CapacityCurve:
    """The sweep's points, in increasing offered load, and its knee."""

    scenario: str
    days: int
    seed: int
    points: tuple[CurvePoint, ...]
    need_per_day: float
    """The scenario's own demand, interviews per simulated day (its scale-1 point)."""

    @property
    def knee(self) -> CurvePoint | None:
        """The largest offered load that it and every smaller one carried ≥ 99 % within the SLA."""
        return knee_of(self.points, lambda p: p.within)

    @property
    def carried_knee(self) -> CurvePoint | None:
        """The largest offered load that it and every smaller one carried ≥ 99 %, latency aside."""
        return knee_of(self.points, lambda p: p.carried_enough)


def scales(plan: PlanResult, points: int = POINTS) -> list[float]:
    """Demand scales of the sweep: geometric around the need and the static capacity, plus 1."""
    need = plan.demand.need_interviews_per_day
    capacity = plan.totals.interviews_per_day
    if not math.isfinite(capacity) or capacity <= 0:
        capacity = need
    low = 0.25 * min(need, capacity) / need
    high = 2.0 * max(need, capacity) / need
    grid = np.geomspace(low, high, points)
    return sorted({round(float(s), 4) for s in [*grid, 1.0]})


def point(result: RunResult, scale: float) -> CurvePoint:
    """A curve point from the run at ``scale``."""
    return CurvePoint(
        scale=scale,
        offered_per_day=result.interviews.requested / result.days if result.days else 0.0,
        carried_per_day=result.carried_interviews_per_day,
        carried_share=result.carried_share,
        p95_turn_latency_s=result.turn_latency_s.p95,
        sla_p95_turn_latency_s=result.sla_p95_turn_latency_s,
    )


def curve_tasks(
    config: Configuration,
    plan: PlanResult,
    *,
    days: int,
    seed: int | None = None,
    factors: Sequence[float] | None = None,
) -> list[tuple[float, SimTask]]:
    """The runs of a sweep: (scale, task) for each demand scale."""
    seed = config.scenario.seed if seed is None else seed
    name = config.scenario.name
    return [
        (f, SimTask(scale_demand(config, f), seed, days, f"{name} demand × {f:g}"))
        for f in (factors if factors is not None else scales(plan))
    ]


def curve_from(
    config: Configuration, plan: PlanResult, runs: Sequence[tuple[float, RunResult]], *, days: int, seed: int
) -> CapacityCurve:
    """Assemble the curve from the sweep's runs."""
    points = sorted((point(r, f) for f, r in runs), key=lambda p: (p.offered_per_day, p.scale))
    own = next((p for p in points if p.scale == 1.0), None)
    return CapacityCurve(
        scenario=config.scenario.name,
        days=days,
        seed=seed,
        points=tuple(points),
        need_per_day=own.offered_per_day if own else plan.demand.need_interviews_per_day,
    )


def capacity_curve(
    config: Configuration,
    plan: PlanResult,
    *,
    days: int,
    seed: int | None = None,
    factors: Sequence[float] | None = None,
    jobs: int = 1,
    progress: TasksDone | None = None,
) -> CapacityCurve:
    """Run the sweep (``jobs`` > 1: in that many processes; the numbers do not change)."""
    seed = config.scenario.seed if seed is None else seed
    tasks = curve_tasks(config, plan, days=days, seed=seed, factors=factors)
    results = run_tasks([t for _, t in tasks], jobs, done=progress)
    return curve_from(
        config, plan, [(f, r) for (f, _), r in zip(tasks, results, strict=True)], days=days, seed=seed
    )
