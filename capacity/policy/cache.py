"""The response cache: exact-key reuse of answers, with a time to live and LRU eviction.

Keys come from the stage and its inputs (``resume_analysis`` + candidate id; a catalogue
prompt's id), so a candidate's resume analysis can hit on their later interviews while answer
evaluations, whose inputs are unique, never do. An entry lives ``ttl_s`` from when it was
stored; when the cache holds ``max_entries``, the least recently used entry goes.

An entry holds a payload: the live router stores the response it will answer with; the
simulator stores ``None`` (it only needs to know that an answer exists). Hits and misses are
counted by the observer of the turn pipeline, not here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

__all__ = ["MISS", "ResponseCache"]


class _Miss:
    """The type of :data:`MISS`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISS"


MISS: Final = _Miss()
"""What :meth:`ResponseCache.get` answers when no live entry exists (``None`` is a valid payload)."""


class ResponseCache:
    """TTL + LRU cache of responses: key → (expiry, payload)."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self.evictions = 0

    def get(self, key: Hashable, now: float) -> object:
        """The payload stored for ``key`` if its entry is live at ``now``, else :data:`MISS`."""
        entry = self._entries.get(key)
        if entry is not None:
            if now < entry[0]:
                self._entries.move_to_end(key)
                return entry[1]
            del self._entries[key]
        return MISS

    def put(self, key: Hashable, now: float, payload: object = None) -> None:
        """Store (or refresh) ``key`` with ``payload`` at ``now``; evict the least recently used if full."""
        self._entries[key] = (now + self.ttl_s, payload)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    def __len__(self) -> int:
        return len(self._entries)
