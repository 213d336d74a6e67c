"""``capacity sweep``: a what-if grid, every cell simulated with replications, on a process pool or Dask."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    MAX_DAYS,
    MAX_REPLICATIONS,
    MAX_WORKERS,
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SeedOption,
    SetOption,
    check_output_folder,
    console,
    err_console,
    fidelity_of,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.report.grid_tables import FLUID_CAVEAT, grid_json, grid_table, separation_note, write_grid_files
from capacity.sim.fluid_quota import unsupported
from capacity.studies.executors import EXECUTORS, Executor
from capacity.studies.grid import check_metric, grid_cells, parse_grid, run_grid
from capacity.studies.replications import LATENCY_METRICS


def default_workers() -> int:
    """Processes of the local pool: one per CPU."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


@app.command()
def sweep(
    scenario: ScenarioOption = "A",
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", metavar="PATH=V1,V2,...",
            help="An axis of the grid: a scenario field as --set writes it (cache.ttl_s=3600,86400) or a "
            "provider's field (providers.groq.accounts=1,2,4); values parsed as YAML; repeatable.",
        ),
    ] = None,
    providers: ProvidersOption = None,
    set_: SetOption = None,
    replications: Annotated[
        int, typer.Option("--replications", "-r", metavar="N", min=1, max=MAX_REPLICATIONS,
            help="Independent runs of each cell (95% intervals need two or more).")
    ] = 5,
    metric: Annotated[
        str, typer.Option("--metric", metavar="NAME",
            help="Headline number the figure shows: carried_interviews_per_day, turn_latency_p95_s, "
            "cache_hit_rate, cost_usd, completed, failed, …")
    ] = "carried_interviews_per_day",
    days: Annotated[int | None, typer.Option("--days", metavar="DAYS", min=1, max=MAX_DAYS,
        help="Simulate only the first N days of demand in each run.")] = None,
    seed: SeedOption = None,
    executor: Annotated[
        str, typer.Option("--executor", metavar="process|dask",
            help="Where runs execute: a local process pool, or a Dask cluster (pip install 'capacity[dask]').")
    ] = "process",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", metavar="ADDRESS",
            help="A running Dask scheduler (tcp://HOST:8786); without it --executor dask starts a local cluster.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", metavar="N", min=1, max=MAX_WORKERS,
            help="Processes of the local pool or local Dask cluster (default: one per CPU).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for grid.csv, grid.md and grid.png.")
    ] = Path("sweep"),
    as_json: JsonOption = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    fidelity: Annotated[
        str,
        typer.Option(
            "--fidelity", metavar="exact|fluid",
            help="The engine of every run: exact (default), or fluid — per-minute flows, no turn latency, faster "
            "where many requests share each minute and no quota binds (README, \"Fluid mode\").",
        ),
    ] = "exact",
) -> None:
    """Simulate every combination of a few settings (a what-if grid) with independent
    replications, and write a table (CSV, Markdown) and a figure of one metric with 95%
    confidence intervals: a heatmap for two axes, a line with error bars for one (three or
    more axes: the table only).

    Each run has its own seed, derived from the base seed (--seed, else the scenario's) and
    the cell's assignments, so the numbers are the same whichever executor and however many
    workers ran them.

    Examples:

        capacity sweep -s B --grid providers.groq.accounts=1,2,4 --grid cache.ttl_s=3600,86400 -r 5

        capacity sweep -s A --days 2 --grid routing.turn_deadline_s=15,30,60 --metric turn_latency_p95_s

        capacity sweep -s B --grid providers.groq.accounts=1,2 --executor dask --scheduler tcp://10.0.0.5:8786

        capacity sweep -s B-paid --days 1 --grid cache.ttl_s=3600,86400 -r 3 --fidelity fluid

    Exit status: 0 done, 2 bad input (a bad path or value is named before any run starts), 130
    interrupted (Ctrl-C: the workers are stopped and nothing is written).
    """
    with user_errors():
        if executor not in EXECUTORS:
            raise UsageError(f"--executor {executor!r}: choose {' or '.join(EXECUTORS)}")
        chosen: Executor = "dask" if executor == "dask" else "process"
        if scheduler is not None and chosen != "dask":
            raise UsageError("--scheduler is the address of a Dask scheduler; give it with --executor dask")
        if scheduler is not None and "://" not in scheduler:
            raise UsageError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:8786")
        check_metric(metric)
        engine = fidelity_of(fidelity)
        if engine == "fluid" and metric in LATENCY_METRICS:
            raise UsageError(f"--metric {metric}: turn latency is not modelled in fluid mode; use --fidelity exact")
        check_output_folder(out)
        axes = parse_grid(grid or [])
        config = load(scenario, providers, set_)
        if days is not None and config.scenario.demand.kind == "total" and days > config.scenario.demand.days:
            raise UsageError(f"--days {days}: scenario {config.scenario.name} has {config.scenario.demand.days} days")
        path, providers_path = scenario_path(scenario), providers or default_providers_path()

        def load_cell(extra: Sequence[str]) -> Configuration:
            return load_configuration(path, providers_path, [*(set_ or []), *extra], origin="--grid")

        base_seed = config.scenario.seed if seed is None else seed
        cells = grid_cells(axes, load_cell, base_seed, replications)
        if engine == "fluid":
            for cell in cells:
                if (why := unsupported(cell.config)) is not None:
                    named = ", ".join(f"{a.path}={v}" for a, v in zip(axes, cell.values, strict=True))
                    raise UsageError(f"--fidelity fluid: {config.scenario.name} with {named}: {why}")
    runs = len(cells) * replications
    with progress_bar(show_progress(progress, as_json), counted=True) as bar:
        task = bar.add_task(f"sweeping {len(cells)} cells × {replications}", total=runs, detail="")

        def done(finished: int, total: int, label: str) -> None:
            bar.update(task, completed=finished, detail=label)

        try:
            with user_errors():
                named = config.scenario.name + (f" with --set {', '.join(set_)}" if set_ else "")
                result = run_grid(
                    named, axes, cells, metric=metric, days=days, base_seed=base_seed,
                    executor=chosen, workers=workers or default_workers(), scheduler=scheduler, done=done,
                    fidelity=engine,
                )
        except KeyboardInterrupt:
            bar.stop()
            err_console.print("[yellow]interrupted:[/yellow] workers stopped; nothing written", highlight=False)
            raise typer.Exit(130) from None
    files, note = write_grid_files(result, out)
    if as_json:
        print_json(grid_json(result, {kind: str(p) for kind, p in files.items()}))
        return
    console.print(grid_table(result))
    apart = separation_note(result)
    if result.fidelity == "fluid":
        apart = f"{FLUID_CAVEAT}\n{apart}" if apart else FLUID_CAVEAT
    console.print(
        (f"{apart}\n" if apart else "") + f"{note}\nwritten: " + ", ".join(str(p) for p in files.values()),
        highlight=False,
    )
