"""The Redis response cache behaves as the in-memory one (TTL, LRU eviction) and keeps payloads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.live.redis_cache import RedisResponseCache
from capacity.live.redis_ledger import connect
from capacity.live.redis_server import RedisServer
from capacity.policy.cache import MISS, ResponseCache


@pytest.fixture(scope="module")
def client(redis_server: RedisServer, runner: asyncio.Runner) -> Iterator[aioredis.Redis]:
    c = connect(redis_server.url)
    yield c
    runner.run(c.aclose())


ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["get", "put"]), st.sampled_from("abcdefg")),
        st.tuples(st.just("wait"), st.integers(0, 8).map(float)),  # whole seconds: expiry instants are hit exactly
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(ttl_s=st.integers(1, 20).map(float), max_entries=st.integers(1, 5), steps=ops)
def test_same_hits_misses_and_evictions_as_in_memory(
    runner: asyncio.Runner, client: aioredis.Redis, ttl_s: float, max_entries: int, steps: list[tuple[str, object]]
) -> None:
    async def replay() -> None:
        now = [0.0]
        shared = RedisResponseCache(client, uuid.uuid4().hex, ttl_s, max_entries, clock=lambda: now[0])
        local = ResponseCache(ttl_s, max_entries)
        hits = misses = 0
        for op, arg in steps:
            if op == "wait":
                assert isinstance(arg, float)
                now[0] += arg
            elif op == "get":
                payload = await shared.get(str(arg))
                found = local.get(str(arg), now[0]) is not MISS
                hits, misses = hits + found, misses + (not found)
                assert (payload is not None) == found
                if payload is not None:
                    assert payload == f"answer {arg}".encode()
            else:
                await shared.put(str(arg), f"answer {arg}")
                local.put(str(arg), now[0])
            assert (shared.hits, shared.misses, shared.evictions) == (hits, misses, local.evictions)
            assert await shared.size() == len(local)

    runner.run(replay())


def test_entries_shared_between_routers_and_expire_on_redis_clock(
    runner: asyncio.Runner, client: aioredis.Redis
) -> None:
    async def scenario() -> tuple[bytes | None, bytes | None, bytes | None, int]:
        name = uuid.uuid4().hex
        writer = RedisResponseCache(client, name, ttl_s=0.3, max_entries=10)
        reader = RedisResponseCache(client, name, ttl_s=0.3, max_entries=10)
        payload = "résumé analysis: strong on distributed systems".encode()
        await writer.put("resume:candidate-17", payload)
        hit = await reader.get("resume:candidate-17")
        other = await reader.get("resume:candidate-18")
        await asyncio.sleep(0.4)  # past the TTL on Redis's clock
        gone = await reader.get("resume:candidate-17")
        return hit, other, gone, await client.exists(*writer.keys[:3])

    hit, other, gone, keys_left = runner.run(scenario())
    assert hit == "résumé analysis: strong on distributed systems".encode()
    assert other is None and gone is None
    assert keys_left == 0  # the expired entry was removed on lookup: nothing of it stays


def test_keys_of_an_idle_cache_expire(runner: asyncio.Runner, client: aioredis.Redis) -> None:
    cache = RedisResponseCache(client, uuid.uuid4().hex, ttl_s=600.0, max_entries=3)
    runner.run(cache.put("k", b"v"))
    ttls = [runner.run(client.pttl(key)) for key in cache.keys]
    assert all(600_000 < t <= 601_000 for t in ttls)
