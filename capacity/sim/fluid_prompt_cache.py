"""Provider prompt caching in the fluid fast mode (:mod:`capacity.sim.fluid`): the price of a call
whose prompt's head the provider still holds, for a whole batch of calls at once.

The same model as the exact engine's (:mod:`capacity.policy.prompt_cache`): each interview
re-sends its conversation every turn, and a provider with a prompt cache keeps a prompt it has
just read for its idle lifetime (``retention_s``), so the next turn *sent to the same destination*
within that time reads the previous prompt from cache — rounded down to the cache's granularity,
none below its minimum prefix — at the read price, the rest at the write price where the prompt is
long enough to cache (:meth:`capacity.policy.ledger.Tariff.list_price_usd`). What it leaves out:
the shorter time to first token of a cached prompt (calls last the destination's mean), and token
windows are charged the whole prompt even where the provider does not count cached tokens (a
conservative admission).
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

    def answered(
        self, dest: Destination, rows: IntArray, sent_s: FloatArray, tokens_in: FloatArray, tokens_out: FloatArray
    ) -> tuple[FloatArray, float, float]:
        """Calls of sessions ``rows`` sent to ``dest`` at ``sent_s`` (s) with prompts of ``tokens_in`` and
        outputs of ``tokens_out`` tokens were answered: their prices ($, shape (calls,)), the input tokens
        read from the prompt cache and what that saved against no prompt caching ($), in all. ``dest``
        (which has a prompt cache) now holds each prompt."""
        cache = dest.prompt_cache
        assert cache is not None and dest.quota is not None, "a destination with a provider's prompt cache"
        held = (self.destination[rows] == dest.index) & (sent_s - self.seen_s[rows] <= cache.retention)
        common = np.floor(np.minimum(self.tokens[rows], tokens_in))
        common -= common % cache.granularity
        cached = np.where(held & (common >= max(cache.minimum, 1)) & (cache.retention > 0), common, 0.0)
        self.destination[rows] = dest.index
        self.seen_s[rows] = sent_s
        self.tokens[rows] = tokens_in
        if not dest.billing_paid:
            return np.zeros(len(rows)), float(cached.sum()), 0.0
        tariff = dest.quota.tariff
        write = np.where(tokens_in >= cache.minimum, cache.write_price_factor, 1.0)
        price = ((tokens_in - cached) * write + cached * cache.read_price_factor) * tariff.usd_in \
            + tokens_out * tariff.usd_out
        without = tokens_in * tariff.usd_in + tokens_out * tariff.usd_out
        return price, float(cached.sum()), float((without - price).sum())
