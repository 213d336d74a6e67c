"""``capacity plan``: the static arithmetic over quotas, per provider and in total."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    FailIfShortOption,
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
    seed_claims: Annotated[
        bool,
        typer.Option(
            "--seed-claims",
            help="Also check the seed document's claimed quotas against the 2025 sources (always for -s seed-claims).",
        ),
    ] = False,
    fail_if_short: FailIfShortOption = False,
) -> None:
    """Static capacity plan: requests/day per provider under its binding limit, interviews/day
    after templates and cache hits, the total against the need, and the monthly cost.

    For the seed-claims scenario it also reproduces the seed document's arithmetic (1,090 /
    1,560 / 2,262 interviews a day) beside the corrected arithmetic and checks the seed's
    claimed quotas against the 2025 sources in providers.yaml (--seed-claims adds that check
    to any plan).

    Examples:

        capacity plan -s A

        capacity plan -s B --set routing.destinations[0].accounts=3

        capacity plan -s seed-claims

        capacity plan -s my.yaml --fail-if-short --json > plan.json

    Exit status: 0 planned (whether or not it carries the need), 1 it falls short and
    --fail-if-short was given, 2 bad input.
    """
    with user_errors():
        config = load(scenario, providers, set_)
        wanted = seed_claims and config.scenario.seed_claims is None
        reference = _seed_claims(providers) if wanted else None
        result = make_plan(config, reference)
    if as_json:
        print_json(result.to_json())
    else:
        render_plan(result, console)
    if fail_if_short and not result.totals.carries_need:
        raise typer.Exit(1)
