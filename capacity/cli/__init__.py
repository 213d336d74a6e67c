"""The ``capacity`` command line: a thin Typer app; each command parses options, calls one
function of the package and renders its result. Each command lives in its own module,
which registers itself on ``app`` when imported below."""

import capacity.cli.gpu_cmd  # noqa: F401  (registers `capacity gpu`)
from capacity.cli import (  # noqa: F401  (each registers its command)
    check_cmd,
    compare_cmd,
    emulate_cmd,
    live_cmd,
    plan_cmd,
    providers_cmd,
    report_cmd,
    scenario_cmd,
    serve_cmd,
    simulate_cmd,
    size_cmd,
    sweep_cmd,
    validate_cmd,
)
from capacity.cli.app import app, main, words_in_help

words_in_help(app)  # values named in words in every --help, no `<bool>` beside flags

__all__ = ["app", "main"]
