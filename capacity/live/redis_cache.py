"""The response cache in Redis, shared by every router process: exact-key reuse of answers.

The semantics are :class:`capacity.policy.cache.ResponseCache`'s, with the payloads stored: an
entry lives ``ttl_s`` from when it was stored (on Redis's clock, or an injected one), a lookup
of a live entry is a hit and makes it the most recently used, and while the cache holds more
than ``max_entries`` the least recently used entries are evicted — expired entries count until
they are looked up or evicted, exactly as in memory. Each lookup and each store is one Lua
script (``lua/cache_get.lua``, ``lua/cache_put.lua``), atomic across routers.

Memory stays bounded: at most ``max_entries`` payloads, and every key of an idle cache expires
``ttl_s`` after its last store (wall seconds). Hits, misses and evictions are counted per
process, as each process's recorder observes its own lookups.

:class:`TurnCache` is the live runtime's :class:`~capacity.live.runtime.SharedCache` on it: the
router processes of one ``capacity live`` run share one cache, so a turn answered by one router
is a hit on the others (a catalogue question asked by candidates of different routers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import redis.asyncio as aioredis

from capacity.live.redis_ledger import REDIS_DOWN, lua

__all__ = ["RedisResponseCache", "TurnCache"]


class RedisResponseCache:
    """TTL + LRU cache of responses (bytes), kept in Redis.

    Args:
        client: an asyncio Redis client (see :func:`capacity.live.redis_ledger.connect`).
        name: which cache (a router, a scenario); part of every key.
        ttl_s: life of an entry from when it is stored, s.
        max_entries: most entries held (≥ 1).
        namespace: first part of every key.
        clock: seconds now, replacing Redis ``TIME`` (tests, compressed clocks).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        name: str,
        ttl_s: float,
        max_entries: int,
        *,
        namespace: str = "capacity",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if ttl_s <= 0 or max_entries < 1:
            raise ValueError("ttl_s must be > 0 and max_entries ≥ 1")
        self.client = client
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        tag = name.replace("{", "(").replace("}", ")")
        prefix = f"{namespace}:cache:{{{tag}}}"
        self.keys = [f"{prefix}:payloads", f"{prefix}:expires", f"{prefix}:recency", f"{prefix}:meta"]
        self._key_expiry_ms = str(math.ceil(ttl_s * 1000) + 1000) if math.isfinite(ttl_s) else ""
        self._get = client.register_script(lua("cache_get"))
        self._put = client.register_script(lua("cache_put"))
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def _now(self) -> str:
        return "" if self.clock is None else repr(float(self.clock()))

    async def get(self, key: str) -> bytes | None:
        """The payload of a live entry for ``key`` (a hit), or None (a miss)."""
        reply = await self._get(keys=self.keys, args=[self._now(), key])
        if int(reply[0]) == 1:
            self.hits += 1
            payload = reply[1]
            return payload if isinstance(payload, bytes) else str(payload).encode()
        self.misses += 1
        return None

    async def put(self, key: str, payload: bytes | str) -> None:
        """Store (or refresh) ``key``'s payload; evict the least recently used beyond the cap."""
        evicted = await self._put(
            keys=self.keys,
            args=[self._now(), key, payload, repr(float(self.ttl_s)), str(self.max_entries), self._key_expiry_ms],
        )
        self.evictions += int(evicted)

    async def size(self) -> int:
        """Entries held, expired ones not yet looked up or evicted included."""
        count: int = await self.client.zcard(self.keys[2])
        return count

    @property
    def hit_rate(self) -> float:
        """hits ÷ lookups by this process (0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class TurnCache:
    """The turn pipeline's response cache for router processes sharing Redis: a turn's key
    (its stage and candidate, or its catalogue prompt) stored with an empty payload — a live
    run's answer is not replayed, only known to exist, as in the simulator. A Redis out of
    reach is a miss, and an answer it cannot store is not kept (the router carries on)."""

    def __init__(self, cache: RedisResponseCache) -> None:
        self.cache = cache

    @staticmethod
    def text(key: Hashable) -> str:
        """``key`` as Redis keeps it: a tuple's parts joined by ``|`` (``ask|3``)."""
        return "|".join(str(part) for part in key) if isinstance(key, tuple) else str(key)

    async def get(self, key: Hashable) -> bool:
        """Whether a live entry answers ``key``."""
        try:
            return await self.cache.get(self.text(key)) is not None
        except REDIS_DOWN:
            return False

    async def put(self, key: Hashable) -> None:
        """Keep ``key`` for the cache's TTL."""
        try:
            await self.cache.put(self.text(key), b"")
        except REDIS_DOWN:
            return
