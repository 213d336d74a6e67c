"""The one process-pool runner: results in task order, heaviest first, the same numbers in any process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from capacity.config.loader import Configuration
from capacity.studies.runner import SimClock, SimTask, demand_weight, run_tasks


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
