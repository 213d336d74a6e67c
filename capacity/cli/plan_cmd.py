"""``capacity plan``: the static arithmetic over quotas, per provider and in total."""

from __future__ import annotations

from pathlib import Path

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SetOption,
    console,
    load,
    print_json,
    user_errors,
)
from capacity.config.scenario import SeedClaims
from capacity.errors import UsageError
from capacity.plan import plan as make_plan
from capacity.report.plan_tables import render_plan

SEED_SCENARIO = "seed-claims"
"""The shipped scenario that keeps the seed document's claims, checked against every plan."""


def _seed_claims(providers: Path | None) -> SeedClaims | None:
    """The seed's claims from the seed-claims scenario, or None where no such scenario is found."""
    try:
        return load(SEED_SCENARIO, providers, None).scenario.seed_claims
    except UsageError:
        return None


@app.command()
def plan(
    scenario: ScenarioOption,
    providers: ProvidersOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Static capacity plan: requests/day per provider under its binding limit, interviews/day
    after templates and cache hits, the total against the need, and the monthly cost.

    For the seed-claims scenario it also reproduces the seed document's arithmetic (1,090 /
    1,560 / 2,262 interviews a day) beside the corrected arithmetic; every plan checks the
    seed's claimed quotas against the 2025 sources in providers.yaml.

    Exit status: 0 the plan carries the need, 1 it falls short, 2 bad input.
    """
    with user_errors():
        config = load(scenario, providers, set_)
        reference = None if config.scenario.seed_claims is not None else _seed_claims(providers)
        result = make_plan(config, reference)
    if as_json:
        print_json(result.to_json())
    else:
        render_plan(result, console)
    if not result.totals.carries_need:
        raise typer.Exit(1)
