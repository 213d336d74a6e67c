"""Simulation.run tunes Python's garbage collector for the run and gives it back as it found it."""

from __future__ import annotations

import gc

from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.config.loader import Configuration
from capacity.sim.model import Simulation


def _run(observe: list[tuple[int, int]] | None = None) -> None:
    """Ten interviews of scenario A; ``observe`` gets (first-generation threshold, frozen count)
    each simulated hour."""
    config: Configuration = load_configuration(scenario_path("A"), default_providers_path())
    sim = Simulation(config, days=1, max_interviews=10)
    if observe is None:
        sim.run()
    else:
        sim.run(lambda now, end: observe.append((gc.get_threshold()[0], gc.get_freeze_count())))


def test_the_collector_is_tuned_during_the_run_and_restored_after() -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int]] = []
    _run(seen)
    assert seen and all(threshold == 10_000 and frozen > 0 for threshold, frozen in seen)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        _run()
        # not unfrozen (0), and nothing of the run's frozen on top (more); a frozen object may die
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
