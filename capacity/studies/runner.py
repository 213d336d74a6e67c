"""The one process-pool runner of every study: independent tasks, in parallel, in task order.

A study is made of *tasks* — a simulation (:class:`SimTask`), a probe of a sizing search, a
whole knee search. Each depends only on its own inputs (configuration, seed, horizon), so
tasks can run in any order and in any process and still give the same numbers, bit for bit:
:func:`run_tasks` runs them in up to ``processes`` worker processes (spawned, never forked: the
parent may hold threads), heaviest first so that the longest runs do not start last, and
returns the results in task order. With one process the tasks run here, one after the other,
and may report their simulated time as they go. The worker processes are the pool of
:func:`~capacity.studies.executors.run_on_processes`, the one that ``capacity sweep`` uses.

A simulation is run once per call however many tasks ask for it: two :class:`SimTask` with the
same :attr:`SimTask.run_key` (engine, seed, horizon and configuration) give the same
:class:`~capacity.result.RunResult` bit for bit, so the first one's result serves both — a
report's page of scenario B and a comparison's row of B, say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from capacity.config.loader import Configuration
from capacity.result import RunResult
from capacity.sim.fluid import simulate_fluid
from capacity.sim.model import simulate
from capacity.studies.demand import horizon_days
from capacity.studies.executors import SimClock, Task, TasksDone, run_on_processes

__all__ = [
    "Fidelity",
    "SimClock",
    "SimTask",
    "Task",
    "TaskClock",
    "TasksDone",
    "configuration_fingerprint",
    "demand_weight",
    "run_tasks",
]

T = TypeVar("T")

Fidelity = Literal["exact", "fluid"]
"""Which engine runs a simulation: every request (exact) or per-minute flows (fluid)."""

TaskClock = Callable[[str, float, float], None]
"""Told (label of the running task, simulated time now, end of its run), s; only when run here."""


def demand_weight(config: Configuration, days: int | None) -> float:
    """Interviews a run of ``days`` days (None: the scenario's horizon) simulates."""
    d = config.scenario.demand
    if d.kind == "per_day":
        return float(d.interviews * (days or d.days))
    return d.interviews * min(1.0, (days or d.days) / d.days)


@dataclass(frozen=True)
class SimTask:
    """One simulation: a configuration, a seed (None: the scenario's) and a horizon (None: the scenario's)."""

    config: Configuration
    seed: int | None
    days: int | None
    label: str
    fidelity: Fidelity = "exact"
    """exact: the discrete-event engine; fluid: per-minute aggregated flows (:mod:`capacity.sim.fluid`)."""

    @property
    def weight(self) -> float:
        """Interviews simulated."""
        return demand_weight(self.config, self.days)

    @property
    def run_key(self) -> tuple[str, int, int, str]:
        """What the run's numbers depend on: (engine, seed, days of demand, fingerprint of the configuration).

        Two tasks with the same key simulate the same thing and give the same result; the label
        is not part of it, and a horizon given as the scenario's own (B's ``days=1``) is the
        scenario's (``days=None``).
        """
        seed = self.config.scenario.seed if self.seed is None else self.seed
        return (self.fidelity, seed, horizon_days(self.config, self.days), configuration_fingerprint(self.config))

    def __call__(self, clock: SimClock | None = None) -> RunResult:
        """Simulate."""
        run = simulate_fluid if self.fidelity == "fluid" else simulate
        return run(self.config, seed=self.seed, days=self.days, progress=clock)


def configuration_fingerprint(config: Configuration) -> str:
    """SHA-256 of everything in ``config`` a run reads: the scenario, its providers and the GPU catalogue."""
    digest = hashlib.sha256(config.scenario.model_dump_json().encode())
    for name in sorted(config.providers):
        digest.update(name.encode())
        digest.update(config.providers[name].model_dump_json().encode())
    digest.update(config.gpu_catalog.model_dump_json().encode())
    return digest.hexdigest()


def _repeats(tasks: Sequence[Task[Any]]) -> dict[int, int]:
    """Each task that repeats an earlier simulation (same :attr:`SimTask.run_key`) → that earlier task."""
    distinct: dict[tuple[str, int, int, str], int] = {}
    same_as: dict[int, int] = {}
    for i, task in enumerate(tasks):
        if isinstance(task, SimTask):
            first = distinct.setdefault(task.run_key, i)
            if first != i:
                same_as[i] = first
    return same_as


def distinct_runs(tasks: Sequence[Task[Any]]) -> int:
    """How many of ``tasks`` :func:`run_tasks` runs (and counts): repeats of a simulation run once."""
    return len(tasks) - len(_repeats(tasks))


def run_tasks(
    tasks: Sequence[Task[T]],
    processes: int = 1,
    *,
    done: TasksDone | None = None,
    clock: TaskClock | None = None,
) -> list[T]:
    """Run ``tasks`` (``processes`` > 1: in that many worker processes); results in task order.

    ``done`` is told after each distinct run (tasks that repeat an earlier simulation are not
    run again, nor counted); ``clock`` the simulated time of the task running, when they run
    here (``processes`` ≤ 1). Each task depends only on itself, so the numbers are the same
    however many processes run them. An exception of a task propagates; Ctrl-C stops the
    workers at once.
    """
    same_as = _repeats(tasks)
    todo = sorted((i for i in range(len(tasks)) if i not in same_as), key=lambda i: -tasks[i].weight)
    # heaviest first (stable: ties keep task order)
    total = len(todo)
    results: dict[int, T] = {}
    if processes <= 1 or total <= 1:
        for finished, i in enumerate(todo, start=1):
            task = tasks[i]
            results[i] = task(partial(clock, task.label) if clock is not None else None)
            if done is not None:
                done(finished, total, task.label)
    else:
        runs = run_on_processes([tasks[i] for i in todo], workers=processes, done=done)
        results.update(zip(todo, runs, strict=True))
    return [results[same_as.get(i, i)] for i in range(len(tasks))]
