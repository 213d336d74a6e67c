"""``capacity compare``: strategies side by side on scenarios A and B, TCO, and the seed's GPU claims."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    JsonOption,
    ProvidersOption,
    check_output_folder,
    console,
    err_console,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.report.compare_tables import comparison_json, render_comparison
from capacity.studies.compare import COMPARISONS, DEFAULT_DAYS
from capacity.studies.compare import compare as run_comparison

DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))
"""Simulations run at once by default (the runs are independent; the numbers do not change)."""


@app.command()
def compare(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME",
            help="A named comparison (" + ", ".join(COMPARISONS) + ") or two or more scenarios.",
            show_default=False,
        ),
    ],
    *,
    providers: ProvidersOption = None,
    days: Annotated[
        int,
        typer.Option(
            "--days", metavar="DAYS", min=1,
                help="Days simulated of a monthly demand such as A's (a daily one runs its day)."
        ),
    ] = DEFAULT_DAYS,
    seed: Annotated[
        int | None, typer.Option("--seed", metavar="N", help="One seed for every run (default: each scenario's).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", metavar="N", min=1, help="Simulations run at once, in processes.")
    ] = DEFAULT_JOBS,
    claims: Annotated[
        bool | None,
        typer.Option("--claims/--no-claims", help="Check the seed's GPU claims (default: when GPUs are compared)."),
    ] = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR",
            help="Also write the comparison page (README.md and figures) into this folder."),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Run strategies with the same seed and set them side by side: interviews/day carried,
    failed/degraded share, turn latency, what binds, hardware or accounts, cost per month and
    per interview; then TCO over 12/24/36 months (own vs rented GPUs vs paid APIs) with the
    break-even month, the seed's GPU claims confirmed or refuted, and a verdict.

    Named comparisons: free-vs-gpu (A, A-gpu, B, B-gpu), free-vs-paid (A, A-paid, A-groq, B,
    B-paid, B-groq), gpu-vs-paid (A-gpu, A-paid, A-groq, B-gpu, B-rented, B-paid, B-groq),
    hybrid (A, A-hybrid, B, B-hybrid). A monthly demand (A) runs its first --days days
    (Monday–Friday by default), B its one day; free-vs-gpu takes a few minutes on two cores.

    Examples:

        capacity compare free-vs-gpu

        capacity compare A A-paid --days 2 --json

        capacity compare hybrid --out reports/hybrid

    Exit status: 0 compared, 2 bad input.
    """
    with user_errors():
        check_output_folder(out)
        if len(names) == 1 and names[0] not in COMPARISONS:
            raise UsageError(
                f"unknown comparison {names[0]!r} (known: {', '.join(COMPARISONS)}); or give two or more scenarios"
            )
        cache: dict[str, Configuration] = {}

        def loader(name: str) -> Configuration:
            if name not in cache:
                cache[name] = load(name, providers, None)
            return cache[name]

        for name in names if len(names) > 1 else []:
            loader(name)  # report a bad scenario before any simulation
        show = show_progress(progress, as_json)
        with progress_bar(show, counted=True) as bar:
            task = bar.add_task("simulating", total=None, detail="")

            def update(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, detail=what)

            result = run_comparison(names, loader, days=days, seed=seed, jobs=jobs, claims=claims, progress=update)
    if as_json:
        print_json(comparison_json(result))
    else:
        render_comparison(result, console)
    if out is not None:
        from capacity.report.compare_page import write_comparison_page

        written = write_comparison_page(result, out)
        err_console.print(f"wrote {len(written)} files to {out}", highlight=False)
