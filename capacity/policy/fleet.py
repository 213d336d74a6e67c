"""Router replicas: what each router believes, apart from what the provider enforces.

Teams run several replicas of their LLM router behind a load balancer. Whether the replicas
share one quota ledger decides how many requests the providers refuse:

* ``shared`` — one ledger for every replica (Redis, in the live router): the replicas admit
  together exactly what one router would, and a ledger that states the provider's windows
  exactly never sends a request the provider refuses. The policy core is then one
  :class:`~capacity.policy.router.Router`, whatever ``routing.replicas`` says.
* ``local`` — each replica counts only its own requests, against the *full* limits (LiteLLM's
  in-memory counters). Requests spread evenly over N replicas let them admit up to N times a
  limit together; the provider refuses what is over its own limit with HTTP 429, and the turn
  pipeline retries those as it retries any 429.
* ``local_split`` — each replica holds 1/N of every quota (limits divided by N; concurrency
  slots rounded down, at least one): the replicas never admit more than the provider allows
  together, but quota idles on a replica that happens to get fewer requests, and a limit that
  N does not divide loses its remainder (15 RPM over 2 replicas admits 7.5 each: 14 a minute).

The replicas' ledgers are beliefs. What the provider enforces is its own ledger per
destination — the same windows at the full limits — which the *driver* of the simulated
provider holds (:mod:`capacity.sim`): the policy core never sees it, as a live router never
sees the provider's counters; it only meets the 429s.

:class:`RouterFleet` is the replicas behind the load balancer, as the turn pipeline and the
quota-wait queue see them: one router whose :meth:`~RouterFleet.route` hands each request to
the next replica in turn (round robin), each replica with its own ledgers, cool-downs and
latency estimates. A GPU pool has no quota ledger: its destination (with its server queue) is
the same object in every replica.
"""

from __future__ import annotations

from collections.abc import Sequence

from capacity.config.providers import Limits, ModelSpec
from capacity.policy.prompt_cache import PrefixHint
from capacity.policy.router import Destination, Routed, Router
from capacity.units import LIMIT_KINDS

__all__ = ["RouterFleet", "split_limits", "split_quotas"]


def split_quotas(limits: Limits, replicas: int, *, never_over: bool = False) -> Limits:
    """``limits`` with every quota divided by ``replicas`` (a ``local_split`` replica's share).

    Windows over a period and credit are divided exactly (a window's limit may be fractional:
    15 RPM over 2 replicas admits at most 7.5, so 7, in any minute; a share under one request
    is one request per longer period, see :func:`~capacity.policy.ledger.build_windows`);
    concurrency slots are rounded down, at least one per replica. Per-request caps (input or
    output tokens per request) are not quotas and stay as they are.

    ``never_over`` (a router's fallback while the shared ledger is away) rounds every whole-number
    limit down instead, to 0 where the share is under one, so that the replicas together can
    never exceed a limit: 1 request/s over 3 replicas admits nothing rather than one every 3 s
    each (which could meet in one second), and a concurrency share under one slot is 0.
    """
    update: dict[str, float | int] = {}
    for kind in LIMIT_KINDS:
        value = getattr(limits, kind.field)
        if value is None or kind.period is None:
            continue
        update[kind.field] = value // replicas if never_over and isinstance(value, int) else value / replicas
    if limits.concurrent_requests is not None:
        share = limits.concurrent_requests // replicas
        update["concurrent_requests"] = share if never_over else max(1, share)
    # model_copy does not validate: fractional limits of int-typed fields are intended here
    return limits.model_copy(update=update)


def split_limits(spec: ModelSpec, replicas: int, *, never_over: bool = False) -> ModelSpec:
    """``spec`` with its quotas, and their dated changes, divided by ``replicas`` (:func:`split_quotas`)."""
    changes = [
        change.model_copy(update={"limits": {name: value / replicas for name, value in change.limits.items()}})
        for change in spec.limit_changes
    ]
    limits = split_quotas(spec.limits, replicas, never_over=never_over)
    return spec.model_copy(update={"limits": limits, "limit_changes": changes})


class RouterFleet(Router):
    """N router replicas behind a round-robin load balancer, seen as one router.

    ``replicas[r]`` is replica r's router over its own destinations (index for index the same
    routing table). :meth:`route` gives each request to the next replica; a request's
    settlement, hold and cool-down go to the replica that admitted it (the one owning
    ``routed.destination``). Raises ValueError given no replica.
    """

    def __init__(self, replicas: Sequence[Router]) -> None:
        if not replicas:
            raise ValueError("a fleet needs at least one router replica")
        first = replicas[0]
        # the fleet's own table is the first replica's (what strategies and reports index); it
        # never routes on it itself: route() delegates to a replica, with that replica's strategy
        super().__init__(first.destinations, "fill_first", first.rng, first.observer)
        self.strategy = first.strategy
        self.groups = first.groups
        self.replicas = list(replicas)
        self._next = 0
        self._owner: dict[int, Router] = {}
        for router in reversed(self.replicas):  # a destination shared by all (a GPU pool): the first
            for dest in router.destinations:
                self._owner[id(dest)] = router

    def route(
        self, now: float, tokens_in: int, max_output_tokens: int, prefix: PrefixHint | None = None, group: int = 0
    ) -> Routed | float:
        """The next replica (round robin) admits the request on its own ledgers, or says when
        one of its destinations may take it (s); ``prefix`` and ``group`` as for :meth:`Router.route`."""
        r = self._next
        self._next = (r + 1) % len(self.replicas)
        return self.replicas[r].route(now, tokens_in, max_output_tokens, prefix, group)

    def cool_down(self, now: float, routed: Routed, seconds: float, group: int = 0) -> None:
        """Cool the destination down in the replica that sent the request (unless it is that
        replica's last destination of ``group`` not cooling down)."""
        self.owner(routed.destination).cool_down(now, routed, seconds, group)

    def owner(self, destination: Destination) -> Router:
        """The replica whose routing table holds ``destination``."""
        return self._owner[id(destination)]
