"""The Typer application and the registration of every command."""

from __future__ import annotations

import typer

from capacity import __version__

app = typer.Typer(
    name="capacity",
    help=(
        "Capacity planner and load simulator for AI-led job interviews: how many interviews a "
        "plan of LLM APIs and GPUs carries, at what turn latency and cost, which quota binds "
        "first, and what to buy.\n\nExit status: 0 done (a plan that falls short is an answer), "
        "1 a check failed or, with --fail-if-short, the plan falls short, 2 bad input."
    ),
    invoke_without_command=True,
    rich_markup_mode="markdown",
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Capacity planner and load simulator for AI-led job interviews."""
    if ctx.invoked_subcommand is None:  # bare `capacity`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def main() -> None:
    """Entry point of the ``capacity`` console script."""
    app()
