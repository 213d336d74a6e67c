"""``capacity serve`` instances sharing one Redis share what they say too: the response cache
(an answer cached by one is a hit on the other), and the rate-limit headers, quota gauges and
dashboard figures, read from the Redis ledger's counts (:func:`read_use`) — which match the
in-memory ledger's, its specification, at every step."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servekit import config, emulator_of, service
from test_redis_ledger_equivalence import STARTS, model_specs, step

from capacity.config.providers import ModelSpec
from capacity.live.redis_ledger import RedisQuotaLedger, connect
from capacity.live.redis_server import RedisServer
from capacity.live.redis_usage import read_use
from capacity.policy.ledger import Admission, DestinationQuota


@pytest.fixture(scope="module")
def client(redis_server: RedisServer, runner: asyncio.Runner) -> Iterator[aioredis.Redis]:
    """A client on the module's event loop."""
    c = connect(redis_server.url)
    yield c
    runner.run(c.aclose())


async def replay_and_read(
    client: aioredis.Redis, spec: ModelSpec, accounts: int, start: dt.datetime, ops: list[tuple[str, Any, Any]]
) -> None:
    """Drive the Redis and the in-memory ledger with ``ops``; after every step, what Redis counts
    in each window of each account is what the in-memory window holds, and it is whole again
    when the in-memory window says its whole limit fits."""
    now = [0.0]
    shared = RedisQuotaLedger(
        client, "p", spec, accounts, start, namespace=uuid.uuid4().hex, clock=lambda: now[0], slot_lease_s=math.inf
    )
    local = DestinationQuota(spec, accounts, start)
    open_: list[tuple[Admission, Admission, int, int]] = []
    for k, (op, x, y) in enumerate(ops):
        if op == "wait":
            now[0] += x
        elif op == "admit":
            a, b = await shared.try_admit(x, y), local.try_admit(now[0], x, y)
            if isinstance(a, Admission) and isinstance(b, Admission):
                open_.append((a, b, x, local.output_cap(y)))
        elif open_:
            a, b, tokens_in, output = open_.pop(x % len(open_))
            await shared.settle(a, tokens_in, round(y * output))
            local.settle(now[0], b, tokens_in, round(y * output))
        at, counted = await read_use(shared)
        assert at == now[0]
        for account, windows in zip(local.accounts, counted, strict=True):
            for window, use in zip(account.windows, windows, strict=True):
                assert use.name == window.name
                held = window.used(now[0])
                tolerance = 1e-6 * max(1.0, window.limit)
                assert use.used == pytest.approx(held, abs=tolerance), f"step {k}, {window.name} at {now[0]} s"
                if held > window.limit * 1e-6:
                    assert use.whole_at == pytest.approx(window.free_at(now[0], window.limit), abs=1e-6)
                else:  # nothing counted: whole now
                    assert use.whole_at == pytest.approx(now[0], abs=1e-3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=model_specs(), accounts=st.integers(1, 2), start=st.sampled_from(STARTS),
       ops=st.lists(step(), min_size=5, max_size=40))
def test_redis_counts_read_as_the_in_memory_ledger_holds(
    runner: asyncio.Runner, client: aioredis.Redis, spec: ModelSpec, accounts: int, start: dt.datetime,
    ops: list[tuple[str, Any, Any]],
) -> None:
    runner.run(replay_and_read(client, spec, accounts, start, ops))


def _chat(url: str, text: str, **extra: Any) -> httpx.Response:
    body = {"model": "interview", "messages": [{"role": "user", "content": text}], "max_tokens": 4, **extra}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=10.0)


def test_an_answer_cached_by_one_instance_is_a_hit_on_the_other(redis_server: RedisServer) -> None:
    cfg = config({"rpm": 100}, cache=True)
    shared = {"redis_url": redis_server.url, "namespace": f"capacity:test-{uuid.uuid4().hex[:8]}"}
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
    ):
        first = _chat(one.base_url, "tell me about queues")
        again = _chat(two.base_url, "tell me about queues")
        streamed = httpx.post(
            f"{two.base_url}/v1/chat/completions", timeout=10.0,
            json={"model": "interview", "messages": [{"role": "user", "content": "tell me about queues"}],
                  "max_tokens": 4, "stream": True},
        )
        other = _chat(two.base_url, "tell me about stacks")
        assert [r.status_code for r in (first, again, streamed, other)] == [200] * 4
        assert first.headers["x-capacity-source"] == "api"
        assert again.headers["x-capacity-source"] == "cache"
        assert streamed.headers["x-capacity-source"] == "cache"
        assert other.headers["x-capacity-source"] == "api"
        assert again.json()["choices"][0]["message"] == first.json()["choices"][0]["message"]
        assert again.json()["usage"] == first.json()["usage"]
        assert httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]["requests"] == 2
        stats = httpx.get(f"{two.base_url}/api/optimization_stats").json()
        assert stats["cache_hits"]["count"] == 2 and stats["api_calls"]["count"] == 1


def test_two_instances_report_the_same_shared_quota(redis_server: RedisServer) -> None:
    cfg = config({"rpm": 10, "rpd": 1000})
    shared = {"redis_url": redis_server.url, "namespace": f"capacity:test-{uuid.uuid4().hex[:8]}"}
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
    ):
        answers = [_chat(srv.base_url, f"question {k}") for k, srv in enumerate((one, two, one, two, two))]
        assert [a.status_code for a in answers] == [200] * 5
        # each answer counts every request admitted so far, whichever instance admitted it
        assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["9", "8", "7", "6", "5"]
        assert [a.headers["x-ratelimit-remaining-requests-day"] for a in answers] == [
            "999", "998", "997", "996", "995"
        ]
        assert all(a.headers["x-ratelimit-limit-requests"] == "10" for a in answers)
        assert all(a.headers["x-ratelimit-reset-requests"] not in ("", "0s") for a in answers)
        boards = [httpx.get(f"{srv.base_url}/api/dashboard").json()["providers"][0] for srv in (one, two)]
        assert [(b["minute"]["used"], b["day"]["used"], b["day"]["limit"]) for b in boards] == [(5, 5, 1000)] * 2
        assert all(b["day"]["reset_s"] > 0 for b in boards)
        for srv in (one, two):
            scrape = httpx.get(f"{srv.base_url}/metrics").text
            assert 'capacity_serve_quota_used_ratio{destination="acme/m",window="rpm"} 0.5' in scrape
            assert 'capacity_serve_quota_used_ratio{destination="acme/m",window="rpd"} 0.005' in scrape
