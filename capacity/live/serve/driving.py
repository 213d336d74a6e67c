"""``capacity live --router URL``: the load generator driving a running ``capacity serve``.

The interview application talks to one endpoint — the router — and lets it choose providers,
count quotas, cache and de-duplicate. So the load generator's own policy core is reduced to the
application's side: the scenario's candidates, script, think times, retries and deadlines are
kept, while each of its model groups becomes one destination without limits, the router's model
group of that name at ``URL/v1`` (``routing.destinations`` under ``--group``'s name; a 429 from
the router is then retried with back-off like any provider's, its ``Retry-After`` honoured), and
its response cache is switched off (the router's does that work, and its statistics count it).
Each request names its candidate as OpenAI's ``user`` so the router keeps an interview on one
provider.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from capacity.config.loader import Configuration
from capacity.config.providers import ModelSpec, Provider
from capacity.errors import UsageError

__all__ = ["ROUTER_PROVIDER", "ROUTER_TOKEN_ENV", "through_router"]

ROUTER_PROVIDER = "router"
"""The provider name the router is given in the load generator's configuration (and its results)."""

ROUTER_TOKEN_ENV = "CAPACITY_ROUTER_TOKEN"
"""The environment variable of the bearer token sent to the router, when it wants one."""


def through_router(config: Configuration, url: str, group: str) -> Configuration:
    """``config`` with its routing replaced by the router at ``url`` serving model group ``group``
    (see the module docstring). Raises :class:`UsageError` for a URL that is not http(s)."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--router {url!r}: expected the router's http://host:port")
    sc = config.scenario
    first = sc.routing.destinations[0]
    everywhere = sc.routing.all_destinations
    template = next(
        (config.provider(d.provider).model(d.model) for d in everywhere if d.provider and d.model), None
    )
    if template is None:
        raise UsageError(f"scenario {sc.name}: --router needs a scenario routed to API providers")
    timeout = max(
        spec.timeout_s
        for d in everywhere
        if d.provider and d.model and (spec := config.provider(d.provider).model(d.model)) is not None
    )
    names = [group, *sc.routing.groups]  # the model groups as the router serves them
    models = [ModelSpec(name=n, latency=template.latency, timeout_s=timeout) for n in names]  # no limits: the router's
    provider = Provider(
        name=ROUTER_PROVIDER,
        label="capacity serve",
        base_url=f"{url.rstrip('/')}/v1",
        api_key_env=ROUTER_TOKEN_ENV,
        billing="free",
        accounts=1,
        scope="account",
        models=models,
        source=url,
        as_of=dt.datetime.now(dt.UTC).date(),
    )
    destination = first.model_copy(
        update={"provider": ROUTER_PROVIDER, "model": group, "pool": None, "accounts": None, "weight": 1.0}
    )
    groups = {
        name: g.model_copy(update={"destinations": [destination.model_copy(update={"model": name})]})
        for name, g in sc.routing.groups.items()
    }
    routing = sc.routing.model_copy(
        update={"destinations": [destination], "groups": groups, "replicas": 1, "ledger": "shared"}
    )
    cache = sc.cache.model_copy(update={"enabled": False})
    scenario = sc.model_copy(update={"routing": routing, "cache": cache, "gpu_pools": []})
    return replace(config, scenario=scenario, providers={ROUTER_PROVIDER: provider})

