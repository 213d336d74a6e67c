"""``capacity scenarios``, ``capacity init`` and ``capacity schema``: starting one's own scenario."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from capacity.cli.app import app
from capacity.cli.common import JsonOption, check_output_file, console, print_json, user_errors
from capacity.config.loader import scenario_description
from capacity.config.paths import scenario_path, shipped_scenario_path, shipped_scenarios
from capacity.config.schema import json_schema
from capacity.errors import UsageError
from capacity.report.reference import reference_markdown

STARTER = """\
# {name}: a capacity scenario (written by `capacity init` on {today}).
# Only demand, candidates and routing are required; every other section takes the documented
# default (the shipped interview script and business-hours calendar): see docs/reference.md,
# or `capacity schema scenario`. Run it with `capacity plan -s {file}` and `capacity simulate -s {file}`.
description: "500 interviews over 5 days on two free tiers"
demand: {{kind: total, interviews: 500, days: 5}}   # or {{kind: per_day, interviews: N, days: 1}}
candidates: {{count: 50, interviews_each: 10}}       # count × interviews_each = demand.interviews
routing:
  destinations:                                     # tried in this order (strategy: fill_first)
    - {{provider: groq, model: llama-3.1-8b-instant}} # `capacity providers` lists them all
    - {{provider: gemini, model: gemini-2.5-flash-lite}}
# Optional sections, shown with their defaults:
# calendar: {{start_date: 2025-10-06, business_hours_start: "09:00", business_hours_end: "18:00",
#            weekdays_only: true}}           # the quotas in force on start_date are the ones used: free
#                                            # tiers were cut or withdrawn on dated days (capacity providers)
# script: {{rounds: 12}}                               # the shipped interview; change any field
# cache: {{enabled: true, ttl_s: 3600}}
# sla: {{p95_turn_latency_s: 3.0, ttft_s: 1.0}}
"""
"""The scenario ``capacity init`` writes without ``--from``: the README's ten lines, commented."""


@app.command()
def scenarios(as_json: JsonOption = False) -> None:
    """List the shipped scenarios (and those in ./scenarios) with their one-line descriptions.

    Examples:

        capacity scenarios

        capacity scenarios --json

    Exit status: 0 listed, 2 a scenario file is broken.
    """
    with user_errors():
        rows = [(name, scenario_description(scenario_path(name))) for name in shipped_scenarios()]
    if as_json:
        print_json([{"name": n, "description": d} for n, d in rows])
        return
    table = Table(title="Scenarios (-s NAME)", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("description", overflow="fold")
    for name, description in rows:
        table.add_row(escape(name), escape(description))
    console.print(table)


@app.command()
def init(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new scenario's name: writes NAME.yaml.")],
    *,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="SCENARIO", help="Start from a copy of this shipped scenario (e.g. A)."),
    ] = None,
    folder: Annotated[
        Path, typer.Option("--dir", metavar="FOLDER", help="Folder to write NAME.yaml in.")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite NAME.yaml if it exists.")] = False,
) -> None:
    """Write a commented starting scenario, NAME.yaml: the ten required lines with the optional
    sections shown as comments, or with --from a copy of a shipped scenario to edit.

    Examples:

        capacity init week && capacity plan -s week.yaml

        capacity init my-month --from A

    Exit status: 0 written, 2 bad input (unknown --from, file exists without --force).
    """
    with user_errors():
        if not name or Path(name).name != name or name.endswith((".yaml", ".yml")):
            raise UsageError(f"NAME {name!r}: expected a plain name such as week (writes week.yaml)")
        target = folder / f"{name}.yaml"
        if target.exists() and not force:
            raise UsageError(f"{target} exists; choose another NAME or add --force")
        check_output_file(target, "--dir")
        today = dt.date.today().isoformat()
        if from_ is None:
            text = STARTER.format(name=name, today=today, file=target)
        else:
            source = shipped_scenario_path(from_) or scenario_path(from_)
            text = (
                f"# {name}: started from scenario {from_} by `capacity init` on {today}; edit freely.\n"
                f"# Fields left out take their defaults (docs/reference.md).\n" + source.read_text(encoding="utf-8")
            )
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}: try `capacity plan -s {target}`", highlight=False)


@app.command()
def schema(
    kind: Annotated[
        str, typer.Argument(metavar="FILE", help="Which file's schema: scenario or providers.")
    ] = "scenario",
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference of every field of both files (docs/reference.md).")
    ] = False,
) -> None:
    """Print the JSON Schema of a scenario or of providers.yaml, from the models (types, bounds,
    defaults, descriptions with units), for an editor to validate and complete the YAML.

    Examples:

        capacity schema scenario > scenario.schema.json

        capacity schema providers > providers.schema.json

        capacity schema --markdown > docs/reference.md

    In VS Code (YAML extension), put `# yaml-language-server: $schema=scenario.schema.json` on a
    scenario's first line.

    Exit status: 0 printed, 2 bad input.
    """
    if markdown:
        typer.echo(reference_markdown(), nl=False)
        return
    with user_errors():
        if kind not in ("scenario", "providers"):
            raise UsageError(f"FILE {kind!r}: expected scenario or providers")
    which: Literal["scenario", "providers"] = "scenario" if kind == "scenario" else "providers"
    print_json(json_schema(which))
