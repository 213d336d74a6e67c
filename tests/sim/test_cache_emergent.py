"""The cache hit rate that emerges from a simulation equals its analytic value.

Every scenario here is one-turn interviews whose one stage is cacheable (``key: catalogue``:
each request is one of K prompts shared by everyone, drawn independently by a Zipf law of
exponent s, s = 0 uniform), on a provider that answers in zero time — so a miss is stored the
instant it is looked up, two lookups never overlap, and in-flight de-duplication (turned off
anyway) has nothing to do. The request stream is then the independent reference model, for
which the hit counts are known in closed form:

- no expiry, no eviction: hits = N − (distinct keys drawn); E[distinct] = Σ_k 1 − (1 − p_k)^N;
- LRU with room for m < K keys, uniform keys: a request hits with probability
  min(distinct keys so far, m) / K (by symmetry, whichever keys are cached);
- time to live τ (not refreshed by a hit), Poisson requests at rate λ for a key: each miss
  starts a cycle of τ (hits) plus an exponential wait for the next request (a miss), so the
  key's hit ratio is λτ / (1 + λτ).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from simkit import build, check_conservation, demand, hours, one_turn, provider

from capacity.result import RunResult
from capacity.sim.model import simulate

LONG_S = 1e9  # a time to live nothing outlives


def _catalogue_run(
    lookups: int,
    size: int,
    zipf: float,
    *,
    ttl_s: float = LONG_S,
    max_entries: int = 100_000,
    open_h: int = 1,
) -> RunResult:
    config = build(
        [provider("p0")],
        demand(lookups),
        hours("09:00", f"{9 + open_h:02d}:00"),
        one_turn(cache={"key": "catalogue", "catalogue_size": size, "zipf_exponent": zipf}),
        {
            "cache": {
                "enabled": True,
                "ttl_s": ttl_s,
                "max_entries": max_entries,
                "deduplicate_in_flight": False,
            }
        },
    )
    result = simulate(config)
    check_conservation(result)
    assert result.cache.lookups == lookups
    assert result.requests.provider == lookups - result.cache.hits  # every miss was a provider call
    return result


def _popularity(size: int, zipf: float) -> np.ndarray[Any, Any]:
    weights = 1.0 / np.arange(1, size + 1) ** zipf
    return np.asarray(weights / weights.sum())


def _distinct_mean_sd(p: np.ndarray[Any, Any], n: int) -> tuple[float, float]:
    """Mean and sd of the number of distinct keys among n independent draws with probabilities p."""
    miss = (1 - p) ** n  # P(key k never drawn)
    mean = float(np.sum(1 - miss))
    both_missing = (1 - p[:, None] - p[None, :]) ** n  # P(neither j nor k drawn), j ≠ k
    cov = both_missing - np.outer(miss, miss)
    np.fill_diagonal(cov, miss * (1 - miss))
    return mean, float(np.sqrt(cov.sum()))


@pytest.mark.parametrize(
    ("lookups", "size", "zipf"),
    [
        (500, 200, 0.0),  # uniform: E[distinct] = 200·(1 − 0.995⁵⁰⁰) = 183.7, hit rate 0.633
        (2000, 500, 1.0),  # Zipf s = 1 over 500 prompts: hit rate ≈ 0.85
    ],
)
def test_hits_are_lookups_minus_distinct_keys(lookups: int, size: int, zipf: float) -> None:
    result = _catalogue_run(lookups, size, zipf)
    mean_distinct, sd = _distinct_mean_sd(_popularity(size, zipf), lookups)
    expected_hits = lookups - mean_distinct
    # 4 sd of the distinct count (sd ≈ 3 and 8 keys here)
    assert abs(result.cache.hits - expected_hits) <= 4 * sd, (result.cache.hits, expected_hits, sd)
    assert result.cache.hit_rate == pytest.approx(expected_hits / lookups, abs=4 * sd / lookups)


def test_lru_uniform_hit_rate_is_capacity_over_catalogue() -> None:
    """K = 100 uniform prompts, room for m = 25: once 25 distinct prompts have been seen each
    request hits with probability m/K = 0.25, independently of the past. The exact expected
    count adds the warm-up, from the distribution of the distinct count (a Markov chain)."""
    lookups, size, room = 4000, 100, 25
    result = _catalogue_run(lookups, size, 0.0, max_entries=room)
    # P(D = d) after each draw; a request hits with probability min(D, m)/K given D before it
    dist = np.zeros(size + 1)
    dist[0] = 1.0
    expected = 0.0
    for _ in range(lookups):
        expected += float(np.dot(dist, np.minimum(np.arange(size + 1), room))) / size
        new = dist * np.arange(size + 1) / size  # drew a key already seen
        new[1:] += dist[:-1] * (size - np.arange(size)) / size  # drew a new key
        dist = new
    assert expected == pytest.approx(0.25 * lookups, abs=40)  # the warm-up costs about 30 hits
    sd = np.sqrt(lookups * 0.25 * 0.75)  # independent Bernoulli(m/K) once the cache is full
    assert abs(result.cache.hits - expected) <= 4 * sd, (result.cache.hits, expected, sd)


def test_ttl_hit_ratio_is_rate_times_ttl_over_one_plus() -> None:
    """10,000 requests over 9 hours on 20 uniform prompts: λ = 10,000 / (32,400 s · 20) per
    prompt; τ = 1/λ = 64.8 s makes λτ = 1, a hit ratio of 1/2. Finite-horizon effects are about
    one cycle per prompt (≈ 20 of 5,000 misses); the sd of the miss count is about 35 (0.7%).
    Tolerance: 3%."""
    lookups, size, open_h = 10_000, 20, 9
    rate = lookups / (open_h * 3600.0 * size)
    ttl = 1.0 / rate
    result = _catalogue_run(lookups, size, 0.0, ttl_s=ttl, open_h=open_h)
    assert result.cache.hit_rate == pytest.approx(rate * ttl / (1 + rate * ttl), rel=0.03)

    # a quarter of the TTL: λτ = 1/4, hit ratio 1/5
    result = _catalogue_run(lookups, size, 0.0, ttl_s=ttl / 4, open_h=open_h)
    assert result.cache.hit_rate == pytest.approx(0.2, rel=0.05)


def test_per_candidate_key_hits_on_every_later_interview() -> None:
    """A stage cached per candidate (resume analysis), 300 candidates × 4 interviews back to back
    on one day, a TTL of a day: the first interview misses, the other three hit: hits = 900."""
    config = build(
        [provider("p0")],
        demand(1200, each=4, spacing="same_day"),
        hours("09:00", "17:00"),
        one_turn(cache={"key": "candidate"}),
        {"cache": {"enabled": True, "ttl_s": 86_400.0}},
    )
    result = simulate(config)
    check_conservation(result)
    assert (result.cache.lookups, result.cache.hits, result.requests.provider) == (1200, 900, 300)
    assert result.cache.hit_rate == 0.75
