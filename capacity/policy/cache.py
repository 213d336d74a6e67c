"""The response cache: exact-key reuse of answers, with a time to live and LRU eviction.

Keys come from the stage and its inputs (``resume_analysis`` + candidate id; a catalogue
prompt's id), so a candidate's resume analysis can hit on their later interviews while answer
evaluations, whose inputs are unique, never do. An entry lives ``ttl_s`` from when it was
stored; when the cache holds ``max_entries``, the least recently used entry goes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ResponseCache:
    """TTL + LRU cache of which responses exist (the simulator needs no payloads)."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._expires: OrderedDict[Hashable, float] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Hashable, now: float) -> bool:
        """Whether a live entry for ``key`` exists at ``now`` (counts a hit or a miss)."""
        expires = self._expires.get(key)
        if expires is not None and now < expires:
            self._expires.move_to_end(key)
            self.hits += 1
            return True
        if expires is not None:
            del self._expires[key]
        self.misses += 1
        return False

    def put(self, key: Hashable, now: float) -> None:
        """Store (or refresh) ``key`` at ``now``; evict the least recently used if full."""
        self._expires[key] = now + self.ttl_s
        self._expires.move_to_end(key)
        while len(self._expires) > self.max_entries:
            self._expires.popitem(last=False)
            self.evictions += 1

    def __len__(self) -> int:
        return len(self._expires)

    @property
    def hit_rate(self) -> float:
        """hits ÷ lookups (0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
