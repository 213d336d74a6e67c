"""Two ``capacity serve`` instances sharing one Redis: together they never overshoot a quota,
and a session stays on its provider whichever instance it reaches."""

from __future__ import annotations

import asyncio

import httpx
from servekit import config, emulator_of, service

from capacity.live.redis_server import RedisServer


def test_two_instances_sharing_redis_keep_the_providers_quota_together(redis_server: RedisServer) -> None:
    cfg = config({"rpm": 10, "rpd": 1000})
    shared = {"redis_url": redis_server.url, "namespace": "capacity:test-serve-quota"}
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
    ):

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=10.0) as client:
                body = {"model": "interview", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
                urls = [f"{srv.base_url}/v1/chat/completions" for srv in (one, two) for _ in range(12)]
                return list(await asyncio.gather(*(client.post(url, json=body) for url in urls)))

        answers = asyncio.run(burst())
        assert sorted(a.status_code for a in answers) == [200] * 10 + [429] * 14
        assert all("retry-after" in a.headers for a in answers if a.status_code == 429)
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]
        assert stats["requests"] == 10
        assert stats["rate_limited"] == {"burst": 0, "daily": 0}
        assert stats["violations"] == 0
        counted = [httpx.get(f"{srv.base_url}/api/optimization_stats").json() for srv in (one, two)]
        assert [c["total_requests"] for c in counted] == [12, 12]
        assert sum(c["api_calls"]["count"] for c in counted) == 10
        assert sum(c["refused"]["count"] for c in counted) == 14
        ready = httpx.get(f"{one.base_url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "redis": "ok"}


def test_a_session_keeps_its_provider_across_instances(redis_server: RedisServer) -> None:
    cfg = config(names=("acme", "beta"), strategy="weighted")
    shared = {"redis_url": redis_server.url, "namespace": "capacity:test-serve-affinity"}
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
    ):
        hi = [{"role": "user", "content": "hi"}]
        body = {"model": "interview", "messages": hi, "max_tokens": 2, "user": "candidate-17"}
        places = [
            httpx.post(f"{srv.base_url}/v1/chat/completions", json=body).headers["x-capacity-destination"]
            for srv in (one, two) * 4
        ]
        assert len(set(places)) == 1
        anonymous = {
            httpx.post(f"{srv.base_url}/v1/chat/completions", json={**body, "user": None}).headers[
                "x-capacity-destination"
            ]
            for srv in (one, two) * 5
        }
        assert anonymous == {"acme/m", "beta/m"}  # without a session the weighted draw spreads them
