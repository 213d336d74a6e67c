"""The ``capacity`` command line: a thin Typer app; each command parses options, calls one
function of the package and renders its result. Each command lives in its own module,
which registers itself on ``app`` when imported below."""

from capacity.cli.app import app, main

__all__ = ["app", "main"]
