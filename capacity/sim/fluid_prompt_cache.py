"""Provider prompt caching in the fluid fast mode (:mod:`capacity.sim.fluid`): how many input tokens
of each of a batch of calls the provider reads from its prompt cache.

The same model as the exact engine's (:mod:`capacity.policy.prompt_cache`): each interview
re-sends its conversation every turn, and a provider with a prompt cache keeps a prompt it has
just read for its idle lifetime (``retention_s``), so the next turn *sent to the same destination*
within that time reads the previous prompt from cache — the common part, rounded as
:meth:`~capacity.policy.prompt_cache.CacheTerms.cached_tokens` rounds it. The price follows from the
tariff (:meth:`~capacity.sim.fluid_quota.DestinationCosts.price`). What it leaves out: the shorter
time to first token of a cached prompt (calls last the destination's mean), and token windows are
charged the whole prompt even where the provider does not count cached tokens (a conservative
admission).
"""

from __future__ import annotations

import numpy as np

from capacity.policy.destination import Destination
from capacity.sim.fluid_quota import FloatArray, IntArray


class PromptPrefixes:
    """Per session (one interview in progress each), where its conversation's prompt was last read:
    the destination's index (-1: nowhere yet), when it was sent (s) and its length (tokens)."""

    def __init__(self, sessions: int) -> None:
        self.destination = np.full(sessions, -1, dtype=np.int64)
        self.seen_s = np.zeros(sessions)
        self.tokens = np.zeros(sessions)

    def forget(self, rows: IntArray) -> None:
        """Sessions ``rows`` start a new interview: a new conversation, nothing cached."""
        self.destination[rows] = -1

    def answered(self, dest: Destination, rows: IntArray, sent_s: FloatArray, tokens_in: FloatArray) -> FloatArray:
        """Calls of sessions ``rows`` sent to ``dest`` (which has a prompt cache) at ``sent_s`` (s) with
        prompts of ``tokens_in`` tokens were answered: the input tokens each read from the cache, shape
        (calls,). ``dest`` now holds each prompt."""
        cache = dest.prompt_cache
        assert cache is not None, "a destination with a provider's prompt cache"
        held = (self.destination[rows] == dest.index) & (sent_s - self.seen_s[rows] <= cache.retention)
        common = np.minimum(self.tokens[rows], tokens_in).astype(np.int64)
        sizes, where = np.unique(common, return_inverse=True)
        read = np.array([cache.cached_tokens(size, size) for size in sizes.tolist()], dtype=float)[where]
        self.destination[rows] = dest.index
        self.seen_s[rows] = sent_s
        self.tokens[rows] = tokens_in
        return np.where(held, read, 0.0)
