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
from capacity.studies.runner import SimTask, TasksDone, run_tasks
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
    plans = [make_plan(r.config, r.reference_claims) for r in requests]
    tasks: list[SimTask] = []
    main_index: list[int] = []
    curve_index: list[list[tuple[float, int]]] = []
    for req, plan in zip(requests, plans, strict=True):
        seed = req.config.scenario.seed if req.seed is None else req.seed
        main_index.append(len(tasks))
        tasks.append(SimTask(req.config, seed, req.days, req.config.scenario.name))
        points: list[tuple[float, int]] = []
        if req.curve:
            for factor, task in curve_tasks(req.config, plan, days=curve_days(req.config), seed=seed):
                points.append((factor, len(tasks)))
                tasks.append(task)
        curve_index.append(points)
    if progress:
        names = ", ".join(r.config.scenario.name for r in requests)
        curves = " and their capacity curves" if any(curve_index) else ""
        progress(f"simulating {len(tasks)} runs ({names}{curves}) in {jobs} process(es)")

    def tell(finished: int, total: int, label: str) -> None:
        if done is not None:
            done(finished, total, label)
        elif progress:
            progress(f"  run {finished}/{total} done ({label})")

    results = run_tasks(tasks, jobs, done=tell)
    out = []
    for req, plan, main, points in zip(requests, plans, main_index, curve_index, strict=True):
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
