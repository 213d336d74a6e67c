"""``capacity simulate``: the discrete-event simulation of a scenario, with a verdict."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    MAX_DAYS,
    MAX_REPLICATIONS,
    FailIfShortOption,
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SeedOption,
    SetOption,
    check_output_file,
    console,
    fidelity_of,
    json_text,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.errors import UsageError
from capacity.plan import plan as make_plan
from capacity.report.run_tables import carries, render_run, summary_json
from capacity.report.verdict import judge
from capacity.sim.fluid_quota import unsupported
from capacity.studies.replications import headline_intervals, replicate
from capacity.studies.runner import SimClock
from capacity.units import DAY_S


@app.command()
def simulate(
    scenario: ScenarioOption = "A",
    providers: ProvidersOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    days: Annotated[int | None, typer.Option("--days", metavar="DAYS", min=1, max=MAX_DAYS,
        help="Simulate only the first N days of demand.")] = None,
    seed: SeedOption = None,
    replications: Annotated[
        int,
        typer.Option("--replications", "-r", metavar="N", min=1, max=MAX_REPLICATIONS,
            help="Independent runs; reports 95% confidence intervals."),
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="Also write the run's JSON document (the same as --json) to FILE."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    fail_if_short: FailIfShortOption = False,
    fidelity: Annotated[
        str,
        typer.Option(
            "--fidelity",
            metavar="exact|fluid",
            help="exact: every request simulated; fluid: per-minute aggregated flows through the same quotas "
            "and routing, no latency figures — faster where many requests share each minute and no quota binds "
            "(B-paid's day), slower than the compiled exact engine where free tiers bind (A, B).",
        ),
    ] = "exact",
) -> None:
    """Simulate every interview, turn and API request of a scenario through templates, the
    cache, the router and each provider's quotas; end with a verdict.

    Examples:

        capacity simulate -s A

        capacity simulate -s B --set routing.admission=gated

        capacity simulate -s A --days 5 -r 3 --out run.json

        capacity simulate -s my.yaml --fail-if-short --no-progress

        capacity simulate -s B-paid --fidelity fluid

    Exit status: 0 simulated (whether or not the plan carries the demand), 1 it falls short
    and --fail-if-short was given, 2 bad input.
    """
    with user_errors():
        check_output_file(out)
        engine = fidelity_of(fidelity)
        config = load(scenario, providers, set_)
        if engine == "fluid" and (why := unsupported(config)) is not None:
            raise UsageError(f"--fidelity fluid: {config.scenario.name}: {why}")
        if days is not None and config.scenario.demand.kind == "total" and days > config.scenario.demand.days:
            raise UsageError(f"--days {days}: scenario {config.scenario.name} has {config.scenario.demand.days} days")
        plan = make_plan(config)
    show = show_progress(progress, as_json)
    with progress_bar(show) as bar:

        def callback(i: int) -> SimClock:
            task = bar.add_task(f"replication {i + 1}/{replications}", total=1.0, detail="")

            def update(now: float, end: float) -> None:
                bar.update(task, completed=now / end, detail=f"simulated day {now / DAY_S:.1f}")

            return update

        started = time.perf_counter()
        results = replicate(config, replications, seed=seed, days=days, progress=callback, fidelity=engine)
        wall = time.perf_counter() - started
    result = results[0]
    intervals = headline_intervals(results) if replications > 1 else None
    verdict = judge(result, config, plan)
    document = summary_json(
        result, verdict, intervals, providers_file=config.providers_file, wall_time_s=wall, replications=replications
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json_text(document, indent=1) + "\n")
    if as_json:
        print_json(document)
    else:
        render_run(result, verdict, console, intervals, providers_file=config.providers_file, wall_time_s=wall)
    if fail_if_short and not carries(result, verdict, intervals):  # on the means, with replications
        raise typer.Exit(1)
