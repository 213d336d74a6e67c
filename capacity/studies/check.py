"""The regression check's runs: the simulations and plans ``capacity check`` compares with its baseline.

``measure`` (for ``--update``) runs a scenario ``replications`` times — the first at its
seed, the others at independent seeds derived from it — and guards the first run's headline
numbers with the spread of all of them (:mod:`capacity.studies.regression`). ``current`` runs
a baseline's scenario once, at the stored seed, horizon and overrides, and compares. The
horizons are short (two days of scenario A take a few seconds) so that CI stays fast; all
runs of a check go into one pool of worker processes (:func:`~capacity.studies.runner.run_tasks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capacity.config.loader import Configuration
from capacity.plan import plan as make_plan
from capacity.studies.regression import (
    Baseline,
    CheckReport,
    ScenarioBaseline,
    compare_group,
    guard_plan,
    guard_simulated,
    plan_numbers,
)
from capacity.studies.replications import replication_seeds
from capacity.studies.runner import SimTask, TasksDone, run_tasks

CHECK_DAYS = 2
"""Default horizon of a checked scenario, days (capped at the scenario's own)."""

REPLICATIONS = 4
"""Default replications measured by ``--update``."""


def check_days(config: Configuration, days: int | None = None) -> int:
    """The horizon a scenario is checked at: ``days``, else two days (at most the scenario's)."""
    return days if days is not None else min(CHECK_DAYS, config.scenario.demand.days)


@dataclass(frozen=True)
class Target:
    """A scenario to measure: its loaded configuration, the overrides it was loaded with, its horizon."""

    config: Configuration
    overrides: tuple[str, ...]
    days: int


def measure(
    targets: Sequence[Target],
    replications: int = REPLICATIONS,
    jobs: int = 1,
    progress: TasksDone | None = None,
) -> Baseline:
    """Measure each target ``replications`` times and build the baseline."""
    tasks = [
        SimTask(t.config, seed, t.days, f"{t.config.scenario.name} seed {seed}")
        for t in targets
        for seed in replication_seeds(t.config.scenario.seed, replications)
    ]
    results = run_tasks(tasks, jobs, done=progress)
    scenarios = {}
    for i, t in enumerate(targets):
        runs = results[i * replications : (i + 1) * replications]
        scenarios[t.config.scenario.name] = ScenarioBaseline(
            scenario=t.config.scenario.name,
            days=t.days,
            seed=t.config.scenario.seed,
            overrides=t.overrides,
            replications=replications,
            simulate=guard_simulated([r.headline() for r in runs]),
            plan=guard_plan(plan_numbers(make_plan(t.config))),
        )
    return Baseline(scenarios)


def current(
    baseline: Baseline,
    configs: dict[str, Configuration],
    jobs: int = 1,
    progress: TasksDone | None = None,
) -> CheckReport:
    """Re-run each scenario of ``baseline`` (``configs``: loaded with its overrides) and compare."""
    names = [n for n in baseline.scenarios if n in configs]
    tasks = [SimTask(configs[n], baseline.scenarios[n].seed, baseline.scenarios[n].days, n) for n in names]
    results = run_tasks(tasks, jobs, done=progress)
    comparisons = []
    for name, result in zip(names, results, strict=True):
        guards = baseline.scenarios[name]
        now_sim: dict[str, float | None] = dict(result.headline())
        comparisons += compare_group(name, "simulate", guards.simulate, now_sim)
        comparisons += compare_group(name, "plan", guards.plan, plan_numbers(make_plan(configs[name])))
    return CheckReport(comparisons)
