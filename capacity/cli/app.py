"""The Typer application and the registration of every command."""

from __future__ import annotations

import typer

from capacity import __version__

app = typer.Typer(
    name="capacity",
    help=(
        "Capacity planner and load simulator for AI-led job interviews: how many interviews a "
        "plan of LLM APIs and GPUs carries, at what turn latency and cost, which quota binds "
        "first, and what to buy.\n\nExit status: 0 ok (or the plan carries the demand), "
        "1 the plan falls short / a check failed, 2 bad input."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Capacity planner and load simulator for AI-led job interviews."""


def main() -> None:
    """Entry point of the ``capacity`` console script."""
    app()
