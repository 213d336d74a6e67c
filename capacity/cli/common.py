"""Options and error handling shared by every command."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from capacity.config import (
    Configuration,
    default_providers_path,
    load_configuration,
    scenario_path,
    shipped_scenarios,
)
from capacity.errors import UsageError, UserError
from capacity.studies.runner import Fidelity

MAX_SEED = 2**63 - 1
"""The largest --seed: the int64 range, kept exactly by JSON readers and numpy alike."""
MAX_DAYS = 3660
"""The longest --days, ten years of demand: a longer horizon is a typo, and would run for hours."""
MAX_REPLICATIONS = 1000
"""The most --replications: a 95 % interval is tight long before this."""
MAX_INTERVIEWS = 1_000_000
"""The most interviews a live run drives (a month of scenario A is 33,000)."""
MAX_WORKERS = 64
"""The most --jobs or --routers processes."""
DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))
"""Simulations a study (compare, size, report) runs at once by default: the machine's cores, at
most 4. Its runs are independent and seeded, so the number never changes a figure."""

PIPED_WIDTH = 160
"""Columns of tables written to a pipe or file when COLUMNS is not set."""

# piped output (CI logs, files) gets COLUMNS if set, else wide tables rather than Rich's 80 columns
# emoji=False: ":100:" in "file.yaml:100: field" is a line number, not an emoji code
_PIPED = not (sys.stdout.isatty() or os.environ.get("COLUMNS"))
console = Console(width=PIPED_WIDTH if _PIPED else None, emoji=False)
err_console = Console(stderr=True, emoji=False)

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
        help="Override a scenario field: --set routing.turn_deadline_s=60, or a provider's: --set "
        "providers.groq.accounts=2 (value parsed as YAML); repeatable.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
SeedOption = Annotated[int | None, typer.Option("--seed", metavar="N", min=0, max=MAX_SEED,
    help="Random seed, 0 to 2⁶³ − 1 (default: the scenario's).")]
FailIfShortOption = Annotated[
    bool,
    typer.Option(
        "--fail-if-short",
        help="Exit with status 1 when the plan falls short (for CI gates); without it a finished answer exits 0.",
    ),
]
InterviewsOption = Annotated[
    int, typer.Option("--interviews", "-n", metavar="N", min=1, max=MAX_INTERVIEWS,
        help="Run the scenario's first N interviews.")
]

T = TypeVar("T")


def load(scenario: str, providers: Path | None, overrides: list[str] | None) -> Configuration:
    """Resolve and load a scenario with its providers (raises UserError on any mistake)."""
    return load_configuration(scenario_path(scenario), providers or default_providers_path(), overrides or [])


def _writable_folder(folder: Path, what: str) -> None:
    """Raise UsageError unless ``folder``, or the nearest folder above it that exists, takes new files.

    Writability is probed by creating (and at once removing) a temporary file there, which
    also holds for root and for read-only or virtual file systems such as /proc.
    """
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{what}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(f"{what}: cannot write in {existing} ({exc.strerror or exc})") from None


def check_output_file(path: Path | None, option: str = "--out") -> None:
    """Check, before any work starts, that ``path`` can be written as a file (missing folders
    above it are created when it is written). Raises UsageError naming ``option``; None passes."""
    if path is None:
        return
    what = f"{option} {path}"
    if path.is_dir():
        raise UsageError(f"{what}: is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{what}: the file exists and is read-only")
    _writable_folder(path.parent, what)


def check_output_folder(path: Path | None, option: str = "--out") -> None:
    """Check, before any work starts, that ``path`` is (or can be created as) a folder new files
    can be written in. Raises UsageError naming ``option``; None passes."""
    if path is None:
        return
    what = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what}: is a file; give a folder")
    _writable_folder(path, what)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line per problem on stderr and exit status 2 (never a traceback)."""
    try:
        yield
    except UserError as exc:
        for line in exc.lines:
            err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def fidelity_of(value: str) -> Fidelity:
    """The engine ``--fidelity`` names (exact or fluid); UsageError for any other word."""
    if value == "exact":
        return "exact"
    if value == "fluid":
        return "fluid"
    raise UsageError(f"--fidelity {value}: expected exact or fluid")


def json_text(payload: Any, indent: int = 2) -> str:
    """``payload`` as strict JSON (RFC 8259): a NaN or infinite number — a figure not modelled, an
    interval not defined — is written ``null``, which every parser reads (Python's own default writes
    ``NaN`` and ``-Infinity``, which JavaScript's ``JSON.parse`` refuses)."""
    return json.dumps(_finite(payload), indent=indent, default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_json(payload: Any) -> None:
    """Write ``payload`` as indented strict JSON on stdout (no Rich markup; :func:`json_text`)."""
    sys.stdout.write(json_text(payload) + "\n")


def show_progress(progress: bool, as_json: bool = False) -> bool:
    """Whether a long command draws its progress bar: asked for (``--progress``, the default),
    stderr a terminal, and not ``--json`` (a machine reading the output wants no bar, even on
    a terminal)."""
    return progress and not as_json and err_console.is_terminal


def progress_bar(show: bool, *, counted: bool = False) -> Progress:
    """The progress bar of long commands, on stderr: description, bar, ``counted`` M/N, a
    ``detail`` field, the elapsed time and the estimated time left (ETA, from the rate so far);
    disabled (silent) unless ``show``."""
    columns: list[ProgressColumn] = [TextColumn("[bold]{task.description}"), BarColumn()]
    if counted:
        columns.append(MofNCompleteColumn())
    columns += [TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=err_console, disable=not show, transient=True)


def counted_runs(
    show: bool, work: Callable[[Callable[[int, int, str], None]], T], total: int | None = None
) -> T:
    """``work(progress)`` under a counted progress bar ("simulating", runs done of runs in all,
    the run that just finished); ``progress`` is what a study calls after each run. ``total``:
    the runs in all, where known before the first ends (else the bar learns it then)."""
    with progress_bar(show, counted=True) as bar:
        task = bar.add_task("simulating", total=total, detail="")

        def update(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, detail=what)

        return work(update)


Command = Callable[..., None]


def warn_unless_loopback(host: str) -> None:
    """Warn on stderr when a server the tool starts listens beyond this machine (``host`` is
    the address it bound; loopback is the default of every server command)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        err_console.print(
            f"[yellow]warning:[/yellow] listening on {host}, reachable beyond this machine", highlight=False
        )
