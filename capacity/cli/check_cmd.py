"""``capacity check``: re-run the shipped scenarios and compare them with the committed baseline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capacity.cli.app import app
from capacity.cli.common import (
    JsonOption,
    ProvidersOption,
    check_output_file,
    console,
    counted_runs,
    err_console,
    load,
    print_json,
    show_progress,
    user_errors,
)
from capacity.config.paths import BASELINE_FILE, default_baseline_path
from capacity.errors import UsageError

CHECKED = ("A", "B", "seed-claims", "A-levers")
"""Scenarios ``--update`` measures when none is named."""


def _number(x: float | None, signed: bool = False) -> str:
    """A number as a reader wants it: whole thousands with separators, else 4 significant digits."""
    if x is None:
        return "–"
    sign = "+" if signed else ""
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:{sign},.0f}"
    return f"{x:{sign}.4g}"


@app.command()
def check(
    *,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="Baseline file (default: ./reports/baseline.json, else the one installed with the package).",
        ),
    ] = None,
    update: Annotated[
        bool, typer.Option("--update", help="Measure the scenarios again and rewrite the baseline.")
    ] = False,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s", metavar="NAME|FILE",
            help="Only this scenario (repeatable). With --update: the scenarios to measure "
            f"(default {', '.join(CHECKED)}).",
        ),
    ] = None,
    providers: ProvidersOption = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="With --update only: override a scenario field for the measured baseline (a check re-runs "
            "what the baseline stores).",
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", metavar="DAYS", min=1,
            help="With --update: days of demand to run (default 2, at most the scenario's)."),
    ] = None,
    replications: Annotated[
        int,
        typer.Option("--replications", "-r", metavar="N", min=2,
            help="With --update: replications the tolerances come from."),
    ] = 4,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", min=0,
        help="Worker processes (0: the cores, at most 4).")] = 0,
    as_json: JsonOption = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar (runs done).")] = True,
) -> None:
    """Re-run each scenario of the baseline at its seed and horizon and compare its headline
    numbers (and its static plan) with the baseline, within tolerances from replication spread.

    Tolerance of a simulated number: max(absolute floor, relative floor × |value|, 3 × sd of
    the replications measured at --update); plan numbers: exact (1e-9 relative). `--update`
    rewrites the baseline: commit its diff, which is how a reviewer sees a model change.

    Examples:

        capacity check

        capacity check -s A --json

        capacity check --update --set routing.admission=gated   # --set and --days only with --update

    Exit status: 0 every number within tolerance (or baseline written), 1 some moved, 2 bad input.
    """
    from capacity.cli.report_cmd import default_jobs
    from capacity.studies.check import REPLICATIONS, Target, check_days, current, measure
    from capacity.studies.regression import load_baseline, save_baseline

    workers = jobs or default_jobs()
    if baseline is None:  # --update writes where it is run: a checkout's reports/
        baseline = Path("reports") / BASELINE_FILE if update else default_baseline_path()
    started = time.perf_counter()
    with user_errors():
        if update:
            check_output_file(baseline, "--baseline")
            names = list(dict.fromkeys(scenario or CHECKED))
            targets = []
            for name in names:
                config = load(name, providers, set_)
                demand = config.scenario.demand
                if days is not None and demand.kind == "total" and days > demand.days:
                    raise UsageError(f"--days {days}: scenario {config.scenario.name} has {demand.days} days")
                targets.append(Target(config, tuple(set_ or ()), check_days(config, days)))
            measured = counted_runs(
                show_progress(progress, as_json),
                lambda done: measure(targets, replications or REPLICATIONS, workers, done),
                total=len(targets) * (replications or REPLICATIONS),
            )
            save_baseline(measured, baseline)
            if as_json:
                print_json(measured.to_json())
            else:
                n = sum(len(s.simulate) + len(s.plan) for s in measured.scenarios.values())
                console.print(
                    f"wrote {baseline}: {n} numbers of {len(names)} scenario(s), "
                    f"{replications} replications each ({time.perf_counter() - started:.0f} s)"
                )
            return
        if set_ or days is not None:
            raise UsageError("--set and --days apply to --update; a check re-runs what the baseline stores")
        stored = load_baseline(baseline)
        names = list(stored.scenarios) if not scenario else list(dict.fromkeys(scenario))
        unknown = [n for n in names if n not in stored.scenarios]
        if unknown:
            raise UsageError(f"not in {baseline}: {', '.join(unknown)} (known: {', '.join(stored.scenarios)})")
        configs = {n: load(n, providers, list(stored.scenarios[n].overrides)) for n in names}
        report = counted_runs(
            show_progress(progress, as_json), lambda done: current(stored, configs, workers, done), total=len(configs)
        )
    if as_json:
        print_json(report.to_json())
    elif report.passed:
        checked = ", ".join(f"{n} ({stored.scenarios[n].days} d)" for n in configs)
        console.print(
            f"capacity check: all {len(report.comparisons)} numbers of {len(configs)} scenario(s) — {checked} — "
            f"within tolerance of {baseline} ({time.perf_counter() - started:.0f} s)",
            highlight=False,
        )
    else:
        table = Table(
            title=f"capacity check: {len(report.failures)} of {len(report.comparisons)} numbers moved",
            title_justify="left",
        )
        for col, justify in (
            ("scenario", "left"),
            ("number", "left"),
            ("baseline", "right"),
            ("now", "right"),
            ("change", "right"),
            ("tolerance", "right"),
            ("status", "left"),
        ):
            table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for c in report.failures:
            rel = c.relative_change
            change = "–" if c.change is None else _number(c.change, signed=True)
            if rel is not None:
                change += f" ({rel:+.1%})"
            table.add_row(
                escape(c.scenario),
                escape(f"{c.group}: {c.name}"),
                _number(c.baseline),
                _number(c.now),
                change,
                f"±{c.tolerance:.3g}",
                c.status,
            )
        console.print(table)
        err_console.print(
            f"If the change is intended, run `capacity check --update --baseline {baseline}` and commit "
            "the baseline's diff.",
            highlight=False,
        )
    if not report.passed:
        raise typer.Exit(1)
