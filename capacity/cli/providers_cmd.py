"""``capacity providers``: the configured providers, their limits, sources and ages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import JsonOption, ProvidersOption, console, print_json, user_errors
from capacity.config import default_providers_path, load_providers
from capacity.errors import UsageError
from capacity.report.providers_table import providers_json, render_providers

StaleDaysOption = Annotated[
    int,
    typer.Option("--stale-days", metavar="DAYS", min=0,
        help="Mark entries whose source was read more than N days ago as stale."),
]
TodayOption = Annotated[
    str | None,
    typer.Option("--today", metavar="DATE",
        help="The date ages are measured to, YYYY-MM-DD, not before any as_of (default: today)."),
]


def _parse_today(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--today {text!r}: expected a date YYYY-MM-DD") from None


@app.command()
def providers(
    providers_path: ProvidersOption = None,
    stale_days: StaleDaysOption = 180,
    today: TodayOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the configured providers: limits per account, prices, sources and as_of dates,
    marking entries older than --stale-days as stale.

    Examples:

        capacity providers

        capacity providers --stale-days 90 --json

    Exit status: 0 listed (stale entries are marked, not an error), 2 bad input.
    """
    with user_errors():
        date = _parse_today(today)
        catalogue = load_providers(providers_path or default_providers_path())
        newest = max(catalogue.providers, key=lambda p: p.as_of, default=None)
        if newest is not None and date < newest.as_of:
            raise UsageError(
                f"--today {date}: before provider {newest.name}'s as_of {newest.as_of} "
                "(ages would be negative); give a date on or after it"
            )
    if as_json:
        print_json(providers_json(catalogue.providers, date, stale_days))
    else:
        render_providers(catalogue.providers, date, stale_days, console)
