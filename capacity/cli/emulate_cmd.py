"""``capacity emulate``: serve the quota-faithful provider emulator on loopback."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import ProvidersOption, err_console, load, user_errors, warn_unless_loopback
from capacity.config import default_providers_path, load_providers
from capacity.config.providers import Provider
from capacity.config.scenario import Outage
from capacity.errors import UsageError
from capacity.live.emulator import Emulator, FaultKind, FaultRates, ScaledClock, bind, parse_fault_rate, serve_forever
from capacity.workload.calendar import run_start as scenario_start

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _parse_start(text: str) -> dt.datetime:
    try:
        start = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--start {text!r}: expected an ISO date-time such as 2025-03-09T07:30:00Z") from None
    return start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start


def _fault_rates(specs: list[str], known: set[str]) -> FaultRates:
    rates: dict[str, dict[FaultKind, float]] = defaultdict(dict)
    for text in specs:
        try:
            provider, kind, rate = parse_fault_rate(text)
        except ValueError as exc:
            raise UsageError(f"--fault {exc}") from None
        if provider != "*" and provider not in known:
            raise UsageError(f"--fault {text!r}: unknown provider {provider!r} (known: {', '.join(sorted(known))})")
        rates[provider][kind] = rate
    try:
        return FaultRates(rates)
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None


@app.command()
def emulate(
    providers_path: ProvidersOption = None,
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535,
        help="TCP port (0: any free port).")] = 8400,
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS",
        help="Address to listen on (loopback by default).")] = "127.0.0.1",
    time_scale: Annotated[
        float, typer.Option("--time-scale", metavar="FACTOR",
            help="Emulated seconds per wall second (60: an hour a minute).")
    ] = 1.0,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", "-s", metavar="NAME|FILE",
            help="Take outages, start date, seed and extra providers from a scenario."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", metavar="DATE",
            help="Emulated instant of run time 0, ISO (default: the scenario's start, else now)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", min=0,
        help="Seed of latency and error draws.")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", metavar="[PROVIDER:]KIND=RATE",
            help="Inject a fault at a rate: [PROVIDER:]KIND=RATE (groq:reset=0.01); repeatable."),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", metavar="LEVEL", help=f"Server log level: {', '.join(LOG_LEVELS)}.")
    ] = "warning",
) -> None:
    """Serve an OpenAI-compatible API per provider (POST /p/{provider}/v1/chat/completions)
    that enforces each model's quotas per account (one bearer key = one account), answers 429
    with retry-after and x-ratelimit headers, sleeps per the latency model on a clock
    compressed by --time-scale, and injects errors, outages and faults. GET /stats reports
    what it served and refused and the most seen in any window of each limit; POST /reset
    clears it. Runs until Ctrl-C.

    Examples:

        capacity emulate -s A --port 8400 --time-scale 60

        capacity emulate -s A --fault groq:rate_limit_bare=0.05

    Exit status: 0 stopped, 2 bad input (or the address cannot be bound).
    """
    with user_errors():
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise UsageError(f"--time-scale {time_scale}: must be a finite number > 0")
        if log_level not in LOG_LEVELS:
            raise UsageError(f"--log-level {log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
        outages: list[Outage] = []
        provider_list: list[Provider]
        if scenario is not None:
            config = load(scenario, providers_path, None)
            provider_list = list(config.providers.values())
            outages = list(config.scenario.outages)
            origin = scenario_start(config.scenario.calendar)
            seed = config.scenario.seed if seed is None else seed
        else:
            provider_list = list(load_providers(providers_path or default_providers_path()).providers)
            origin = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if start is not None:
            origin = _parse_start(start)
        rates = _fault_rates(fault or [], {p.name for p in provider_list})
        try:
            sock = bind(host, port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    emulator = Emulator(
        provider_list, ScaledClock(time_scale), origin, seed=1 if seed is None else seed, outages=outages, faults=rates
    )
    bound_host, bound_port = sock.getsockname()[:2]
    base = f"http://{bound_host}:{bound_port}"
    err_console.print(
        f"capacity emulate: {len(provider_list)} providers on {base}/p/{{provider}}/v1 "
        f"(time ×{time_scale:g}, run start {origin.isoformat()}); GET {base}/stats; Ctrl-C stops.",
        highlight=False,
        soft_wrap=True,
    )
    warn_unless_loopback(bound_host)
    serve_forever(emulator, sock, log_level)
