"""Holds and cool-downs shared through Redis: one router told to wait holds the destination for all.

A provider's 429 with ``Retry-After`` says *this key* may send nothing until then; a router
cooling a failing destination down keeps its traffic elsewhere for ``routing.cooldown_s``. Router
processes sharing a quota ledger share the key too, so what one of them was told binds every
other: each hold is a Redis key per destination holding the run time it ends, only ever
lengthened (``lua/hold.lua``), and every admission on the shared ledger first reads all of them
(``lua/holds.lua``, one round trip) and holds the destinations still held.

Clock: the hold's end is written in run seconds on the ledger's clock, the one that decides the
shared windows' edges: Redis ``TIME`` since the run's start (``capacity serve`` sharing Redis),
or the run clock every router process of a compressed ``capacity live`` run counts from one
origin. A router learns a hold as a length from *its* now, and turns an end it reads back into
its own run time the same way (``end − Redis's now + its now``), so a router whose clock is
off holds for the right length all the same.

Race: a request another router admitted before the hold reached Redis is sent (its admission
came first); nothing admitted after is. Redis out of reach: a hold is kept by the router that
learnt it only, and reading holds answers none (the ledger's loss policy then governs).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from capacity.live.redis_ledger import REDIS_DOWN, lua
from capacity.policy.destination import Destination

__all__ = ["FOREVER_S", "SharedHolds"]

FOREVER_S = 10 * 86400.0
"""The longest hold written to Redis, run s: a destination taken out of rotation (held for ever
by the router that learnt it) is held this long for the others — longer than any live run."""


class SharedHolds:
    """The holds of ``destinations`` kept in Redis under ``namespace``, shared by every router
    of that namespace.

    Args:
        client: an asyncio Redis client (see :func:`capacity.live.redis_ledger.connect`).
        destinations: the router's destinations (by index; the name keys each hold).
        run_start: the run's start instant: run time 0 on Redis's ``TIME``.
        local_now: this router's run time now, s (what its destinations' ``cooldown_until`` counts).
        namespace: first part of every key (the run's, or the service's).
        clock: run seconds now replacing Redis ``TIME`` (a compressed run's shared run clock).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        destinations: Sequence[Destination],
        run_start: dt.datetime,
        local_now: Callable[[], float],
        *,
        namespace: str,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.destinations = list(destinations)
        self.local_now = local_now
        self.clock = clock
        self._epoch = repr(run_start.timestamp())
        # one hash tag for all: the read script touches every destination's key (one Cluster slot)
        self.keys = [f"{namespace}:{{holds}}:{d.name.replace('{', '(').replace('}', ')')}" for d in destinations]
        self._hold = client.register_script(lua("hold"))
        self._read = client.register_script(lua("holds"))
        self._publishing: set[asyncio.Task[None]] = set()
        self.published = 0

    def _now_arg(self) -> str:
        return "" if self.clock is None else repr(float(self.clock()))

    def on_hold(self, destination: Destination, until: float) -> None:
        """The router's hook (:attr:`Router.on_hold <capacity.policy.router.Router.on_hold>`):
        write the hold to Redis in a task of its own (the router's decision cannot wait)."""
        length = until - self.local_now()
        if length <= 0 or destination.index >= len(self.keys):
            return
        task = asyncio.get_running_loop().create_task(self.publish(destination.index, length))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def publish(self, index: int, length_s: float) -> None:
        """Hold destination ``index`` for ``length_s`` run seconds from Redis's now (or lengthen
        its hold to that); a Redis out of reach keeps the hold in this router only. A hold for
        ever (a destination taken out of rotation) is written as :data:`FOREVER_S`."""
        length_s = min(length_s, FOREVER_S)
        life_ms = str(math.ceil(min(length_s, 10 * 86400.0) * 1000) + 1000)
        try:
            await self._hold(keys=[self.keys[index]], args=[self._now_arg(), self._epoch, repr(length_s), life_ms])
        except REDIS_DOWN:
            return
        self.published += 1

    async def sync(self) -> None:
        """Hold here every destination another router holds (one round trip): its
        ``cooldown_until`` becomes at least the shared hold's end, in this router's run time."""
        try:
            reply = await self._read(keys=self.keys, args=[self._now_arg(), self._epoch])
        except REDIS_DOWN:
            return
        redis_now = float(reply[0])
        local_now = self.local_now()
        for dest, raw in zip(self.destinations, reply[1:], strict=True):
            if raw not in (b"", ""):
                until = float(raw) - redis_now + local_now
                dest.cooldown_until = max(dest.cooldown_until, until)

    async def drain(self) -> None:
        """Wait for the holds still being written (the end of a run)."""
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
