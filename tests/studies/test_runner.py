"""The one process-pool runner: results in task order, heaviest first, the same numbers in any process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from capacity.config.loader import Configuration
from capacity.studies.runner import SimClock, SimTask, demand_weight, distinct_runs, run_tasks


@dataclass(frozen=True)
class Draw:
    """A picklable task: a few numbers from its own seeded generator (its weight says how heavy it is)."""

    seed: int
    weight: float

    @property
    def label(self) -> str:
        return f"draw {self.seed}"

    def __call__(self, clock: SimClock | None = None) -> list[float]:
        if clock is not None:
            clock(0.0, 1.0)
            clock(1.0, 1.0)
        return [float(x) for x in np.random.default_rng(self.seed).random(3)]


TASKS = [Draw(1, 1.0), Draw(2, 5.0), Draw(3, 3.0), Draw(4, 5.0)]


def test_results_come_back_in_task_order_and_the_heaviest_run_first() -> None:
    finished: list[tuple[int, int, str]] = []
    ticks: list[tuple[str, float, float]] = []
    results = run_tasks(
        TASKS, 1, done=lambda *a: finished.append(a), clock=lambda what, now, end: ticks.append((what, now, end))
    )
    assert results == [Draw(s, 1.0)() for s in (1, 2, 3, 4)]  # task order, whatever order they ran in
    # heaviest first; ties keep the task order
    assert finished == [(1, 4, "draw 2"), (2, 4, "draw 4"), (3, 4, "draw 3"), (4, 4, "draw 1")]
    assert ticks[:2] == [("draw 2", 0.0, 1.0), ("draw 2", 1.0, 1.0)]  # run here: each tells its clock


def test_worker_processes_give_the_same_results() -> None:
    finished: list[str] = []
    assert run_tasks(TASKS, 2, done=lambda _d, _t, label: finished.append(label)) == run_tasks(TASKS, 1)
    assert sorted(finished) == ["draw 1", "draw 2", "draw 3", "draw 4"]
    assert run_tasks([], 4) == []


def test_a_simulation_task_weighs_the_interviews_it_simulates(
    config_a: Configuration, load_scenario: Callable[..., Configuration]
) -> None:
    assert SimTask(config_a, None, 5, "A").weight == pytest.approx(50_000 * 5 / 30)
    assert SimTask(config_a, None, None, "A").weight == 50_000
    b = load_scenario("B")
    assert demand_weight(b, 2) == 100_000  # a daily demand, two days of it


def test_a_simulation_asked_for_twice_runs_once_and_serves_both(
    load_scenario: Callable[..., Configuration],
) -> None:
    tiny = load_scenario("B-paid", "demand.interviews=40", "candidates.count=4")
    bigger = load_scenario("B-paid", "demand.interviews=80", "candidates.count=8")
    tasks = [
        SimTask(tiny, None, None, "page of B-paid"),
        SimTask(bigger, None, None, "twice the demand"),
        SimTask(tiny, tiny.scenario.seed, None, "row of B-paid"),  # the scenario's own seed, given
        SimTask(tiny, 7, None, "another seed"),
    ]
    assert tasks[0].run_key == tasks[2].run_key  # the label is not part of what is simulated
    assert SimTask(tiny, None, 1, "B-paid's one day").run_key == tasks[0].run_key  # its own horizon, given
    assert SimTask(tiny, None, 2, "two days").run_key != tasks[0].run_key
    assert len({t.run_key for t in tasks}) == 3
    assert distinct_runs(tasks) == 3  # what the commands announce before the bar counts them
    finished: list[str] = []
    serial = run_tasks(tasks, 1, done=lambda _d, _t, label: finished.append(label))
    assert sorted(finished) == ["another seed", "page of B-paid", "twice the demand"]  # three runs, not four
    assert serial[2] is serial[0]
    assert serial[0].interviews.requested == 40 and serial[1].interviews.requested == 80
    assert serial[3].headline() != serial[0].headline()  # another seed, another run

    parallel = run_tasks(tasks, 2)  # worker processes: the same numbers, the same reuse
    assert [r.headline() for r in parallel] == [r.headline() for r in serial]
    assert parallel[2] is parallel[0]
