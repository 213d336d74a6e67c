"""``capacity compare``: strategies side by side on scenarios A and B, TCO, and the seed's GPU claims."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    DEFAULT_JOBS,
    JsonOption,
    ProvidersOption,
    check_output_folder,
    console,
    counted_runs,
    err_console,
    load,
    print_json,
    show_progress,
    user_errors,
)
from capacity.config.loader import Configuration, scenario_parent
from capacity.config.paths import scenario_path
from capacity.errors import UsageError
from capacity.report.compare_tables import comparison_json, render_comparison
from capacity.studies.compare import COMPARISONS, DEFAULT_DAYS
from capacity.studies.compare import compare as run_comparison


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
            "--days",
            metavar="DAYS",
            min=1,
            help="Days simulated of a monthly demand such as A's (a daily one runs its day).",
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
        typer.Option(
            "--out", metavar="DIR", help="Also write the comparison page (README.md and figures) into this folder."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            "-s",
            metavar="NAME",
            help="With the comparison 'levers': a levers scenario (A-levers), or a base (A) that has one.",
        ),
    ] = None,
) -> None:
    """Run strategies with the same seed and set them side by side: interviews/day carried,
    failed/degraded share, turn latency, what binds, hardware or accounts, cost per month and
    per interview; then TCO over 12/24/36 months (own vs rented GPUs vs paid APIs) with the
    break-even month, the seed's GPU claims confirmed or refuted, and a verdict.

    levers (with -s A, -s B or -s seed-claims): the base scenario with none, each one and all
    of the levers its levers scenario (A-levers, B-levers, seed-claims-levers) switches on —
    templates, response cache, prompt caching, model groups, deferral, question banks — with
    one seed: interviews/day carried, API calls per carried interview, cost per month, turn
    latency, and what adding up each lever's own saving (the seed's arithmetic) would predict.

    Named comparisons: free-vs-gpu (A, A-gpu, B, B-gpu), free-vs-paid (A, A-paid, A-groq, B,
    B-paid, B-groq), gpu-vs-paid (A-gpu, A-paid, A-groq, B-gpu, B-rented, B-paid, B-groq),
    hybrid (A, A-hybrid, B, B-hybrid). A monthly demand (A) runs its first --days days
    (Monday–Friday by default), B its one day; free-vs-gpu takes under a minute on two idle
    cores (compiled engine; `capacity --version`).

    Examples:

        capacity compare free-vs-gpu

        capacity compare A A-paid --days 2 --json

        capacity compare hybrid --out reports/hybrid

        capacity compare levers -s A --days 2

    Exit status: 0 compared, 2 bad input.
    """
    if names[:1] == ["levers"] or scenario is not None:
        _compare_levers(names, scenario, providers, days, seed, jobs, as_json, out, progress)
        return
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
        result = counted_runs(
            show_progress(progress, as_json),
            lambda update: run_comparison(
                names, loader, days=days, seed=seed, jobs=jobs, claims=claims, progress=update
            ),
        )
    if as_json:
        print_json(comparison_json(result))
    else:
        render_comparison(result, console)
    if out is not None:
        from capacity.report.compare_page import write_comparison_page

        written = write_comparison_page(result, out)
        err_console.print(f"wrote {len(written)} files to {out}", highlight=False)


def _compare_levers(
    names: list[str],
    scenario: str | None,
    providers: Path | None,
    days: int,
    seed: int | None,
    jobs: int,
    as_json: bool,
    out: Path | None,
    progress: bool,
) -> None:
    """``capacity compare levers -s NAME``: see :mod:`capacity.studies.levers`."""
    from capacity.report.levers_tables import render_levers
    from capacity.studies.levers import compare_levers

    with user_errors():
        if names[:1] != ["levers"]:
            raise UsageError("--scenario goes with the comparison 'levers' only: capacity compare levers -s A")
        given = [*names[1:], *([scenario] if scenario is not None else [])]  # `compare levers A` is -s A
        if len(given) > 1:
            raise UsageError(
                f"compare levers takes one scenario ({', '.join(given)} given): capacity compare levers -s A"
            )
        if not given:
            raise UsageError("compare levers needs a scenario: capacity compare levers -s A (or -s A-levers)")
        scenario = given[0]
        check_output_folder(out)
        base_name, full_name = levers_pair(scenario)
        base, full = load(base_name, providers, None), load(full_name, providers, None)
        result = counted_runs(
            show_progress(progress, as_json),
            lambda update: compare_levers(base, full, days=days, seed=seed, jobs=jobs, progress=update),
        )
    if as_json:
        print_json(result.to_json())
    else:
        render_levers(result, console)
    if out is not None:
        from capacity.report.levers_tables import write_levers_page

        written = write_levers_page(result, out)
        err_console.print(f"wrote {len(written)} files to {out}", highlight=False)


def levers_pair(name: str) -> tuple[str, str]:
    """(base, levers scenario) for ``compare levers -s name``.

    ``name`` is the base of ``NAME-levers`` when such a scenario exists (``-s A`` → A-levers
    over A); otherwise a scenario that ``extends`` another is the levers scenario over that
    base. Raises UsageError when it is neither.
    """
    path = scenario_path(name)
    twin = f"{path.stem}-levers"
    beside = path.parent / f"{twin}.yaml"
    if beside.is_file():
        return name, str(beside) if not _same_file(beside, twin) else twin
    if _exists(twin):
        return name, twin
    parent = scenario_parent(path)
    if parent is None:
        raise UsageError(
            f"scenario {name} extends no other scenario and there is no {twin}: give a levers scenario "
            "(one that extends its base and switches levers on, as the shipped A-levers does)"
        )
    beside = path.parent / f"{parent}.yaml"  # resolved as ``extends`` resolves it
    if beside.is_file() and not _same_file(beside, parent):
        return str(beside), name
    return parent, name


def _exists(name: str) -> bool:
    try:
        scenario_path(name)
    except UsageError:
        return False
    return True


def _same_file(path: Path, name: str) -> bool:
    """Whether the scenario ``name`` resolves to ``path``."""
    try:
        return scenario_path(name).resolve() == path.resolve()
    except UsageError:
        return False
