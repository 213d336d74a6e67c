"""Options and error handling shared by every command."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn

from capacity.config import (
    Configuration,
    default_providers_path,
    load_configuration,
    scenario_path,
    shipped_scenarios,
)
from capacity.errors import UserError

PIPED_WIDTH = 160
"""Columns of tables written to a pipe or file when COLUMNS is not set."""

# piped output (CI logs, files) gets COLUMNS if set, else wide tables rather than Rich's 80 columns
console = Console() if sys.stdout.isatty() or os.environ.get("COLUMNS") else Console(width=PIPED_WIDTH)
err_console = Console(stderr=True)

ScenarioOption = Annotated[
    str,
    typer.Option(
        "--scenario",
        "-s",
        metavar="NAME|FILE",
        help="Scenario name (A → scenarios/A.yaml, looked up in the current directory, then the package) or a path.",
        autocompletion=lambda incomplete: [n for n in shipped_scenarios() if n.startswith(incomplete)],
    ),
]
ProvidersOption = Annotated[
    Path | None,
    typer.Option("--providers", metavar="FILE",
        help="providers.yaml to use (default: ./providers.yaml, then the shipped one)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="FIELD=VALUE",
        help="Override a scenario field: --set routing.turn_deadline_s=60 (value parsed as YAML); repeatable.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
SeedOption = Annotated[int | None, typer.Option("--seed", metavar="N", min=0,
    help="Random seed, ≥ 0 (default: the scenario's).")]
FailIfShortOption = Annotated[
    bool,
    typer.Option(
        "--fail-if-short",
        help="Exit with status 1 when the plan falls short (for CI gates); without it a finished answer exits 0.",
    ),
]
InterviewsOption = Annotated[
    int, typer.Option("--interviews", "-n", metavar="N", min=1, help="Run the scenario's first N interviews.")
]


def load(scenario: str, providers: Path | None, overrides: list[str] | None) -> Configuration:
    """Resolve and load a scenario with its providers (raises UserError on any mistake)."""
    return load_configuration(scenario_path(scenario), providers or default_providers_path(), overrides or [])


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line per problem on stderr and exit status 2."""
    try:
        yield
    except UserError as exc:
        for line in exc.lines:
            err_console.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def print_json(payload: Any) -> None:
    """Write ``payload`` as indented JSON on stdout (no Rich markup)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def progress_bar(show: bool, *, counted: bool = False) -> Progress:
    """The progress bar of long commands, on stderr: description, bar, ``counted`` M/N, a
    ``detail`` field and the elapsed time; disabled (silent) unless ``show``."""
    columns: list[ProgressColumn] = [TextColumn("[bold]{task.description}"), BarColumn()]
    if counted:
        columns.append(MofNCompleteColumn())
    columns += [TextColumn("{task.fields[detail]}"), TimeElapsedColumn()]
    return Progress(*columns, console=err_console, disable=not show, transient=True)


Command = Callable[..., None]
