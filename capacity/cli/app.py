"""The Typer application and the registration of every command."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from capacity import ENGINE, __version__


class _NamedArgument(TyperArgument):
    """A positional argument whose help shows its name in words (``NAME…``) and no Python type
    beside it (Typer would add ``<str>``, ``<list[str]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        """No type column: the argument's name already says what to write."""
        return None


def _flags_without_type(params: list[Any]) -> list[Any]:
    """Help that names values in words: flags take no value, so no type beside them (Typer would
    print ``<bool>``), and positional arguments show their name only.

    Every option that takes a value names it with a metavar in words (``N``, ``FILE``,
    ``NAME|FILE``); ``tests/cli`` checks each command's ``--help`` for a ``<type>`` left over.
    """
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif type(param) is TyperArgument:
            param.__class__ = _NamedArgument
    return params


class WordsCommand(TyperCommand):
    """A command whose ``--help`` names values in words, with no type beside flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The command's parameters, ``--help`` included, flags without a type in help."""
        return _flags_without_type(super().get_params(ctx))


class WordsGroup(TyperGroup):
    """The root command, as :class:`WordsCommand` (``--version``, ``--install-completion``, ``--help``);
    bad input Click itself finds (an option's range or type, an unknown option, a missing value) is
    one line on stderr and exit status 2, as the commands' own checks are, not Typer's usage box."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's parameters, ``--help`` included, flags without a type in help."""
        return _flags_without_type(super().get_params(ctx))

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        """Parse the root's options (``capacity --bogus``: one line, exit 2)."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: Any) -> Any:
        """Run the command named (its options parsed here: ``-r 0``, one line, exit 2)."""
        try:
            return super().invoke(ctx)
        except _UsageError as exc:
            raise _one_line(exc) from None


_UsageError: Any = typer.BadParameter.__bases__[0]
"""Click's ``UsageError`` as Typer raises it (Typer 0.2x carries its own copy of Click, whose classes are
not the ``click`` package's): the base of every error of the command line's parsing."""


def _one_line(exc: Any) -> typer.Exit:
    """Say the usage error ``exc`` in one line on stderr — what is wrong, and the command whose help
    explains it — and return the exit (status 2) to raise."""
    where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
    message = " ".join(exc.format_message().split())
    typer.echo(f"error: {message}{where}", err=True)
    return typer.Exit(exc.exit_code)


def words_in_help(typer_app: typer.Typer) -> None:
    """Make every command registered on ``typer_app`` so far a :class:`WordsCommand` (call once all
    commands are registered: ``capacity.cli`` does)."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):  # Typer's default
            info.cls = WordsCommand


app = typer.Typer(
    cls=WordsGroup,
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
        typer.echo(f"capacity {__version__}; {ENGINE.describe()}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version, and which engine runs (compiled or pure Python, and why).",
    ),
) -> None:
    """Capacity planner and load simulator for AI-led job interviews."""
    if ctx.invoked_subcommand is None:  # bare `capacity`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def main() -> None:
    """Entry point of the ``capacity`` console script."""
    app()
