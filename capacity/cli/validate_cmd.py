"""``capacity validate``: the simulation and a live run of the same interviews, side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    InterviewsOption,
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SeedOption,
    SetOption,
    console,
    err_console,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.report.validate_tables import render_validation, validation_json
from capacity.studies.validate import DEFAULT_TIME_SCALE
from capacity.studies.validate import validate as run_validation


@app.command()
def validate(
    scenario: ScenarioOption = "A",
    providers: ProvidersOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    interviews: InterviewsOption = 20,
    time_scale: Annotated[
        float, typer.Option("--time-scale", metavar="FACTOR", min=1.0, max=600.0,
            help="Run time per wall second of the live run (each wall ms the live side adds counts FACTOR ms).")
    ] = DEFAULT_TIME_SCALE,
    seed: SeedOption = None,
    shared_draws: Annotated[
        bool, typer.Option("--shared-draws/--independent-draws",
            help="Draw each call's failure and service time on both sides from one seeded decision per "
                 "(candidate, interview, turn, attempt), or independently on each side.")
    ] = True,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar of the live run (interviews ended).")
    ] = True,
) -> None:
    """Check the simulator against reality: simulate the scenario's first interviews, run the
    same interviews live through the same policy core against the provider emulator (started
    here on a free loopback port, each provider's quotas, latency and errors emulated), and print
    both with the relative error. Both sides draw each call's failure and service time from one
    seeded decision per (candidate, interview, turn, attempt) unless --independent-draws. The
    live side's own overhead per call (wall ms) is shown; at --time-scale X it counts X times in
    run time, so the default (2) keeps it small against the p95 turn latency. The live run lasts
    as long as its interviews, not in proportion to N: (the span of their starts + one
    interview's length) ÷ the time scale — A's ~27-minute interviews take ~25 minutes of wall
    time for 20 at 2× (fewer interviews start sooner but last as long); at 20× about 2 minutes,
    where the overhead usually pushes the p95 past its target. Targets: interviews carried and
    requests per provider within 2%, p95 turn latency within 10%.

    Examples:

        capacity validate -s A -n 20

        capacity validate -s A-groq -n 50 --time-scale 10 --json

    Exit status: 0 every target met, 1 one missed, 2 bad input.
    """
    with user_errors():
        config = load(scenario, providers, set_)
        if not as_json:
            err_console.print(
                f"simulating, then running {interviews:,} interviews live at {time_scale:g}× against the emulator…"
            )
        with progress_bar(show_progress(progress, as_json), counted=True) as bar:
            task = bar.add_task(f"live {config.scenario.name}", total=interviews, detail="interviews")
            result = run_validation(
                config,
                interviews=interviews,
                time_scale=time_scale,
                seed=seed,
                shared_draws=shared_draws,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if as_json:
        print_json(validation_json(result))
    else:
        render_validation(result, console)
    if not result.ok:
        raise typer.Exit(1)
