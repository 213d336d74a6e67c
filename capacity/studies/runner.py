"""The one process-pool runner of every study: independent tasks, in parallel, in task order.

A study is made of *tasks* — a simulation (:class:`SimTask`), a probe of a sizing search, a
whole knee search. Each depends only on its own inputs (configuration, seed, horizon), so
tasks can run in any order and in any process and still give the same numbers, bit for bit:
:func:`run_tasks` runs them in up to ``processes`` worker processes (spawned, never forked: the
parent may hold threads), heaviest first so that the longest runs do not start last, and
returns the results in task order. With one process the tasks run here, one after the other,
and may report their simulated time as they go.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol, TypeVar

from capacity.config.loader import Configuration
from capacity.result import RunResult
from capacity.sim.fluid import simulate_fluid
from capacity.sim.model import simulate

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

SimClock = Callable[[float, float], None]

Fidelity = Literal["exact", "fluid"]
"""Which engine runs a simulation: every request (exact) or per-minute flows (fluid)."""
"""Told (simulated time now, end of the run), s, as one simulation advances."""

TasksDone = Callable[[int, int, str], None]
"""Told (tasks finished, tasks in all, label of the task that just finished)."""

TaskClock = Callable[[str, float, float], None]
"""Told (label of the running task, simulated time now, end of its run), s; only when run here."""


class Task(Protocol[T_co]):
    """One independent piece of a study; picklable, so that a worker process can run it."""

    @property
    def label(self) -> str:
        """What the task is, in a few words (for progress)."""
        ...

    @property
    def weight(self) -> float:
        """Rough cost, to start the heaviest tasks first: interviews it simulates."""
        ...

    def __call__(self, clock: SimClock | None = None) -> T_co:
        """Run the task (``clock``: told the simulated time as a simulation advances)."""
        ...


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

    def __call__(self, clock: SimClock | None = None) -> RunResult:
        """Simulate."""
        run = simulate_fluid if self.fidelity == "fluid" else simulate
        return run(self.config, seed=self.seed, days=self.days, progress=clock)


def run_tasks(
    tasks: Sequence[Task[T]],
    processes: int = 1,
    *,
    done: TasksDone | None = None,
    clock: TaskClock | None = None,
) -> list[T]:
    """Run ``tasks`` (``processes`` > 1: in that many worker processes); results in task order.

    ``done`` is told after each task; ``clock`` the simulated time of the task running, when
    they run here (``processes`` ≤ 1). Each task depends only on itself, so the numbers are the
    same however many processes run them. An exception of a task propagates.
    """
    total = len(tasks)
    order = sorted(range(total), key=lambda i: -tasks[i].weight)  # stable: ties keep task order
    results: dict[int, T] = {}
    if processes <= 1 or total <= 1:
        for finished, i in enumerate(order, start=1):
            task = tasks[i]
            results[i] = task(partial(clock, task.label) if clock is not None else None)
            if done is not None:
                done(finished, total, task.label)
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        with ProcessPoolExecutor(max_workers=min(processes, total), mp_context=context) as pool:
            futures = {pool.submit(tasks[i]): i for i in order}
            for finished, future in enumerate(as_completed(futures), start=1):
                i = futures[future]
                results[i] = future.result()
                if done is not None:
                    done(finished, total, tasks[i].label)
    return [results[i] for i in range(total)]
