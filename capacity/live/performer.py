"""Where each live call goes: endpoints for every destination, and the call performer.

A provider destination has one endpoint per account: account 0 uses the key in the
environment variable providers.yaml names (``GROQ_API_KEY``), account *k* > 0 the same name
with ``_{k+1}`` (``GROQ_API_KEY_2``), so the router's choice of account is the key the
request carries. A GPU pool's destination has one endpoint per server (its replicas), given
on the command line; the policy's join-the-shortest-queue choice picks among them.

Where the endpoints are:

* by default, each provider's ``base_url`` from providers.yaml (real providers, real keys);
* ``--emulator URL``: every provider at the project's emulator, ``URL/p/{provider}/v1``,
  with a made-up key per account (the emulator keys accounts by bearer token), its headers
  read as OpenAI's (unsuffixed = per minute, as the emulator writes them);
* ``--endpoint NAME=URL``: provider ``NAME`` (all its models) at ``URL`` (a local vLLM,
  llama.cpp or Ollama server's ``.../v1``), or GPU pool ``NAME`` at ``URL[,URL…]`` (one
  server each; append ``#model`` to name the model the server serves).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import httpx

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.chat import ChatRequest, Endpoint, fill_call
from capacity.live.messages import chat_messages
from capacity.live.ratelimits import OPENAI, dialect_for
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core

__all__ = [
    "HttpPerformer",
    "MissingKeysError",
    "Routes",
    "account_key_env",
    "emulator_clock_warning",
    "emulator_run_start",
    "parse_endpoint_options",
    "resolve_routes",
]


def account_key_env(api_key_env: str, account: int) -> str:
    """The environment variable holding account ``account``'s key (0 → the name itself)."""
    return api_key_env if account == 0 else f"{api_key_env}_{account + 1}"


def parse_endpoint_options(options: Sequence[str]) -> dict[str, list[str]]:
    """``NAME=URL[,URL…]`` options → {name: [url, …]}; raises UsageError on a malformed one."""
    out: dict[str, list[str]] = {}
    for option in options:
        name, sep, urls = option.partition("=")
        parts = [u.strip() for u in urls.split(",") if u.strip()]
        if not sep or not name.strip() or not parts:
            raise UsageError(f"--endpoint {option!r}: expected NAME=URL (a provider or GPU pool, and its base URL)")
        out[name.strip()] = parts
    return out


@dataclass(frozen=True)
class Routes:
    """The endpoints of every destination: ``endpoints[i][k]`` is destination *i*'s account
    (provider) or server (GPU pool) *k*."""

    endpoints: tuple[tuple[Endpoint, ...], ...]


def resolve_routes(
    config: Configuration,
    *,
    emulator: str | None = None,
    overrides: Mapping[str, list[str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Routes:
    """Endpoints for every destination of ``config`` (see the module docstring).

    Raises :class:`UsageError` for an override naming nothing the scenario routes to, a GPU
    pool without endpoints or with a count other than its servers, or a key variable unset.
    """
    env = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    if emulator is not None and not emulator.startswith(("http://", "https://")):
        raise UsageError(f"--emulator {emulator!r}: expected the emulator's http://host:port")
    sc = config.scenario
    pools = {p.name: p for p in sc.gpu_pools}
    known = {d.provider for d in sc.routing.all_destinations if d.provider} | set(pools)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UsageError(
            f"--endpoint {unknown[0]}: the scenario routes to no provider or pool of that name "
            f"(it routes to: {', '.join(sorted(known))})"
        )
    table: list[tuple[Endpoint, ...]] = []
    missing: list[str] = []
    for d in sc.routing.all_destinations:
        if d.pool is not None:
            urls = overrides.get(d.pool)
            pool = pools[d.pool]
            if not urls:
                raise UsageError(
                    f"GPU pool {d.pool}: live mode needs its servers' URLs: --endpoint {d.pool}=URL[,URL…]"
                )
            if len(urls) != pool.servers:
                raise UsageError(f"GPU pool {d.pool} has {pool.servers} servers but --endpoint gave {len(urls)} URLs")
            servers = []
            for k, url in enumerate(urls):
                base, _, model = url.partition("#")
                servers.append(Endpoint(f"{d.pool}[{k}]", base, model or pool.model))
            table.append(tuple(servers))
            continue
        assert d.provider is not None and d.model is not None
        provider = config.provider(d.provider)
        spec = provider.model(d.model)
        assert spec is not None
        accounts = d.accounts or provider.accounts
        accounts_endpoints = []
        for k in range(accounts):
            name = f"{provider.name}/{d.model}" + (f" (account {k + 1})" if accounts > 1 else "")
            dialect = dialect_for(provider.name)
            if emulator is not None:
                base = f"{emulator.rstrip('/')}/p/{provider.name}/v1"
                made_up = f"CAPACITY_EMULATOR_KEY_{len(table)}_{k}"
                env.setdefault(made_up, f"emulator-{provider.name}-account-{k + 1}")
                accounts_endpoints.append(
                    Endpoint.from_env(
                        name, base, d.model, api_key_env=made_up, timeout_s=spec.timeout_s, dialect=OPENAI, environ=env
                    )
                )
                continue
            base = overrides[provider.name][0] if provider.name in overrides else provider.base_url
            key_env = account_key_env(provider.api_key_env, k) if provider.api_key_env else None
            local = provider.name in overrides and (key_env is None or key_env not in env)
            try:
                endpoint = Endpoint.from_env(
                    name,
                    base,
                    d.model,
                    api_key_env=None if local else key_env,  # a local server needs no key
                    timeout_s=spec.timeout_s,
                    dialect=dialect,
                    environ=env,
                )
            except UsageError as exc:  # an unset key: name every one at once
                missing.append(str(exc))
                continue
            accounts_endpoints.append(endpoint)
        table.append(tuple(accounts_endpoints))
    if missing:
        raise MissingKeysError(missing)
    return Routes(tuple(table))


class MissingKeysError(UsageError):
    """API keys the routed providers need are not in the environment: one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))

    @property
    def lines(self) -> list[str]:
        """One line per missing key, then how to proceed."""
        return [*self.problems, "export them, or rehearse against the emulator with --emulator URL"]


def emulator_run_start(url: str, timeout_s: float = 2.0) -> dt.datetime | None:
    """The instant the emulator at ``url`` (``http://host:port``) counts its run time from, as its
    ``GET /stats`` says (``clock.run_start``); None if it does not answer in ``timeout_s`` wall s
    or says no date (the run then says what the endpoint did)."""
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False) as client:
            doc = client.get(f"{url.rstrip('/')}/stats").json()
        start = dt.datetime.fromisoformat(doc["clock"]["run_start"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return start if start.tzinfo is not None else start.replace(tzinfo=dt.UTC)


def emulator_clock_warning(emulator_start: dt.datetime, scenario_start: dt.datetime, scenario: str) -> str | None:
    """One line when an emulator's clock starts more than a day from the scenario's start, else
    None: the emulator then enforces its own date's catalogue — models withdrawn by then answer
    404, quotas cut or raised since apply — which is not the plan being rehearsed. ``scenario``
    is the name (or file) the user gave, for the command that aligns them."""
    gap = emulator_start - scenario_start
    if abs(gap) <= dt.timedelta(days=1):
        return None
    days = abs(gap).days
    side = "after" if gap > dt.timedelta(0) else "before"
    return (
        f"the emulator's clock starts on {emulator_start.date()}, {days:,} days {side} the scenario's "
        f"{scenario_start.date()}: it answers as on its own date (models withdrawn by then refuse with 404, "
        f"quotas changed since apply); align it: capacity emulate -s {scenario} (or --start {scenario_start.date()})"
    )


MIN_DEADLINE_WALL_S = 1.0
"""The shortest wall-clock deadline a compressed run gives a request, s. A loaded machine
delays a request by tens of wall milliseconds on our side alone; at ``--time-scale 600`` a
60 s deadline would be 0.1 wall s and time out healthy requests."""


def _wall_deadline(timeout_s: float, time_scale: float) -> float:
    """A request's wall-clock deadline, s, for a run-time deadline ``timeout_s``."""
    return max(timeout_s / time_scale, min(timeout_s, MIN_DEADLINE_WALL_S))


class HttpPerformer:
    """Performs the core's calls over HTTP: synthetic chat messages of the sampled length,
    ``max_tokens`` as the quota reserved it, and the sampled output length as the emulator's
    hint; the outcome is written back into the call in run time (``time_scale``). With
    ``sessions`` each request names its candidate as OpenAI's ``user`` (``candidate-17``), so a
    router in between (``capacity serve``) keeps an interview's turns on one provider. With
    ``keyed_draws`` (``capacity validate``) each request carries its call's key, so the emulator
    draws the call's failure and service time as the simulator of the same seed does
    (:mod:`capacity.workload.keyed`).

    Each endpoint's deadline (providers.yaml's ``timeout_s``) is run time, as the simulator
    counts it: a compressed run gives a request ``timeout_s / time_scale`` wall seconds (60 s
    at ``--time-scale 60`` is one wall second, as the emulator's latencies are compressed
    alike), but never under :data:`MIN_DEADLINE_WALL_S`. Raises ``ValueError`` unless
    ``routes`` has one endpoint list per destination."""

    def __init__(
        self,
        core: Core,
        routes: Routes,
        transport: ChatTransport,
        time_scale: float = 1.0,
        sessions: bool = False,
        keyed_draws: bool = False,
    ) -> None:
        if len(routes.endpoints) != len(core.destinations):
            raise ValueError("one endpoint list per destination")
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.core = core
        if time_scale != 1.0:
            routes = Routes(
                tuple(tuple(replace(e, timeout_s=_wall_deadline(e.timeout_s, time_scale)) for e in es)
                      for es in routes.endpoints)
            )
        self.routes = routes
        self.transport = transport
        self.time_scale = time_scale
        self.sessions = sessions
        self.keyed_draws = keyed_draws

    def endpoint(self, call: Call) -> Endpoint:
        """The endpoint ``call`` goes to: its account's (provider) or its server's (GPU pool)."""
        dest = call.routed.destination
        options = self.routes.endpoints[dest.index]
        k = call.server if dest.replicas is not None else call.routed.admission.account
        return options[k % len(options)]

    async def __call__(self, call: Call) -> None:
        dest = call.routed.destination
        request = ChatRequest(
            chat_messages(call.stage, call.candidate, call.tokens_in),
            max_tokens=max(1, call.max_tokens),
            output_tokens=call.tokens_out,
            user=f"candidate-{call.candidate}" if self.sessions else None,
            call_key=call.key if self.keyed_draws else None,
        )
        try:
            outcome = await self.transport.send(self.endpoint(call), request)
        finally:
            if dest.replicas is not None:
                dest.replicas.completed(call.server)
        fill_call(call, outcome, self.time_scale)
