"""In-flight de-duplication across two ``capacity serve`` instances sharing one Redis.

An identical request on instance two while instance one's is on its way waits for one's answer
through Redis (the emulator answers one request, both clients get the same message), and an
instance whose leader lets go without an answer — it failed, or died — makes its own call.

The emulator runs on a :class:`~servekit.GateClock`: an answer takes 1 s of its clock, which
stands still until the test moves it, so one's request is in flight for as long as the test
needs. The test knows two is waiting when Redis has served two's first read of the result
(``MGET`` in ``INFO commandstats``).
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from typing import Any

import httpx
import redis
from servekit import GateClock, config, emulator_of, service

from capacity.live.redis_server import RedisServer
from capacity.live.serve.outcomes import ClientRequest

TEXT = "tell me about queues"


def chat(url: str) -> httpx.Response:
    body = {"model": "interview", "messages": [{"role": "user", "content": TEXT}], "max_tokens": 4}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30.0)


def mget_calls(client: redis.Redis) -> int:
    """``MGET`` commands Redis has served since it started."""
    stats: dict[str, Any] = client.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


def wait_for_a_follower(client: redis.Redis, before: int) -> None:
    """Until a follower has read the result once (a minute at most, on a loaded machine)."""
    deadline = time.monotonic() + 60.0
    while mget_calls(client) == before:
        assert time.monotonic() < deadline, "the second instance never waited for the first"
        time.sleep(0.01)


def requests_seen(emulator_url: str) -> int:
    return int(httpx.get(f"{emulator_url}/stats").json()["providers"]["acme"]["models"]["m"]["requests"])


def test_an_identical_request_on_another_instance_waits_for_the_first_answer(redis_server: RedisServer) -> None:
    cfg = config({"rpm": 100}, cache=True, ttft_s=1.0)
    shared = {"redis_url": redis_server.url, "namespace": f"capacity:test-{uuid.uuid4().hex[:8]}"}
    gate = GateClock()
    probe = redis.Redis.from_url(redis_server.url)
    with (
        emulator_of(cfg, clock=gate) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        first = pool.submit(chat, one.base_url)
        while requests_seen(emu.base_url) == 0:  # one's request is at the emulator, held by its clock
            time.sleep(0.01)
        before = mget_calls(probe)
        second = pool.submit(chat, two.base_url)
        wait_for_a_follower(probe, before)
        gate.advance(5.0)  # the emulator answers one; two gets the same answer through Redis
        a, b = first.result(), second.result()
        assert (a.status_code, b.status_code) == (200, 200)
        assert (a.headers["x-capacity-source"], b.headers["x-capacity-source"]) == ("api", "deduplicated")
        assert b.json()["choices"][0]["message"] == a.json()["choices"][0]["message"]
        assert requests_seen(emu.base_url) == 1
        stats = httpx.get(f"{two.base_url}/api/optimization_stats").json()
        assert stats["deduplicated"]["count"] == 1 and stats["api_calls"]["count"] == 0
    probe.close()


def test_a_leader_letting_go_without_an_answer_sends_the_follower_upstream(redis_server: RedisServer) -> None:
    cfg = config({"rpm": 100}, cache=True)
    namespace = f"capacity:test-{uuid.uuid4().hex[:8]}"
    key = ClientRequest("interview", [{"role": "user", "content": TEXT}], max_tokens=4).cache_key()
    lock = f"{namespace}:flight:{{{key}}}:lock"
    probe = redis.Redis.from_url(redis_server.url)
    probe.set(lock, "another instance", px=60_000)  # an instance leads this request …
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, redis_url=redis_server.url, namespace=namespace) as two,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        before = mget_calls(probe)
        asked = pool.submit(chat, two.base_url)
        wait_for_a_follower(probe, before)
        assert requests_seen(emu.base_url) == 0  # two waits for it, sending nothing
        probe.delete(lock)  # … and fails: it lets go of the lock with no answer
        answer = asked.result()
        assert answer.status_code == 200 and answer.headers["x-capacity-source"] == "api"
        assert requests_seen(emu.base_url) == 1
    probe.close()
