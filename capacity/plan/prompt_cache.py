"""The expected effect of a provider's prompt cache on one mean request, in closed form.

Each API turn of the script re-sends the conversation so far; the turn before it sent the
same conversation a moment or a think time earlier. Walking the script's mean turn sizes
(:meth:`CompiledScript.expected_tokens <capacity.workload.script.CompiledScript.expected_tokens>`),
API turn *i* finds turn *i−1*'s prompt cached (rounded down to the cache's granularity, none
below its minimum prefix) when the gap between them is within the cache's idle lifetime: the
gap is the candidate's think time where the candidate speaks before the turn (a hit with
probability P(think ≤ retention)), else the previous call's own latency (a hit). The first
API turn never hits. Turns answered by the response cache or a template are counted as sent
(a small overstatement of the prefix a turn can find; the mean request is what ``plan`` costs).

P(think ≤ retention) is read from 20,000 draws of the think-time distribution with a fixed
seed (the same figure on every run; ±0.4 percentage points of the exact CDF at worst).

The plan counts these hits only where a conversation's turns stay on one destination: with
``routing.session_affinity`` or a single destination. Otherwise turns may move between
destinations and the plan counts none (``simulate`` measures what the strategy gives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capacity.config.providers import PromptCache
from capacity.policy.prompt_cache import CacheTerms
from capacity.workload.script import CompiledScript

__all__ = ["NO_EFFECT", "CacheEffect", "expected_effect", "hit_probability"]

_DRAWS = 20_000
_SEED = 20251006


@dataclass(frozen=True)
class CacheEffect:
    """What a destination's prompt cache does to the mean request of a script."""

    cached_share: float
    """Share of the input tokens served from the prompt cache (0–1)."""
    input_price_factor: float
    """Mean price of an input token ÷ the list input price (cached reads and cache writes folded in)."""
    uncounted_share: float
    """Share of the input tokens that token limits do not count (the cached share where the
    provider does not count cached tokens, else 0)."""


NO_EFFECT = CacheEffect(0.0, 1.0, 0.0)
"""No prompt cache, or none that the plan may count."""


def hit_probability(script: CompiledScript, retention_s: float) -> float:
    """P(think time ≤ ``retention_s``): the share of the candidate's answers after which the
    conversation's prefix is still cached (from seeded draws, see the module docstring)."""
    if retention_s <= 0:
        return 0.0
    draws = script.think_time_s.sample_block(np.random.default_rng(_SEED), _DRAWS)
    return float(np.mean(draws <= retention_s))


def expected_effect(script: CompiledScript, cache: PromptCache | None) -> CacheEffect:
    """The mean effect of ``cache`` over the script's API turns (:data:`NO_EFFECT` without one)."""
    if cache is None or cache.retention <= 0:
        return NO_EFFECT
    terms = CacheTerms(cache)
    p_think = hit_probability(script, cache.retention)
    total_in = cached = priced = 0.0
    previous: float | None = None
    think_before = False
    for turn, tokens in zip(script.turns, script.expected_tokens(), strict=True):
        think_before = think_before or turn.candidate_speaks_before
        if turn.template:
            continue
        tokens_in = tokens.input_tokens
        hit = 0.0
        if previous is not None:
            hit = (p_think if think_before else 1.0) * terms.cached_tokens(previous, tokens_in)
        write = cache.write_price_factor if tokens_in >= cache.minimum else 1.0
        total_in += tokens_in
        cached += hit
        priced += hit * cache.read_price_factor + (tokens_in - hit) * write
        previous, think_before = tokens_in, False
    if total_in <= 0:
        return NO_EFFECT
    share = cached / total_in
    return CacheEffect(share, priced / total_in, 0.0 if cache.counts else share)
