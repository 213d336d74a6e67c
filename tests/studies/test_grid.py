"""What-if grids (``capacity sweep``): axis parsing and its errors, the seeding rule, provider
fields reached by ``--set``/``--grid``, and the same numbers from the process pool and from a
Dask cluster on loopback."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.config.loader import Configuration
from capacity.errors import ConfigError, UsageError, UserError
from capacity.sim.fluid import simulate_fluid
from capacity.sim.model import simulate
from capacity.studies.executors import run_on_dask, run_on_processes
from capacity.studies.grid import (
    METRICS,
    Axis,
    Cell,
    GridRun,
    cell_key,
    grid_cells,
    parse_grid,
    run_grid,
    run_seed,
)
from capacity.studies.runner import SimClock

TINY_B = ("demand.interviews=40", "candidates.count=4")
Grid = tuple[tuple[Axis, ...], list[Cell]]
"""Scenario B shrunk to 40 interviews in one day: a run takes a fraction of a second."""


def loader(*base: str) -> Callable[[Sequence[str]], Configuration]:
    """Scenario B with ``base`` and a cell's assignments, problems blamed on --grid (as the CLI loads cells)."""

    def load(extra: Sequence[str]) -> Configuration:
        return load_configuration(
            scenario_path("B"), default_providers_path(), [*base, *extra], origin="--grid"
        )

    return load


def test_axes_parse_in_order_with_values_as_written() -> None:
    axes = parse_grid(["providers.groq.accounts=1, 2,4", "routing.destinations[0].accounts=3"])
    assert axes == (
        Axis("providers.groq.accounts", ("1", "2", "4")),
        Axis("routing.destinations[0].accounts", ("3",)),
    )


@pytest.mark.parametrize(
    ("grids", "says"),
    [
        ([], "give at least one"),
        (["cache.ttl_s"], "expected PATH=v1,v2"),
        (["=1,2"], "expected PATH=v1,v2"),
        (["cache..ttl_s=1"], "is not a field path"),
        (["cache.ttl_s=1,,2"], "an empty value"),
        (["cache.enabled=true,false,True"], "True, true given twice"),
        (["providers.groq.accounts=[1,2]"], "values are split at commas, so a list or a mapping cannot be one"),
        (["cache.ttl_s=60", "cache.ttl_s=120"], "the same path on two --grid options"),
        (["cache.ttl_s=" + ",".join(map(str, range(1, 102))), "script.rounds=" + ",".join(map(str, range(1, 101)))],
         "10,100 cells, over the 10,000"),
    ],
)
def test_malformed_grids_are_refused_in_one_line(grids: list[str], says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        parse_grid(grids)
    assert len(caught.value.lines) == 1


@pytest.mark.parametrize(
    ("grid", "line"),
    [
        ("providers.groq.accounts=1,0", "--grid: providers.groq.accounts=0: Input should be greater than 0"),
        ("providers.groq.acounts=2", "--grid: providers.groq.acounts=2: unknown key (did you mean 'accounts'?)"),
        ("providers.nobody.accounts=2", "--grid 'providers.nobody.accounts=2': no provider 'nobody'"),
        ("providers.groq=2", "--grid 'providers.groq=2': expected providers.NAME.field=value"),
        ("cache.ttl_s=3600,soon", "--grid: cache.ttl_s=soon: Input should be a valid number"),  # the value named
        ("routing.destinations[20].accounts=2", "--grid 'routing.destinations[20].accounts=2': routing.desti"),
    ],
)
def test_a_bad_path_or_value_is_named_before_any_run(grid: str, line: str) -> None:
    with pytest.raises(UserError) as caught:
        grid_cells(parse_grid([grid]), loader(*TINY_B), base_seed=1, replications=2)
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith(line)


def test_provider_fields_reach_the_provider_and_set_blames_set() -> None:
    load = loader()
    assert load(["providers.groq.accounts=4"]).provider("groq").accounts == 4
    assert load([]).provider("groq").accounts == 1
    with pytest.raises(ConfigError, match=r"^--set: providers\.groq\.accounts: Input should be greater than 0$"):
        load_configuration(scenario_path("B"), default_providers_path(), ["providers.groq.accounts=-1"])
    # a provider the scenario defines (extra_providers) is reached by name as well
    seed = load_configuration(
        scenario_path("seed-claims"), default_providers_path(), ["providers.seed-gemini.accounts=5"]
    )
    assert seed.provider("seed-gemini").accounts == 5
    assert seed.provider("seed-huggingface").accounts == 2


def test_seeds_follow_the_cell_not_its_place_in_the_grid() -> None:
    load = loader(*TINY_B)
    small = grid_cells(parse_grid(["cache.ttl_s=3600,86400", "script.rounds=12"]), load, base_seed=7, replications=3)
    # axes swapped, values added and reordered: the cells both grids hold keep their seeds
    large = grid_cells(
        parse_grid(["script.rounds=8,12", "cache.ttl_s=600,86400,3600"]), load, base_seed=7, replications=3
    )
    seeds = {(c.values[1], c.values[0]): c.seeds for c in large}
    assert {c.values: c.seeds for c in small} == {k: seeds[k] for k in (("3600", "12"), ("86400", "12"))}
    everything = [s for c in large for s in c.seeds]
    assert len(set(everything)) == len(everything) == 18  # every run its own stream
    assert [(c.config.scenario.script.rounds, c.config.scenario.cache.ttl_s) for c in large] == [
        (8, 600.0), (8, 86400.0), (8, 3600.0), (12, 600.0), (12, 86400.0), (12, 3600.0)
    ]
    # the rule the README states: SeedSequence(base, spawn_key=(cell key, r)), 64 bits halved
    key = cell_key({"cache.ttl_s": "3600", "script.rounds": "12"})
    assert small[0].seeds[2] == int(np.random.SeedSequence(7, spawn_key=(key, 2)).generate_state(1, np.uint64)[0]) >> 1


@settings(max_examples=40, deadline=None)
@given(
    base=st.integers(0, 2**63 - 1),
    cell=st.dictionaries(st.sampled_from(["a.b", "c", "d[0].e"]), st.integers(0, 10**6).map(str), min_size=1),
)
def test_seeds_are_int64_independent_of_order_and_distinct(base: int, cell: dict[str, str]) -> None:
    key = cell_key(cell)
    assert key == cell_key(dict(reversed(list(cell.items()))))  # the order of axes does not matter
    seeds = [run_seed(base, key, r) for r in range(4)]
    assert all(0 <= s < 2**63 for s in seeds)
    assert len(set(seeds)) == 4
    assert seeds == [run_seed(base, key, r) for r in range(4)]


def test_a_cell_key_reads_values_as_yaml() -> None:
    assert cell_key({"cache.enabled": "true"}) == cell_key({"cache.enabled": "True"})
    assert cell_key({"x": "{a: 1, b: 2}"}) == cell_key({"x": "{b: 2, a: 1}"})
    assert cell_key({"cache.ttl_s": "3600"}) != cell_key({"cache.ttl_s": "3601"})
    assert cell_key({"a": "1", "b": "2"}) != cell_key({"a": "2", "b": "1"})


def test_every_headline_number_has_words() -> None:
    config = loader(*TINY_B)([])
    assert list(METRICS) == list(simulate(config, seed=3).headline())


@pytest.fixture(scope="module")
def tiny_grid() -> Grid:
    axes = parse_grid(["providers.groq.accounts=1,2", "cache.ttl_s=3600,86400"])
    return axes, grid_cells(axes, loader(*TINY_B), base_seed=20251007, replications=2)


def test_the_process_pool_and_a_dask_cluster_give_identical_numbers(tiny_grid: Grid) -> None:
    distributed = pytest.importorskip("dask.distributed")
    axes, cells = tiny_grid
    told: list[tuple[int, int]] = []
    pool = run_grid(
        "B", axes, cells, metric="turn_latency_p95_s", days=None, base_seed=20251007, executor="process",
        workers=2, done=lambda finished, total, _label: told.append((finished, total)),
    )
    assert told == [(i, 8) for i in range(1, 9)]
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        on_dask = run_grid(
            "B", axes, cells, metric="turn_latency_p95_s", days=None, base_seed=20251007, executor="dask",
            scheduler=cluster.scheduler_address,
        )
    assert on_dask == pool
    # and both are the plain simulation of each cell with its seed
    first = cells[0]
    assert dict(pool.cells[0].runs[1]) == simulate(first.config, seed=first.seeds[1]).headline()
    # the grid moves the model: a day-long TTL answers more turns from the response cache
    by_ttl = {c.values[1]: c.interval("cache_hit_rate").mean for c in pool.cells}
    assert by_ttl["86400"] > by_ttl["3600"]


def test_a_fluid_grid_runs_the_fluid_engine_and_leaves_latency_out() -> None:
    """``fidelity="fluid"``: each run is the fluid simulation of its cell with its seed; turn latency,
    which the fluid mode does not model, is NaN (shown as –), not a 0 that reads as instant."""
    axes = parse_grid(["cache.ttl_s=3600,86400"])
    cells = grid_cells(axes, loader(*TINY_B), base_seed=20251007, replications=1)
    grid = run_grid("B", axes, cells, metric="cost_usd", days=None, base_seed=20251007, fidelity="fluid")
    assert grid.fidelity == "fluid"
    for cell, ran in zip(cells, grid.cells, strict=True):
        (run,) = ran.runs
        fluid = simulate_fluid(cell.config, seed=cell.seeds[0]).headline()
        assert math.isnan(run["turn_latency_p95_s"]) and math.isnan(run["turn_latency_p50_s"])
        assert {k: v for k, v in run.items() if "latency" not in k} == {
            k: v for k, v in fluid.items() if "latency" not in k
        }
        assert run["carried_interviews_per_day"] > 0


def test_an_unreachable_scheduler_is_bad_input() -> None:
    pytest.importorskip("dask.distributed")
    task = GridRun(loader(*TINY_B)([]), 1, None, "one run")
    with pytest.raises(UsageError, match="no Dask scheduler answered"):
        run_on_dask([task], scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)


@dataclass(frozen=True)
class Marked:
    """A run that leaves a file behind when it finishes (to count the runs a pool completed)."""

    run: GridRun
    mark: Path

    @property
    def label(self) -> str:
        return self.run.label

    @property
    def weight(self) -> float:
        return self.run.weight

    def __call__(self, clock: SimClock | None = None) -> dict[str, float]:
        numbers = self.run(clock)
        self.mark.write_text("done", encoding="utf-8")
        return numbers


def test_ctrl_c_stops_the_pool_without_finishing_the_runs(tmp_path: Path) -> None:
    config = loader(*TINY_B)([])
    tasks = [Marked(GridRun(config, seed, None, f"run {seed}"), tmp_path / f"{seed}.done") for seed in range(8)]

    def interrupt(finished: int, total: int, label: str) -> None:
        raise KeyboardInterrupt  # as Ctrl-C reaching the parent when the first run ends

    with pytest.raises(KeyboardInterrupt):
        run_on_processes(tasks, workers=2, done=interrupt)
    assert multiprocessing.active_children() == []  # every worker gone
    assert 1 <= len(list(tmp_path.glob("*.done"))) < len(tasks)  # the rest never ran
