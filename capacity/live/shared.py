"""The router's admissions on quota ledgers shared through Redis, for router processes in a fleet.

One router process answers the policy core's ``Admit`` and ``Settle`` from its in-memory ledger.
Several processes carrying one plan's quotas must count every request of all of them, or each
spends the whole quota and together they overshoot it N times. :class:`SharedLedgers` answers
the same two actions on a :class:`~capacity.live.redis_ledger.RedisQuotaLedger` per provider
destination, walking the destinations exactly as :meth:`Router.route
<capacity.policy.router.Router.route>` does — the strategy's order, a destination cooling down
skipped, a GPU pool (no quota) admitting at once, a prompt over the model's per-request input
cap refused there — each admission one atomic Lua round trip that checks and charges every
window of an account.

Time: every ledger is handed the run clock (run seconds, compressed by the time scale), the
same in every router process on the machine (each counts from one ``time.monotonic`` instant),
so a compressed run's windows are counted in run time, as the provider emulator counts them.
Rolling windows are lengthened by the request's one-way trip, as the in-memory ledger's are.

Holds: a destination one router holds (a provider's ``Retry-After``) or cools down is held by
every router (:mod:`capacity.live.redis_holds`): the router's hook writes it to Redis, and each
admission first reads every destination's hold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.redis_holds import SharedHolds
from capacity.live.redis_ledger import REDIS_DOWN, LossPolicy, RedisQuotaLedger, connect
from capacity.policy.ledger import Admission, Charge
from capacity.policy.router import Routed, Router

__all__ = ["SharedLedgers", "connect_checked", "shared_ledgers"]

_POOL = Charge(1.0, 0.0, 0.0, 0.0)  # what a GPU pool's admission charges: nothing


class SharedLedgers:
    """:class:`~capacity.live.runtime.SharedQuota` over one Redis ledger per provider destination.

    Args:
        router: the core's router (its strategy, destinations, cool-downs and observer).
        ledgers: per destination (by index), its Redis ledger; ``None`` for a GPU pool.
        holds: the destinations' holds shared with the other routers (None: this router's own only).
    """

    def __init__(
        self, router: Router, ledgers: Sequence[RedisQuotaLedger | None], holds: SharedHolds | None = None
    ) -> None:
        if len(ledgers) != len(router.destinations):
            raise ValueError("one ledger (or None) per destination")
        self.router = router
        self.ledgers = list(ledgers)
        self.holds = holds

    async def admit(
        self, now: float, tokens_in: int, max_output_tokens: int, group: int = 0, *, read_holds: bool = True
    ) -> Routed | float:
        """Admit the request on the first destination of model group ``group`` (its strategy's
        order) whose shared quota has room and that no router holds; or return a lower bound of
        the run time one may take it, s (``inf``: only a freed slot can help).
        ``read_holds=False``: the caller has just read the shared holds."""
        router = self.router
        if read_holds and self.holds is not None:
            await self.holds.sync()
        earliest = math.inf
        for dest in router.order(now, tokens_in, max_output_tokens, group):
            if dest.cooldown_until > now:
                earliest = min(earliest, dest.cooldown_until)
                continue
            ledger = self.ledgers[dest.index]
            if ledger is None or dest.quota is None:  # a GPU pool: no quota, it queues at the server
                return Routed(dest, Admission(0, _POOL, []))
            answer = (
                await ledger.try_admit(tokens_in, max_output_tokens)
                if tokens_in <= dest.quota.max_input_cap
                else math.inf
            )
            if isinstance(answer, Admission):
                return Routed(dest, answer)
            router.observer.destination_refused(dest)
            earliest = min(earliest, answer)
        return earliest

    async def settle(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        """Refund the unused reservation and free the slot in Redis; learn the latency."""
        ledger = self.ledgers[routed.destination.index]
        if ledger is not None:
            await ledger.settle(routed.admission, tokens_in, tokens_out)
        if latency_s is not None:
            self.router.learn_latency(routed.destination, latency_s)

    @property
    def outages(self) -> int:
        """Times a ledger lost Redis in this process."""
        return sum(ledger.outages for ledger in self.ledgers if ledger is not None)


async def connect_checked(url: str) -> aioredis.Redis:
    """A client of the Redis at ``url`` that has answered a ``PING`` (see
    :func:`~capacity.live.redis_ledger.connect`).

    Raises:
        UsageError: ``url`` is not a Redis URL, or no Redis answers there.
    """
    try:
        client = connect(url)
    except ValueError as exc:  # not a redis:// URL
        raise UsageError(f"--redis {url}: {exc}") from None
    try:
        await client.ping()
    except REDIS_DOWN as exc:
        await client.aclose()
        raise UsageError(f"--redis {url}: no Redis answers there ({type(exc).__name__}: {exc})") from None
    return client


def shared_ledgers(
    config: Configuration,
    router: Router,
    run_start: dt.datetime,
    *,
    client: aioredis.Redis,
    namespace: str,
    clock: Callable[[], float] | None,
    routers: int = 1,
    router_index: int = 0,
    on_loss: LossPolicy = "fail_closed",
    rolling_margin_s: float = 0.0,
    reconnect_s: float = 1.0,
    time_scale: float = 1.0,
    local_now: Callable[[], float] | None = None,
) -> SharedLedgers:
    """A Redis ledger per provider destination of ``config``'s routing, on ``client``, under
    ``namespace`` (the run's: every router process of one run uses the same), and the
    destinations' holds shared there (``router``'s hook writes them).

    ``clock`` gives run seconds (None: Redis's ``TIME`` since ``run_start``); ``routers`` is the
    fleet's size (``local`` loss policy keeps 1/N of each quota) and ``router_index`` this router's index
    in it (0-based: the recovery after an outage counts each router once); ``rolling_margin_s`` lengthens
    rolling windows (run s); ``reconnect_s`` is the wall time between attempts to reach a lost
    Redis; ``time_scale`` the run's; ``local_now`` the router's run time (s) when ``clock`` is
    None (its destinations' holds count it).

    Raises:
        ValueError: neither ``clock`` nor ``local_now`` is given.
    """
    ledgers: list[RedisQuotaLedger | None] = []
    for d in config.scenario.routing.all_destinations:
        if d.provider is None or d.model is None:
            ledgers.append(None)
            continue
        provider = config.provider(d.provider)
        spec = provider.model(d.model)
        assert spec is not None  # checked on load
        ledgers.append(
            RedisQuotaLedger(
                client,
                provider.name,
                spec,
                d.accounts or provider.accounts,
                run_start,
                namespace=namespace,
                clock=clock,
                on_loss=on_loss,
                routers=routers,
                router=router_index,
                reconnect_s=reconnect_s,
                rolling_margin_s=rolling_margin_s,
                time_scale=time_scale,
                account_limits=provider.account_limits,  # charged once per account by every model of it
                account_resets=provider.account_resets,
            )
        )
    own_now = clock or local_now
    if own_now is None:
        raise ValueError("shared_ledgers needs the router's run time: clock or local_now")
    holds = SharedHolds(client, router.destinations, run_start, own_now, namespace=namespace, clock=clock)
    router.on_hold = holds.on_hold
    return SharedLedgers(router, ledgers, holds)
