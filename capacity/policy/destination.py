"""The places a request can go, and a request admitted on one.

A *destination* is a provider model with its accounts' quota ledger
(:class:`~capacity.policy.ledger.DestinationQuota`), or a self-hosted GPU pool (no quota, finite
throughput: it always admits and queues at the server). The router
(:mod:`capacity.policy.router`) orders them for each request and admits the request on one:
a :class:`Routed`. Both live in a module of their own so that the observer interface
(:mod:`capacity.policy.observer`) can name them as the classes they are: in the compiled engine
reading ``destination.index`` of a known class is a field read, of a protocol a Python attribute
lookup.
"""

from __future__ import annotations

import math

from capacity.policy.ledger import Admission, DestinationQuota
from capacity.policy.prompt_cache import CacheTerms
from capacity.policy.replicas import ReplicaSet

__all__ = ["Destination", "Routed"]


class Destination:
    """A place requests can go: a provider model (with quota) or a GPU pool (without quota,
    with ``replicas``: its servers, chosen by join-the-shortest-queue)."""

    __slots__ = (
        "billing_paid",
        "cooldown_until",
        "index",
        "kind",
        "latency_ewma_s",
        "name",
        "prompt_cache",
        "quota",
        "replicas",
        "weight",
    )

    def __init__(
        self,
        index: int,
        name: str,
        kind: str,
        quota: DestinationQuota | None,
        weight: float = 1.0,
        billing_paid: bool = False,
        replicas: ReplicaSet | None = None,
    ) -> None:
        self.index = index
        self.name = name
        self.kind = kind  # "api" or "gpu"
        self.quota = quota
        self.weight = weight
        self.billing_paid = billing_paid
        self.replicas = replicas
        self.cooldown_until = -math.inf
        self.latency_ewma_s = math.nan
        self.prompt_cache: CacheTerms | None = quota.tariff.prompt_cache if quota is not None else None
        """The provider's prompt cache on this model (None: none modelled; GPU pools model their own)."""

    def price_usd(self, tokens_in: float, tokens_out: float, cached_tokens: float | None = 0.0) -> float:
        """What this request costs here at list price, $ (0 on a free tier or own GPUs):
        ``cached_tokens`` of its input read from the prompt cache (``None``: as if the provider had
        no prompt cache — no read discount, no write surcharge)."""
        if self.quota is None or not self.billing_paid:
            return 0.0
        return self.quota.tariff.list_price_usd(tokens_in, tokens_out, cached_tokens)


class Routed:
    """A request admitted on a ``destination``: its quota ``admission`` (one per request: a plain
    class, see :class:`~capacity.policy.ledger.Charge`)."""

    __slots__ = ("admission", "destination")

    def __init__(self, destination: Destination, admission: Admission) -> None:
        self.destination = destination
        self.admission = admission

    def __repr__(self) -> str:
        return f"Routed({self.destination.name!r}, {self.admission!r})"
