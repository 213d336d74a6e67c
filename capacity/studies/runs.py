"""The runs a report is built from: a scenario's plan, its simulation and its capacity curve.

:func:`run_scenarios` plans every requested scenario and puts all their simulations — the
full runs and the short runs of each capacity curve — into one pool of worker processes
(:func:`~capacity.studies.runner.run_tasks`, longest first), so ``capacity report --all``
takes about the time of its longest runs on a machine with a few cores. Every run is seeded,
so the numbers do not depend on the number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capacity.config.loader import Configuration
from capacity.config.scenario import SeedClaims
from capacity.plan import plan as make_plan
from capacity.plan.result import PlanResult
from capacity.result import RunResult
from capacity.studies.runner import SimTask, TasksDone, distinct_runs, run_tasks
from capacity.studies.sweep import CapacityCurve, curve_from, curve_tasks

Progress = Callable[[str], None]
"""Told what is being done, in a few words."""


def curve_days(config: Configuration) -> int:
    """Horizon of the capacity curve's runs: two days (one where the demand lasts one)."""
    return min(2, config.scenario.demand.days)


@dataclass(frozen=True)
class ScenarioRun:
    """Everything a scenario page is built from."""

    config: Configuration
    plan: PlanResult
    result: RunResult
    curve: CapacityCurve | None


@dataclass(frozen=True)
class RunRequest:
    """A scenario to run for a page."""

    config: Configuration
    days: int | None = None
    """Days of demand to simulate (None: the scenario's)."""
    seed: int | None = None
    """Seed (None: the scenario's)."""
    curve: bool = True
    """Also run the capacity curve."""
    reference_claims: SeedClaims | None = None
    """The seed's claims, checked against this scenario's providers in its plan."""


@dataclass(frozen=True)
class PlannedRuns:
    """The runs of a set of report pages (:attr:`tasks`: each scenario's run and its curve's), before any ran."""

    requests: tuple[RunRequest, ...]
    plans: tuple[PlanResult, ...]
    main: tuple[int, ...]
    """Index in :attr:`tasks` of each request's own run."""
    curves: tuple[tuple[tuple[float, int], ...], ...]
    """(demand scale, index in :attr:`tasks`) of each request's capacity-curve runs."""
    tasks: tuple[SimTask, ...]

    def finish(self, results: Sequence[RunResult]) -> list[ScenarioRun]:
        """Each request's :class:`ScenarioRun`, from the results of :attr:`tasks` in task order."""
        out = []
        for req, plan, main, points in zip(self.requests, self.plans, self.main, self.curves, strict=True):
            seed = req.config.scenario.seed if req.seed is None else req.seed
            curve = (
                curve_from(
                    req.config, plan, [(f, results[i]) for f, i in points], days=curve_days(req.config), seed=seed
                )
                if points
                else None
            )
            out.append(ScenarioRun(req.config, plan, results[main], curve))
        return out


def plan_runs(requests: Sequence[RunRequest]) -> PlannedRuns:
    """Plan each request (static arithmetic) and lay out its simulations: its run, its curve's runs."""
    plans = tuple(make_plan(r.config, r.reference_claims) for r in requests)
    tasks: list[SimTask] = []
    main_index: list[int] = []
    curve_index: list[tuple[tuple[float, int], ...]] = []
    for req, plan in zip(requests, plans, strict=True):
        seed = req.config.scenario.seed if req.seed is None else req.seed
        main_index.append(len(tasks))
        tasks.append(SimTask(req.config, seed, req.days, req.config.scenario.name))
        points: list[tuple[float, int]] = []
        if req.curve:
            for factor, task in curve_tasks(req.config, plan, days=curve_days(req.config), seed=seed):
                points.append((factor, len(tasks)))
                tasks.append(task)
        curve_index.append(tuple(points))
    return PlannedRuns(tuple(requests), plans, tuple(main_index), tuple(curve_index), tuple(tasks))


def run_scenarios(
    requests: Sequence[RunRequest],
    jobs: int = 1,
    progress: Progress | None = None,
    *,
    done: TasksDone | None = None,
) -> list[ScenarioRun]:
    """Plan and simulate each request, and its capacity curve, with all runs in one pool of ``jobs``.

    ``progress`` is told what is being done, in words; ``done(finished, total, label)`` as each
    run finishes (a progress bar's feed; without it, ``progress`` gets a line per run)."""
    planned = plan_runs(requests)
    if progress:
        names = ", ".join(r.config.scenario.name for r in requests)
        curves = " and their capacity curves" if any(planned.curves) else ""
        progress(f"simulating {distinct_runs(planned.tasks)} runs ({names}{curves}) in {jobs} process(es)")
    return planned.finish(run_tasks(planned.tasks, jobs, done=progress_feed(progress, done)))


def progress_feed(progress: Progress | None, done: TasksDone | None) -> TasksDone:
    """What :func:`run_tasks` tells as each run ends: ``done``, else a line to ``progress`` (else nothing)."""

    def tell(finished: int, total: int, label: str) -> None:
        if done is not None:
            done(finished, total, label)
        elif progress:
            progress(f"  run {finished}/{total} done ({label})")

    return tell
