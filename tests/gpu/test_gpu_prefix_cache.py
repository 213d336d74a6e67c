"""Prefix caching across an interview's turns: reuse while resident, LRU eviction, both servers agree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.gpus import load_catalog
from capacity.gpu import AnalyticServer, ServerSettings, SteppedServer, deployment
from capacity.gpu.prefix_cache import PrefixCache
from capacity.gpu.workload import Turn, TurnResult, run_conversations

CATALOG = load_catalog()
RTX4090 = deployment(CATALOG, "rtx4090", "llama-3.1-8b")


def test_take_reuses_whole_blocks_and_never_the_last_prompt_token() -> None:
    cache = PrefixCache(16)
    cache.put("a", 1_000)  # 62 whole blocks = 992 tokens
    assert cache.cached("a") == 992
    assert cache.take("a", 2_000) == 992
    assert cache.cached("a") == 0 and cache.total == 0  # the blocks now belong to the request
    cache.put("b", 320)
    assert cache.take("b", 320) == 304  # the prompt's last token is always computed: 19 blocks
    assert cache.take("nobody", 500) == 0
    assert (cache.hit_tokens, cache.lookups) == (992 + 304, 3)


def test_eviction_takes_the_least_recently_used_tail_first() -> None:
    cache = PrefixCache(16)
    cache.put("old", 1_600)
    cache.put("new", 1_600)
    cache.evict_to(2_500)  # 700 too many: 44 blocks (704 tokens) from the oldest conversation's tail
    assert cache.cached("old") == 1_600 - 704
    assert cache.cached("new") == 1_600
    cache.evict_to(1_000)
    assert cache.cached("old") == 0
    assert cache.cached("new") == 1_600 - 608
    assert cache.total <= 1_000
    assert cache.evicted_tokens == 704 + 896 + 608


@settings(max_examples=80, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("put"), st.integers(0, 5), st.integers(0, 5_000)),
            st.tuples(st.just("take"), st.integers(0, 5), st.integers(1, 5_000)),
            st.tuples(st.just("evict"), st.integers(0, 0), st.integers(0, 20_000)),
        ),
        max_size=60,
    ),
    block=st.sampled_from([1, 16, 64]),
)
def test_cache_invariants(ops: list[tuple[str, int, int]], block: int) -> None:
    cache = PrefixCache(block)
    for op, conv, n in ops:
        if op == "put":
            cache.put(conv, n)
        elif op == "take":
            hit = cache.take(conv, n)
            assert 0 <= hit < n and hit % block == 0
        else:
            cache.evict_to(n)
            assert cache.total <= n
        assert cache.total == sum(cache.cached(c) for c in range(6))
        assert all(cache.cached(c) % block == 0 for c in range(6))


def interview(turns: int, think_s: float, first: int = 1_800, per_turn: int = 210, output: int = 100) -> list[Turn]:
    """An interview's calls: the whole history re-sent each turn, ``per_turn`` new tokens each time."""
    out = []
    prompt = first
    for i in range(turns):
        out.append(Turn(prompt, output, 0.0 if i == 0 else think_s))
        prompt += output + per_turn
    return out


def test_a_second_turn_prefills_only_its_new_tokens() -> None:
    script = [interview(2, think_s=60.0)]
    one_step = ServerSettings(max_num_batched_tokens=4096)  # each prompt in one prefill step
    cold = run_conversations(AnalyticServer(RTX4090, one_step), [0.0], script, reuse=False)
    warm = run_conversations(AnalyticServer(RTX4090, one_step), [0.0], script, reuse=True)
    assert cold[0].ttft_s == pytest.approx(warm[0].ttft_s)  # the first turn has nothing cached
    # turn 2: 1,800 + 100 + 210 = 2,110 prompt tokens; 1,899 in KV after turn 1 → 118 blocks = 1,888 cached
    assert cold[1].ttft_s == pytest.approx(RTX4090.prefill_time_s(2_110))
    assert warm[1].ttft_s == pytest.approx(RTX4090.prefill_time_s(2_110, 1_888))
    assert [r.cached_tokens for r in warm] == [0, 1_888] and [r.cached_tokens for r in cold] == [0, 0]
    assert warm[1].ttft_s < 0.2 * cold[1].ttft_s


def conversations(count: int, rng: np.random.Generator, turns: int = 12) -> tuple[list[float], list[list[Turn]]]:
    starts = sorted(rng.uniform(0.0, 600.0, count).tolist())
    scripts = [
        [Turn(t.prompt_tokens, t.output_tokens, float(rng.lognormal(np.log(60.0), 0.4)) if i else 0.0)
         for i, t in enumerate(interview(turns, 0.0))]
        for _ in range(count)
    ]  # fmt: skip
    return starts, scripts


def ttft_p95(results: list[TurnResult]) -> float:
    return float(np.percentile([r.ttft_s for r in results if r.turn > 0], 95))


def test_prefix_caching_cuts_ttft_while_the_cache_has_room() -> None:
    # 10 interviews at once on an RTX 4090: their idle prefixes (≤ 5.4k tokens each) fit the
    # 46k-token cache beside the running requests, so nearly every turn after the first hits
    starts, scripts = conversations(10, np.random.default_rng(1))
    server = AnalyticServer(RTX4090)
    warm = run_conversations(server, starts, scripts, reuse=True)
    cold = run_conversations(AnalyticServer(RTX4090), starts, scripts, reuse=False)
    cache = server.prefix_cache
    assert cache is not None
    assert cache.hit_tokens > 0.9 * prompt_tokens(scripts)
    assert ttft_p95(warm) < 0.15 * ttft_p95(cold)


def test_eviction_when_idle_conversations_outgrow_the_cache() -> None:
    # 40 interviews at once: their prefixes (≈140k tokens) cannot all wait through a minute of
    # think time in a 46k-token cache; the least recently used go first, and most turns miss
    starts, scripts = conversations(40, np.random.default_rng(1))
    server = AnalyticServer(RTX4090)
    warm = run_conversations(server, starts, scripts, reuse=True)
    cache = server.prefix_cache
    assert cache is not None
    assert cache.evicted_tokens > 1_000_000
    assert 0 < cache.hit_tokens < 0.3 * prompt_tokens(scripts)
    cold = run_conversations(AnalyticServer(RTX4090), starts, scripts, reuse=False)
    assert ttft_p95(warm) > 0.8 * ttft_p95(cold)  # little left of the gain
    off = AnalyticServer(RTX4090, ServerSettings(prefix_caching=False))
    run_conversations(off, starts, scripts, reuse=True)
    assert off.prefix_cache is None


def prompt_tokens(scripts: list[list[Turn]]) -> int:
    """Prompt tokens of every turn after the first, the ones that could be cached."""
    return sum(t.prompt_tokens for s in scripts for t in s[1:])


@pytest.mark.parametrize("chunked", [True, False])
def test_both_servers_agree_with_conversations(chunked: bool) -> None:
    starts, scripts = conversations(60, np.random.default_rng(3), turns=6)
    small = deployment(CATALOG, "l4", "mistral-7b")  # a small cache: reuse, eviction and preemption together
    s = ServerSettings(chunked_prefill=chunked, max_num_batched_tokens=4096)
    stepped = SteppedServer(small, s)
    analytic = AnalyticServer(small, s)
    a = sorted(run_conversations(analytic, starts, scripts), key=lambda r: (r.conversation, r.turn))
    b = sorted(run_conversations(stepped, starts, scripts), key=lambda r: (r.conversation, r.turn))
    assert len(a) == len(b) == 60 * 6
    for x, y in zip(a, b, strict=True):
        assert (x.conversation, x.turn) == (y.conversation, y.turn)
        assert x.first_token_s == pytest.approx(y.first_token_s, rel=1e-9)
        assert x.finished_s == pytest.approx(y.finished_s, rel=1e-9)
        assert x.cached_tokens == y.cached_tokens
    assert analytic.prefix_cache is not None and stepped.prefix_cache is not None
    assert analytic.prefix_cache.hit_tokens == stepped.prefix_cache.hit_tokens > 0
    assert analytic.prefix_cache.evicted_tokens == stepped.prefix_cache.evicted_tokens
    # a completion reports the cache hit of the admission that produced its first token: less than the
    # hits counted in all, when a request was preempted after its hit and before its first token
    assert 0 < sum(r.cached_tokens for r in a) <= analytic.prefix_cache.hit_tokens
