"""``capacity serve``: the router as an OpenAI-compatible service in front of a scenario's providers."""

from __future__ import annotations

import asyncio
import math
import os
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    ProvidersOption,
    ScenarioOption,
    SetOption,
    err_console,
    load,
    user_errors,
    warn_unless_loopback,
)
from capacity.cli.emulate_cmd import LOG_LEVELS
from capacity.cli.live_cmd import EndpointOption
from capacity.errors import UsageError
from capacity.live.emulator import bind
from capacity.live.performer import MissingKeysError, parse_endpoint_options, resolve_routes
from capacity.live.serve import DEFAULT_GROUP, ServeSettings, serve_forever
from capacity.live.shared import connect_checked

TOKENS_ENV = "CAPACITY_SERVE_TOKENS"
"""The environment variable holding the clients' bearer tokens, comma-separated, by default."""


async def _check_redis(url: str) -> None:
    client = await connect_checked(url)
    await client.aclose()


@app.command()
def serve(
    scenario: ScenarioOption = "A",
    providers: ProvidersOption = None,
    set_: SetOption = None,
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535,
        help="TCP port (0: any free port).")] = 4000,
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS",
        help="Address to listen on (loopback by default).")] = "127.0.0.1",
    group: Annotated[str, typer.Option("--group", metavar="NAME",
        help="The model group clients name as `model`: the scenario's routing.")] = DEFAULT_GROUP,
    redis: Annotated[
        str | None,
        typer.Option("--redis", metavar="URL",
            help="Share quotas and session affinity with every instance using this Redis (redis://host:port/db)."),
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", metavar="PREFIX",
        help="Prefix of the Redis keys (instances sharing quotas use the same).")] = "capacity:serve",
    emulator: Annotated[
        str | None,
        typer.Option("--emulator", metavar="URL", help="Send every provider's requests to this `capacity emulate`."),
    ] = None,
    endpoint: EndpointOption = None,
    max_wait: Annotated[
        float, typer.Option("--max-wait", metavar="SECONDS", min=0.0,
            help="Longest a request waits for quota before a 429 with Retry-After (wall s).")
    ] = 0.0,
    time_scale: Annotated[
        float, typer.Option("--time-scale", metavar="FACTOR",
            help="Run time per wall second, for a rehearsal against `capacity emulate` at the same scale "
            "(one instance, quotas in memory).")
    ] = 1.0,
    tokens_env: Annotated[
        str, typer.Option("--tokens-env", metavar="NAME",
            help="Environment variable of the clients' bearer tokens, comma-separated (unset: no auth).")
    ] = TOKENS_ENV,
    log_level: Annotated[
        str, typer.Option("--log-level", metavar="LEVEL", help=f"Server log level: {', '.join(LOG_LEVELS)}.")
    ] = "warning",
) -> None:
    """Serve the scenario's routing as one OpenAI-compatible model group: POST /v1/chat/completions
    (streamed or not) with `model` set to the group, through the same policy core as `capacity
    live` (quota ledger, strategy, cool-downs, retries, cache, de-duplication). A session id
    (header x-session-id, or OpenAI's `user`) keeps an interview on one provider while it has
    quota. Every answer carries x-ratelimit-* headers for the group; when no provider has quota
    the answer is 429 with Retry-After. GET /v1/models, /api/optimization_stats, /metrics
    (Prometheus), /healthz, /readyz. Runs until Ctrl-C.

    Examples:

        capacity serve -s A --port 4000 --emulator http://127.0.0.1:8400

        capacity serve -s A --redis redis://127.0.0.1:6379/0   # one of several instances

    Exit status: 0 stopped, 2 bad input (or the address cannot be bound, or no Redis answers).
    """
    with user_errors():
        if log_level not in LOG_LEVELS:
            raise UsageError(f"--log-level {log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
        if not math.isfinite(max_wait):
            raise UsageError(f"--max-wait {max_wait}: must be a finite number of seconds")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise UsageError(f"--time-scale {time_scale}: must be a finite number > 0")
        if redis is not None and time_scale != 1.0:
            raise UsageError("--time-scale: instances sharing Redis run on the wall clock; leave it at 1")
        if not group.strip():
            raise UsageError("--group: the model group needs a name")
        config = load(scenario, providers, set_)
        if group.strip() in config.scenario.routing.groups:
            raise UsageError(
                f"--group {group.strip()}: scenario {config.scenario.name} has a model group of that name in "
                "routing.groups; serve routing.destinations under another (--group NAME)"
            )
        if config.scenario.gpu_pools:
            raise UsageError(f"scenario {config.scenario.name}: capacity serve routes to API providers only "
                             "(this scenario has GPU pools)")
        try:
            routes = resolve_routes(config, emulator=emulator, overrides=parse_endpoint_options(endpoint or []))
        except MissingKeysError as exc:
            for line in exc.lines:
                err_console.print(f"[red]error:[/red] {line}", highlight=False)
            raise typer.Exit(2) from None
        if redis is not None:
            asyncio.run(_check_redis(redis))
        tokens = tuple(t.strip() for t in os.environ.get(tokens_env, "").split(",") if t.strip())
        try:
            sock = bind(host, port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    settings = ServeSettings(config, routes, group=group.strip(), redis_url=redis, namespace=namespace,
                             tokens=tokens, max_wait_s=max_wait, time_scale=time_scale)
    bound_host, bound_port = sock.getsockname()[:2]
    base = f"http://{bound_host}:{bound_port}"
    auth = f"bearer tokens from {tokens_env}" if tokens else "no client authentication"
    ledger = f"quotas shared in Redis ({namespace})" if redis else "quotas in memory"
    members = config.scenario.routing.group_members
    served = ", ".join(  # the first is routing.destinations, served under --group's name
        f"{(group.strip() if i == 0 else name)!r} ({len(m)} destination{'' if len(m) == 1 else 's'})"
        for i, (name, m) in enumerate(members.items())
    )
    err_console.print(
        f"capacity serve: model group{'s' if len(members) > 1 else ''} {served} at {base}/v1; "
        f"{ledger}; {auth}; GET {base}/api/optimization_stats, {base}/metrics; Ctrl-C stops.",
        highlight=False,
        soft_wrap=True,
    )
    warn_unless_loopback(bound_host)
    serve_forever(settings, sock, log_level)
