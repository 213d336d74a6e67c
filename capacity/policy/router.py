"""The router: which destination answers a request, and what to do when none can.

A *destination* is a provider model with its accounts' quota ledger, or a self-hosted GPU
pool (no quota, finite throughput: it always admits and queues at the server). A routing
*strategy* orders the destinations for one request; the router admits the request on the
first one whose quota has room and that is not cooling down after an error (as LiteLLM's
router cools a deployment down). If none has room, the router answers the earliest time one
may — the caller queues until then, degrades or fails, as the scenario says.

Strategies (``routing.strategy``):

* ``fill_first`` — priority order: exhaust the first destination before the second gets traffic.
* ``weighted`` — the first choice drawn in proportion to ``weight``, then priority order.
* ``most_headroom`` — least used first (the highest use ÷ limit over its windows).
* ``latency_aware`` — lowest smoothed observed latency first (unmeasured ones first, to learn).
* ``cost_aware`` — cheapest list price for this request first (free tiers cost nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from capacity.policy.destination import Destination, Routed
from capacity.policy.ledger import Admission, Charge
from capacity.policy.observer import NULL_OBSERVER, PolicyObserver
from capacity.policy.prompt_cache import PrefixHint

__all__ = ["STRATEGIES", "Destination", "RetryPolicy", "Routed", "Router", "Strategy"]

_FREE = Charge(1.0, 0.0, 0.0, 0.0)  # what a GPU pool's admission charges: nothing


Strategy = Callable[[Sequence[Destination], float, int, int, np.random.Generator], Sequence[Destination]]


def fill_first(
    dests: Sequence[Destination], now: float, tin: int, tout: int, rng: np.random.Generator
) -> Sequence[Destination]:
    """Priority order, as configured."""
    return dests


_PRIORITY_ORDER: Final = fill_first
"""``fill_first`` as a compiled constant: :meth:`Router.route` skips calling it (a Python call,
when compiled, that would hand back the list it was given)."""


def weighted(
    dests: Sequence[Destination], now: float, tin: int, tout: int, rng: np.random.Generator
) -> Sequence[Destination]:
    """First choice drawn by weight; the rest in priority order."""
    total = sum(d.weight for d in dests)
    pick = rng.random() * total
    for i, d in enumerate(dests):
        pick -= d.weight
        if pick < 0:
            return [d, *dests[:i], *dests[i + 1 :]]
    return dests


def most_headroom(
    dests: Sequence[Destination], now: float, tin: int, tout: int, rng: np.random.Generator
) -> Sequence[Destination]:
    """Least used first."""
    return sorted(dests, key=lambda d: d.quota.utilisation(now) if d.quota else 0.0)


def latency_aware(
    dests: Sequence[Destination], now: float, tin: int, tout: int, rng: np.random.Generator
) -> Sequence[Destination]:
    """Lowest smoothed latency first; destinations not yet measured first of all."""
    return sorted(dests, key=lambda d: -1.0 if math.isnan(d.latency_ewma_s) else d.latency_ewma_s)


def cost_aware(
    dests: Sequence[Destination], now: float, tin: int, tout: int, rng: np.random.Generator
) -> Sequence[Destination]:
    """Cheapest for this request first (stable: ties keep priority order)."""
    return sorted(dests, key=lambda d: d.price_usd(tin, tout))


STRATEGIES: dict[str, Strategy] = {
    "fill_first": fill_first,
    "weighted": weighted,
    "most_headroom": most_headroom,
    "latency_aware": latency_aware,
    "cost_aware": cost_aware,
}
"""Routing strategy for each ``routing.strategy`` name."""


class Router:
    """Admits each request on a destination chosen by the strategy, or says when to try again."""

    LATENCY_SMOOTHING = 0.1  # weight of the newest sample in the latency EWMA

    def __init__(
        self,
        destinations: Sequence[Destination],
        strategy: str,
        rng: np.random.Generator,
        observer: PolicyObserver = NULL_OBSERVER,
        session_affinity: bool = False,
        groups: Sequence[tuple[Sequence[int], str]] = (),
    ) -> None:
        self.destinations = list(destinations)
        self.strategy = STRATEGIES[strategy]
        self.groups: list[tuple[list[Destination], Strategy]] = [(self.destinations, self.strategy)]
        """Each model group's destinations (in its priority order) and strategy; group 0 is
        ``destinations`` with ``strategy`` unless ``groups`` (positions in ``destinations``, a
        strategy name) says otherwise."""
        if groups:
            self.groups = [([self.destinations[i] for i in members], STRATEGIES[name]) for members, name in groups]
        self.rng = rng
        self.observer = observer
        self.session_affinity = session_affinity
        """Try first the destination that holds the conversation's prefix in its prompt cache."""
        self.on_hold: Callable[[Destination, float], None] | None = None
        """Told (the destination, the run time its hold ends) whenever a hold or a cool-down
        starts or is lengthened: routers sharing their quotas pass it on to the others."""

    def route(
        self, now: float, tokens_in: int, max_output_tokens: int, prefix: PrefixHint | None = None, group: int = 0
    ) -> Routed | float:
        """Admit the request on a destination of model group ``group``; or return a lower bound of
        the earliest time one of them may take it (the caller asks again then; ``inf``: only a freed
        slot can help). Destinations of other groups are never tried.

        ``prefix`` says where the conversation's prompt was last sent: there, within the prompt
        cache's idle lifetime, part of this prompt is served from the cache (cheaper, and not
        charged to token windows that do not count cached tokens). With session affinity that
        destination is tried first while it holds the prefix; the strategy orders the rest."""
        # the hottest loop of a quota-bound run (every waiting turn is tried again whenever
        # something frees): comparisons instead of min(), the prompt-cache lookup only where
        # the prefix was sent
        earliest = math.inf
        observer = self.observer  # called directly: a bound method would be a Python call when compiled
        members, strategy = self.groups[group]
        order: Sequence[Destination] = members
        if strategy is not _PRIORITY_ORDER:
            order = strategy(members, now, tokens_in, max_output_tokens, self.rng)
        held = -1  # the destination holding the conversation's prefix (-1: none)
        if prefix is not None:
            held = prefix.destination
            if self.session_affinity:
                order = _holder_first(order, prefix, now)
        for dest in order:
            if dest.cooldown_until > now:
                earliest = dest.cooldown_until if dest.cooldown_until < earliest else earliest
                continue
            quota = dest.quota
            if quota is None:  # a GPU pool: no quota, it queues at the server
                routed = Routed(dest, Admission(0, _FREE, []))
                observer.request_admitted(now, routed, group, max_output_tokens)
                return routed
            cached = prefix.cached_tokens(dest, now, tokens_in) if dest.index == held and prefix is not None else 0
            skip_until = quota.skip_until
            if now < skip_until:
                counted = tokens_in if not cached else quota.tariff.counted_input(tokens_in, cached)
                cap = quota.max_output_cap
                if counted + (max_output_tokens if max_output_tokens < cap else cap) >= quota.skip_tokens:
                    # fast path: every account of it is known to be full until then
                    observer.destination_refused(dest)
                    earliest = skip_until if skip_until < earliest else earliest
                    continue
            if tokens_in > quota.max_input_cap:  # never fits here, whatever the time
                observer.over_input_cap(now, dest)
                observer.destination_refused(dest)
                continue
            answer = quota.try_admit(now, tokens_in, max_output_tokens, cached)
            if isinstance(answer, Admission):
                routed = Routed(dest, answer)
                observer.request_admitted(now, routed, group, max_output_tokens)
                return routed
            observer.destination_refused(dest)
            earliest = answer if answer < earliest else earliest
        return earliest

    def settle(self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None) -> bool:
        """A response ended (``latency_s`` None if it failed): reconcile quota, learn latency.
        Returns whether this may make room for a turn waiting for quota
        (:meth:`DestinationQuota.settle <capacity.policy.ledger.DestinationQuota.settle>`; always
        for a GPU pool, which has no quota to say otherwise)."""
        dest = routed.destination
        freed = True if dest.quota is None else dest.quota.settle(now, routed.admission, tokens_in, tokens_out)
        if latency_s is not None:
            self.learn_latency(dest, latency_s)
        self.observer.request_settled(now, routed, tokens_in, tokens_out, latency_s)
        return freed

    def learn_latency(self, destination: Destination, latency_s: float) -> None:
        """Fold a response's latency (s) into the destination's smoothed latency (EWMA)."""
        if math.isnan(destination.latency_ewma_s):
            destination.latency_ewma_s = latency_s
        else:
            destination.latency_ewma_s += self.LATENCY_SMOOTHING * (latency_s - destination.latency_ewma_s)

    def order(self, now: float, tokens_in: int, max_output_tokens: int, group: int = 0) -> Sequence[Destination]:
        """Model group ``group``'s destinations in the order its strategy tries them for this
        request (one draw of the ``weighted`` strategy): what a shared ledger walks, as :meth:`route` does."""
        members, strategy = self.groups[group]
        return strategy(members, now, tokens_in, max_output_tokens, self.rng)

    def hold(self, destination: Destination, until: float) -> None:
        """Send nothing to ``destination`` before run time ``until``: the provider said so
        (``Retry-After``, or its rate-limit headers); unlike a cool-down this holds even for
        the last usable destination."""
        if until > destination.cooldown_until:
            destination.cooldown_until = until
            if self.on_hold is not None:
                self.on_hold(destination, until)

    def retire(self, destination: Destination) -> None:
        """Take ``destination`` out of rotation for the rest of the run: it refused the
        destination itself (a bad key, a withdrawn model; see
        :func:`~capacity.policy.pipeline.refuses_destination`), which no wait mends. A hold to
        infinity: it holds even for the last destination, and is never tried again."""
        self.hold(destination, math.inf)

    def out_of_rotation(self, group: int = 0) -> bool:
        """Whether every destination of model group ``group`` was retired (:meth:`retire`): a turn
        of that group can get nowhere, however long it waits."""
        return all(d.cooldown_until == math.inf for d in self.groups[group][0])

    def cool_down(self, now: float, routed: Routed, seconds: float, group: int = 0) -> None:
        """Keep traffic away from a destination that just failed, for ``seconds`` — unless it is
        the last one of model group ``group`` not cooling down: then there is nowhere better to
        send that group's traffic, and a pause would only stall every turn."""
        dest = routed.destination
        if not any(d.cooldown_until <= now for d in self.groups[group][0] if d is not dest):
            return
        if now + seconds > dest.cooldown_until:
            dest.cooldown_until = now + seconds
            if self.on_hold is not None:
                self.on_hold(dest, now + seconds)


def _holder_first(order: Sequence[Destination], prefix: PrefixHint, now: float) -> Sequence[Destination]:
    """``order`` with the destination holding the conversation's prefix (within its prompt
    cache's idle lifetime) moved to the front; unchanged if none holds it."""
    for i, dest in enumerate(order):
        if dest.index == prefix.destination:
            cache = dest.prompt_cache
            if i == 0 or cache is None or now - prefix.seen_s > cache.retention:
                return order
            return [dest, *order[:i], *order[i + 1 :]]
    return order


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt k waits U(½, 1) · min(cap, base · 2^k) s."""

    max_retries: int
    base_s: float
    cap_s: float

    def delay_s(self, attempt: int, rng: np.random.Generator) -> float:
        """Wait before retry number ``attempt`` (0-based), s."""
        return min(self.cap_s, self.base_s * 2.0**attempt) * (0.5 + 0.5 * rng.random())
