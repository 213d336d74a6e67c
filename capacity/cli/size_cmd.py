"""``capacity size``: the least GPU fleet that meets a latency target, or the most demand a fleet carries."""

from __future__ import annotations

import math
import re
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    DEFAULT_JOBS,
    MAX_DAYS,
    MAX_WORKERS,
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SeedOption,
    SetOption,
    console,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.config.gpus import GpuPool
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.gpu.cost import PoolCost, pool_cost
from capacity.report.compare_tables import fleet_json, knee_json, render_fleet, render_knee
from capacity.studies.demand import month_days
from capacity.studies.sizing import MAX_SERVERS, knee, min_servers
from capacity.studies.target import Target
from capacity.studies.variants import sized_pool, with_pool_only, with_precision, with_servers
from capacity.workload.calendar import active_hours_per_day

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*$")
_OFF = {"off", "none", "no"}


def parse_duration(text: str, option: str) -> float | None:
    """``2s``, ``2``, ``1.5 s``, ``500ms``, ``1min`` → seconds; ``off``/``none`` → None (not checked)."""
    if text.strip().lower() in _OFF:
        return None
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"{option} {text!r}: expected a positive duration such as 2s, 500ms or 1min, or off")
    value = float(match.group(1))
    return value / 1000.0 if match.group(2) == "ms" else value * 60.0 if match.group(2) == "min" else value


def _configure(
    config: Configuration,
    *,
    pool: str | None,
    gpu: str | None,
    model: str | None,
    precision: str | None,
    engine: str,
    gpus_per_server: int,
) -> tuple[Configuration, GpuPool]:
    """The configuration to size and its pool: the scenario's (in ``precision`` if given), or a new
    --gpu × --model pool taking every request."""
    catalog = config.gpu_catalog
    if precision is not None:
        catalog.precision(precision)  # UsageError naming the known formats
    if gpu is None and model is None:
        sized = sized_pool(config, pool)
        if precision is None or precision == sized.precision:
            return config, sized
        resized = with_precision(config, sized.name, precision)
        return resized, sized_pool(resized, sized.name)
    if gpu is None or model is None:
        raise UsageError("--gpu and --model go together")
    precision = precision or "fp16"
    for key, found in (
        ("gpu", catalog.gpus),
        ("model", catalog.models),
        ("precision", catalog.precisions),
        ("engine", catalog.engines),
    ):
        value = {"gpu": gpu, "model": model, "precision": precision, "engine": engine}[key]
        if value not in found:
            raise UsageError(f"unknown {key} {value!r} (known: {', '.join(sorted(found))})")
    new = GpuPool(
        name=pool or f"{gpu}-{model}",
        gpu=gpu,
        model=model,
        precision=precision,
        engine=engine,
        servers=1,
        gpus_per_server=gpus_per_server,
    )
    return with_pool_only(config, new), new


def _cost(config: Configuration, pool: GpuPool, servers: int) -> PoolCost | None:
    try:
        return pool_cost(
            config.gpu_catalog,
            pool.model_copy(update={"servers": servers}),
            active_hours_per_day=active_hours_per_day(config.scenario.calendar),
            interviewing_days_per_month=month_days(config),
        )
    except UsageError:
        return None  # a card with no price: the answer stands without a cost


MAX_GPUS_PER_SERVER = 16
"""The most --gpus-per-server: the largest servers sold (HGX-2 / DGX-2) hold 16 GPUs."""
MAX_FLEET = 100_000
"""The most --servers or --max-servers: a bound on the search, far above any fleet this tool sizes."""


@app.command()
def size(
    *,
    scenario: ScenarioOption = "B-gpu",
    providers: ProvidersOption = None,
    set_: SetOption = None,
    pool: Annotated[
        str | None, typer.Option("--pool", metavar="POOL", help="The scenario's GPU pool to size (if it has several).")
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", metavar="GPU",
            help="Size a new pool of this catalogue GPU taking every request.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", metavar="MODEL",
        help="…running this catalogue model (with --gpu).")] = None,
    precision: Annotated[
        str | None,
        typer.Option("--precision", metavar="FORMAT",
            help="Weight format: fp16, int8, int4 (default: the pool's; new: fp16)."),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", metavar="ENGINE",
        help="Serving-engine profile of a new pool.")] = "vllm",
    gpus_per_server: Annotated[
        int, typer.Option("--gpus-per-server", metavar="N", min=1, max=MAX_GPUS_PER_SERVER,
            help="GPUs per server of a new pool.")
    ] = 1,
    p95_turn_latency: Annotated[
        str | None,
        typer.Option(
            "--p95-turn-latency", metavar="DURATION",
            help="Target p95 turn latency: 3s, 2.5, 500ms, or off (default: the scenario's).",
        ),
    ] = None,
    p95_ttft: Annotated[
        str | None, typer.Option("--p95-ttft", metavar="DURATION",
            help="Target p95 time to first token, e.g. 1s (default: off).")
    ] = None,
    knee_: Annotated[
        bool,
        typer.Option("--knee", help="The inverse: the most interviews/day the fleet carries within the target."),
    ] = False,
    servers: Annotated[
        int | None,
        typer.Option("--servers", metavar="N", min=1, max=MAX_FLEET,
            help="With --knee: servers of the pool (default: the scenario's)."),
    ] = None,
    days: Annotated[int | None, typer.Option("--days", metavar="DAYS", min=1, max=MAX_DAYS,
        help="Days of demand each probe simulates.")] = None,
    seed: SeedOption = None,
    max_servers: Annotated[int, typer.Option("--max-servers", metavar="N", min=1, max=MAX_FLEET,
        help="Largest fleet tried.")] = MAX_SERVERS,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", min=1, max=MAX_WORKERS,
        help="Probes simulated at once, in processes (default: the cores, at most 4).")] = DEFAULT_JOBS,
    as_json: JsonOption = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Find the least hardware that meets a target, simulating the scenario at each try.

    Default: the fewest servers of the scenario's GPU pool (or of a new --gpu × --model pool
    taking every request) with ≥ 99 % of interviews carried and p95 turn latency within the
    target; a roofline bound starts the search, then it gallops and narrows down (each round's
    first try where the misses point, the others bisecting). --knee instead
    finds the most interviews/day a fixed fleet carries within the target. Each try simulates the
    scenario's horizon (B-gpu's day at 14–21 servers: about 20 s a try on an idle core, compiled
    engine), and --jobs tries run at once (the machine's cores by default;
    the answer does not depend on it); the answer is certified by runs at N and N − 1 servers.
    Note: an idle RTX 4090 running Llama 3.1 8B in fp16 already takes about 3.1 s at p95 for
    the turns of B's interview a candidate waits for, so a 3 s turn target has no answer there:
    try --precision int8, or --p95-ttft 1s --p95-turn-latency off (a streamed voice interview).

    Examples:

        capacity size -s B-gpu --precision int8

        capacity size -s B-gpu --p95-ttft 1s --p95-turn-latency off

        capacity size -s B-gpu --knee --servers 3

    Exit status: 0 found, 1 no fleet (or no demand) meets the target, 2 bad input.
    """
    with user_errors():
        config = load(scenario, providers, set_)
        sized_config, sized = _configure(
            config,
            pool=pool,
            gpu=gpu,
            model=model,
            precision=precision,
            engine=engine,
            gpus_per_server=gpus_per_server,
        )
        sla = config.scenario.sla.p95_turn_latency_s
        turn = sla if p95_turn_latency is None else parse_duration(p95_turn_latency, "--p95-turn-latency")
        ttft = None if p95_ttft is None else parse_duration(p95_ttft, "--p95-ttft")
        if turn is None and ttft is None:
            raise UsageError("give at least one latency target (--p95-turn-latency or --p95-ttft)")
        target = Target(p95_turn_latency_s=turn, p95_ttft_s=ttft)
        if servers is not None and not knee_:
            raise UsageError("--servers goes with --knee (without it, size searches the servers)")
        catalog = sized_config.gpu_catalog
        show = show_progress(progress, as_json)
        with progress_bar(show) as bar:
            task = bar.add_task("simulating", total=1.0, detail="")

            def update(what: str, now: float, end: float) -> None:
                bar.update(task, completed=now / end if end else 1.0, detail=what)

            if knee_:
                fleet = servers or sized.servers
                result = knee(
                    with_servers(sized_config, sized.name, fleet),
                    target,
                    seed=seed,
                    days=days,
                    jobs=jobs,
                    progress=update,
                )
            else:
                answer = min_servers(
                    sized_config,
                    target,
                    pool=sized.name,
                    seed=seed,
                    days=days,
                    max_servers=max_servers,
                    jobs=jobs,
                    progress=update,
                )
    if knee_:
        if as_json:
            print_json(knee_json(result, fleet))
        else:
            render_knee(result, fleet, console)
        if result.interviews_per_day is None or not math.isfinite(result.interviews_per_day):
            raise typer.Exit(1)
        return
    cost = _cost(sized_config, sized, answer.servers) if answer.servers else None
    if as_json:
        print_json(fleet_json(answer, cost))
    else:
        render_fleet(answer, cost, catalog, console)
    if answer.servers is None:
        raise typer.Exit(1)
