"""The KV blocks of idle conversations, kept for reuse until the cache needs the room.

vLLM's automatic prefix caching (and SGLang's RadixAttention) keep a finished request's KV
blocks in the free pool, keyed by their content: a later request whose prompt starts with
the same tokens reuses them and prefills only the rest. Only whole blocks are cached, and at
least the prompt's last token is always computed. The blocks stay free — any allocation may
take them — and are reclaimed least recently used first, the tail of a prefix before its
head (vLLM adds a finished request's blocks to the free queue in reverse order).

An interview re-sends its whole history every turn, so while a conversation sits in think
time its prefix waits here; a turn that comes back before the cache has cycled through the
room it occupies prefills only its new tokens, one that comes back later pays in full.

This class keeps, per conversation, the tokens still cached (whole blocks), in LRU order; the
servers call :meth:`evict_to` whenever the running sequences' KV grows, so that idle prefixes
never occupy more than the free room.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class PrefixCache:
    """Idle conversations' cached prefixes, least recently used first (tokens, whole blocks)."""

    __slots__ = ("_block", "_idle", "evicted_tokens", "hit_tokens", "lookups", "total")

    def __init__(self, block_size: int) -> None:
        self._block = block_size
        self._idle: OrderedDict[Hashable, int] = OrderedDict()
        self.total = 0  # tokens cached for idle conversations
        self.hit_tokens = 0  # prompt tokens served from the cache, in all
        self.evicted_tokens = 0
        self.lookups = 0

    def __len__(self) -> int:
        return len(self._idle)

    def cached(self, conversation: Hashable) -> int:
        """Tokens of ``conversation``'s prefix still cached (0 if none)."""
        return self._idle.get(conversation, 0)

    def take(self, conversation: Hashable, prompt_tokens: int) -> int:
        """A request of ``conversation`` is admitted: the prompt tokens it need not prefill.

        Its cached blocks become the request's own (they leave the idle pool); at most the
        whole blocks before the prompt's last token are reused.
        """
        self.lookups += 1
        cached = self._idle.pop(conversation, 0)
        self.total -= cached
        usable = (prompt_tokens - 1) // self._block * self._block
        hit = min(cached, usable)
        self.hit_tokens += hit
        return hit

    def put(self, conversation: Hashable, tokens: int) -> None:
        """A request of ``conversation`` finished holding ``tokens`` of KV: cache its whole blocks (newest)."""
        keep = tokens // self._block * self._block
        old = self._idle.pop(conversation, 0)
        self.total -= old
        if keep > 0:
            self._idle[conversation] = keep
            self.total += keep

    def evict_to(self, room: int) -> None:
        """Reclaim least recently used blocks until idle prefixes hold at most ``room`` tokens."""
        idle = self._idle
        while self.total > room and idle:
            conversation = next(iter(idle))  # the least recently used (cheaper than items(), measured)
            cached = idle[conversation]
            excess = self.total - room
            cut = min(cached, -(-excess // self._block) * self._block)  # whole blocks, tail first
            self.total -= cut
            self.evicted_tokens += cut
            if cut == cached:
                del idle[conversation]
            else:  # what is left stays the least recently used: a new value keeps the key's place
                idle[conversation] = cached - cut
