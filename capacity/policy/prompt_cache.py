"""Provider prompt caching across an interview's turns: which destination holds a conversation's prefix.

Each turn of an interview re-sends the whole conversation: the system prompt, the resume and
every earlier question and answer, then the new turn. A provider with a prompt (prefix) cache
keeps the KV of a prompt it has just processed for its idle lifetime (``retention_s``, refreshed
by every hit), so the next turn *sent to the same destination* within that time finds the
previous prompt cached: its ``cached_tokens`` are the previous request's prompt, rounded down
to the cache's granularity, none below its minimum prefix (:meth:`CacheTerms.cached_tokens`).
The same vocabulary as the GPU pools' engine prefix cache (:mod:`capacity.gpu.prefix_cache`).

What follows from a hit — the cached input billed at the read price, not charged to token
windows that do not count cached tokens, a shorter time to first token — is the ledger's
(:class:`~capacity.policy.ledger.Tariff`) and the driver's; this module only remembers, per
conversation, where and when its prefix was last seen (:class:`PrefixTracker`) and answers
what a destination would serve from cache (:class:`PrefixHint`).

Modelled simplifications: the cached prefix is the conversation's previous prompt (a stage's
own instructions are taken to sit in the shared head of the prompt); a destination's accounts
share one cache (providers scope it to the organisation); the cache never evicts a prefix
before its idle lifetime (OpenAI's in-memory cache may: "typically 5–10 minutes").
"""

from __future__ import annotations

from typing import Protocol

from capacity.config.providers import PromptCache

__all__ = ["CacheHolder", "CacheTerms", "PrefixHint", "PrefixTracker"]


class CacheTerms:
    """A provider's prompt cache as the policy core and the planner read it: the configuration's
    :class:`~capacity.config.providers.PromptCache` with each ``unknown`` resolved once (its
    properties say how), in plain attributes — read on every request to a cached model.

    Attributes: ``retention`` (the idle lifetime of a cached prefix, s; 0 when unknown: no hit
    is counted), ``granularity`` and ``minimum`` (tokens), ``read_price_factor`` and
    ``write_price_factor`` (× the input price), ``counts`` (whether token windows count cached
    tokens), ``ttft_share`` (the share of the time to first token a fully cached prompt saves).
    """

    __slots__ = (
        "counts",
        "granularity",
        "minimum",
        "read_price_factor",
        "retention",
        "ttft_share",
        "write_price_factor",
    )

    def __init__(self, cache: PromptCache) -> None:
        self.retention = cache.retention
        self.granularity = cache.granularity
        self.minimum = cache.minimum
        self.read_price_factor = cache.read_price_factor
        self.write_price_factor = cache.write_price_factor
        self.counts = cache.counts
        self.ttft_share = cache.ttft_share

    def cached_tokens(self, prefix_tokens: float, prompt_tokens: float) -> int:
        """Tokens of a ``prompt_tokens`` prompt served from a cached ``prefix_tokens`` prefix: the
        common part rounded down to the granularity, 0 below the minimum prefix (and 0 where the
        retention is unknown)."""
        if self.retention <= 0:
            return 0
        common = int(min(prefix_tokens, prompt_tokens))
        common -= common % self.granularity
        return common if common >= max(self.minimum, 1) else 0


class CacheHolder(Protocol):
    """What prompt caching needs of a destination (:class:`capacity.policy.destination.Destination` is one)."""

    @property
    def index(self) -> int:
        """Position in the scenario's routing table."""
        ...

    @property
    def prompt_cache(self) -> CacheTerms | None:
        """Its provider's prompt cache (None: none modelled)."""
        ...


class PrefixHint:
    """Where a conversation's prefix was last sent: ``destination`` (its index in the routing
    table), at run time ``seen_s`` (s), a prompt of ``prefix_tokens`` tokens. One per call: a
    plain class (see :class:`~capacity.policy.ledger.Charge`)."""

    __slots__ = ("destination", "prefix_tokens", "seen_s")

    def __init__(self, destination: int, seen_s: float, prefix_tokens: int) -> None:
        self.destination = destination
        self.seen_s = seen_s
        self.prefix_tokens = prefix_tokens

    def __repr__(self) -> str:
        return f"PrefixHint(destination={self.destination}, seen_s={self.seen_s!r}, prefix_tokens={self.prefix_tokens})"

    def cached_tokens(self, destination: CacheHolder, now: float, tokens_in: int) -> int:
        """Tokens of a ``tokens_in`` prompt that ``destination`` serves from its prompt cache at
        run time ``now`` (s): 0 elsewhere, without a cache, or after its idle lifetime."""
        cache = destination.prompt_cache
        if cache is None or destination.index != self.destination or now - self.seen_s > cache.retention:
            return 0
        return cache.cached_tokens(self.prefix_tokens, tokens_in)


class PrefixTracker:
    """Per conversation (an interview's number in the run), the :class:`PrefixHint` of its last
    answered request to a destination with a prompt cache. Memory: one entry per interview in
    progress (:meth:`forget` at its end)."""

    __slots__ = ("_hints",)

    def __init__(self) -> None:
        self._hints: dict[int, PrefixHint] = {}

    def hint(self, conversation: int) -> PrefixHint | None:
        """Where ``conversation``'s prefix was last seen (None: nowhere yet)."""
        return self._hints.get(conversation)

    def seen(self, conversation: int, destination: CacheHolder, now: float, tokens_in: int) -> None:
        """A request of ``conversation`` with a ``tokens_in``-token prompt was answered by
        ``destination`` at run time ``now`` (s): that destination now holds the prefix (a hit
        refreshes its idle lifetime). Destinations without a prompt cache hold nothing."""
        if destination.prompt_cache is not None:
            self._hints[conversation] = PrefixHint(destination.index, now, tokens_in)

    def forget(self, conversation: int) -> None:
        """The interview ended: its prefix is of no further use."""
        self._hints.pop(conversation, None)

    def __len__(self) -> int:
        return len(self._hints)
