"""What-if grids: every combination of a few settings, each simulated with independent replications.

A *grid* is a list of axes, each a field path and the values it takes — a scenario field as
``--set`` writes it (``cache.ttl_s`` over 3600 and 86400) or a provider's field
(``providers.groq.accounts`` over 1, 2 and 4). A *cell* is one value per axis: the scenario
with those assignments applied. Every cell is simulated ``replications`` times and each
headline number (:meth:`~capacity.result.RunResult.headline`) gets its mean and 95 % Student-t
interval (:func:`~capacity.studies.replications.confidence_interval`).

Seeding rule: replication *r* (0-based) of a cell runs with seed
``SeedSequence(entropy=base_seed, spawn_key=(cell_key, r))``'s first 64 bits, shifted right by
one (to fit int64), where ``cell_key`` is the first 8 bytes of the SHA-256 of the cell's
assignments written canonically (``path=value`` sorted by path, each value parsed as YAML and
written as JSON) and ``base_seed`` the scenario's seed (or ``--seed``). Every run thus has its
own independent stream, and a cell's seeds depend only on the base seed and the cell itself:
not on the executor, the number of workers, the order of the axes, or the other values in the
grid (adding a value to an axis leaves the other cells' numbers unchanged).

Runs go to :mod:`capacity.studies.executors` (a local process pool or a Dask cluster); a run
depends only on its configuration, seed and horizon, so the numbers are the same, bit for bit,
whichever executor ran them.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from capacity.config.loader import Configuration, set_path
from capacity.config.yamldoc import canonical_value
from capacity.errors import ConfigError, UsageError, UserError
from capacity.sim.fluid import simulate_fluid
from capacity.sim.model import simulate
from capacity.studies.executors import Executor, run_on
from capacity.studies.replications import Interval, metric_interval
from capacity.studies.runner import Fidelity, SimClock, TasksDone, demand_weight

METRICS: Mapping[str, str] = {
    "carried_interviews_per_day": "interviews carried per day",
    "completed": "interviews completed",
    "failed": "interviews failed",
    "degraded": "interviews degraded",
    "unfinished": "interviews unfinished at the horizon",
    "turn_latency_p50_s": "p50 turn latency, s",
    "turn_latency_p95_s": "p95 turn latency, s",
    "cache_hit_rate": "response-cache hit rate (0–1)",
    "cost_usd": "cost of the run, US$",
}
"""Every headline number of a run, in the order of :meth:`~capacity.result.RunResult.headline`,
with the words (and unit) a table or an axis labels it by."""

STANDARD_METRICS = ("carried_interviews_per_day", "turn_latency_p95_s", "cache_hit_rate", "cost_usd")
"""The numbers every grid table shows beside the chosen metric."""

MAX_CELLS = 10_000
"""The most cells a grid may have: more is a typo in a value list (and days of runs)."""

GridLoader = Callable[[Sequence[str]], Configuration]
"""Loads the scenario with extra assignments (``path=value``) applied; raises UserError."""


@dataclass(frozen=True)
class Axis:
    """One dimension of a grid: a field path and the values it takes, as written (YAML text)."""

    path: str
    values: tuple[str, ...]

    def assignment(self, value: str) -> str:
        """``path=value``, as ``--set`` takes it."""
        return f"{self.path}={value}"


def parse_axis(text: str) -> Axis:
    """``PATH=v1,v2,...`` → an Axis (values split on commas, each later parsed as YAML).

    Raises UsageError (naming ``--grid``) for a missing ``=``, a path that is not made of names,
    ``.`` and ``[index]``, an empty value or a value given twice.
    """
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise UsageError(f"--grid {text!r}: expected PATH=v1,v2,..., such as providers.groq.accounts=1,2,4")
    if set_path(path) is None:
        raise UsageError(
            f"--grid {text!r}: {path!r} is not a field path such as cache.ttl_s or providers.groq.accounts"
        )
    if any(c in raw for c in "[]{}"):
        raise UsageError(
            f"--grid {text!r}: values are split at commas, so a list or a mapping cannot be one; write the "
            "values without brackets (providers.groq.accounts=1,2)"
        )
    values = tuple(v.strip() for v in raw.split(","))
    if any(not v for v in values):
        raise UsageError(f"--grid {text!r}: an empty value; write values separated by single commas")
    canonical = [canonical_value(v) for v in values]
    twice = sorted({v for v, c in zip(values, canonical, strict=True) if canonical.count(c) > 1})
    if twice:
        raise UsageError(f"--grid {text!r}: {', '.join(twice)} given twice")
    return Axis(path, values)


def parse_grid(texts: Sequence[str]) -> tuple[Axis, ...]:
    """Every ``--grid`` option as an axis, in the order given.

    Raises UsageError for no axis, an axis path given twice, more than :data:`MAX_CELLS` cells,
    or any problem of :func:`parse_axis`.
    """
    if not texts:
        raise UsageError("--grid: give at least one, such as --grid providers.groq.accounts=1,2,4")
    axes = tuple(parse_axis(t) for t in texts)
    paths = [str(set_path(a.path)) for a in axes]
    twice = sorted({a.path for a, p in zip(axes, paths, strict=True) if paths.count(p) > 1})
    if twice:
        raise UsageError(f"--grid {twice[0]}: the same path on two --grid options; list all its values in one")
    cells = math.prod(len(a.values) for a in axes)
    if cells > MAX_CELLS:
        raise UsageError(f"--grid: {cells:,} cells, over the {MAX_CELLS:,} a sweep runs")
    return axes


def cell_key(assignments: Mapping[str, str]) -> int:
    """The seeding key of a cell, from its ``{path: value}``: first 8 bytes of SHA-256 of the
    canonical text (paths sorted, values as JSON), as a non-negative int below 2⁶⁴."""
    text = "\n".join(f"{path}={canonical_value(value)}" for path, value in sorted(assignments.items()))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def run_seed(base_seed: int, key: int, replication: int) -> int:
    """Seed of replication ``replication`` (0-based) of the cell with :func:`cell_key` ``key``:
    an independent stream of ``SeedSequence(base_seed, spawn_key=(key, replication))``, 0 to 2⁶³ − 1."""
    state = np.random.SeedSequence(base_seed, spawn_key=(key, replication)).generate_state(1, np.uint64)
    return int(state[0]) >> 1


@dataclass(frozen=True)
class Cell:
    """One combination of axis values, the configuration it makes and the seeds of its runs."""

    values: tuple[str, ...]
    """One value per axis, in axis order."""
    config: Configuration
    seeds: tuple[int, ...]


def grid_cells(axes: Sequence[Axis], load: GridLoader, base_seed: int, replications: int) -> list[Cell]:
    """Every cell of the grid (row-major: the last axis varies fastest), loaded and seeded.

    Raises what ``load`` raises, before any simulation starts. Where a cell does not load, its
    values are loaded one at a time, so a bad path or value is named on its own; values that
    load alone but clash together are reported as the cell's problem.
    """
    cells = []
    for values in itertools.product(*(a.values for a in axes)):
        assignments = [a.assignment(v) for a, v in zip(axes, values, strict=True)]
        try:
            config = load(assignments)
        except UserError:
            for assignment in assignments:
                try:
                    load([assignment])  # raises, naming this value, if it is wrong on its own
                except ConfigError as exc:  # the field is named; name the value too
                    path = assignment.partition("=")[0]
                    raise ConfigError([
                        replace(p, field=assignment) if p.field == path else p for p in exc.problems
                    ]) from None
            raise
        key = cell_key({a.path: v for a, v in zip(axes, values, strict=True)})
        cells.append(Cell(values, config, tuple(run_seed(base_seed, key, r) for r in range(replications))))
    return cells


@dataclass(frozen=True)
class GridRun:
    """One simulation of a cell: picklable, so that a worker process or a Dask worker runs it.

    Returns the run's headline numbers only (a few floats travel back, not the whole result).
    """

    config: Configuration
    seed: int
    days: int | None
    label: str
    fidelity: Fidelity = "exact"

    @property
    def weight(self) -> float:
        """Interviews simulated."""
        return demand_weight(self.config, self.days)

    def __call__(self, clock: SimClock | None = None) -> dict[str, float]:
        """Simulate; the headline numbers of :meth:`~capacity.result.RunResult.headline` (a fluid run:
        turn latency NaN, not modelled)."""
        if self.fidelity == "exact":
            return simulate(self.config, seed=self.seed, days=self.days, progress=clock).headline()
        return simulate_fluid(self.config, seed=self.seed, days=self.days, progress=clock).headline()


@dataclass(frozen=True)
class CellResult:
    """A cell's runs: the headline numbers of each replication, in replication order."""

    values: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: tuple[Mapping[str, float], ...]

    def interval(self, metric: str) -> Interval:
        """Mean and 95 % interval of ``metric`` over the replications (half-width NaN with one)."""
        return metric_interval(metric, [r[metric] for r in self.runs])


@dataclass(frozen=True)
class GridResult:
    """A finished sweep: its axes and every cell's runs, in :func:`grid_cells` order."""

    scenario: str
    axes: tuple[Axis, ...]
    cells: tuple[CellResult, ...]
    metric: str
    """The metric the figure shows (one of :data:`METRICS`)."""
    replications: int
    days: int | None
    """Days of demand simulated (None: the scenario's horizon)."""
    base_seed: int
    fidelity: Fidelity = "exact"
    """The engine that ran the cells (fluid: per-minute flows, turn latency not modelled)."""


def check_metric(metric: str) -> str:
    """``metric`` if it is one of :data:`METRICS`; else UsageError listing them."""
    if metric not in METRICS:
        raise UsageError(f"--metric {metric!r}: not a headline number; choose one of {', '.join(METRICS)}")
    return metric


def run_grid(
    scenario: str,
    axes: Sequence[Axis],
    cells: Sequence[Cell],
    *,
    metric: str,
    days: int | None,
    base_seed: int,
    executor: Executor = "process",
    workers: int = 1,
    scheduler: str | None = None,
    done: TasksDone | None = None,
    fidelity: Fidelity = "exact",
) -> GridResult:
    """Simulate every cell × replication on ``executor`` and collect the results.

    ``workers``: processes of the local pool (or of the local Dask cluster when ``scheduler`` is
    None); ``scheduler``: a running Dask scheduler's address (``tcp://HOST:8786``). ``done`` is
    told (runs finished, runs in all, label) as each run ends; ``fidelity`` chooses the engine (exact,
    or fluid: :mod:`capacity.sim.fluid`). Raises UsageError when Dask is missing or the scheduler
    cannot be reached; a KeyboardInterrupt stops every worker.
    """
    tasks = [
        GridRun(cell.config, seed, days, f"{', '.join(cell.values)} r{r + 1}", fidelity)
        for cell in cells
        for r, seed in enumerate(cell.seeds)
    ]
    numbers = run_on(executor, tasks, workers=workers, scheduler=scheduler, done=done)
    out = []
    at = 0
    for cell in cells:
        n = len(cell.seeds)
        out.append(CellResult(cell.values, cell.seeds, tuple(numbers[at : at + n])))
        at += n
    replications = len(cells[0].seeds) if cells else 0
    return GridResult(
        scenario, tuple(axes), tuple(out), check_metric(metric), replications, days, base_seed, fidelity
    )
