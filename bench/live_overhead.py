"""Benchmark of the live router's own overhead (run on demand, not a test).

The provider emulator runs in its own process with a zero-latency model (every answer at once,
no limits), so what remains of a request's time is HTTP on loopback and our own code. Two
measurements, side by side in one run:

1. **Overhead per request at a steady arrival rate** (200 and 1,000 requests/s, open loop,
   one-turn interviews): the turn's latency as the policy core sees it minus the HTTP exchange
   as the transport timed it — the time spent in the pipeline, the router and ledger, the
   driver, message synthesis and result writing. p50 and p99, in milliseconds; with the
   in-memory ledger, and with the quota ledger in Redis (a private ``redis-server`` on
   loopback: each request's admission and settlement are then one Lua round trip each, and
   count as ours).
2. **Throughput of one router process against a bare httpx loop** (closed loop, 16 requests
   in flight, the same requests): requests per second and their ratio, in memory and with Redis.

The model has limits (a rolling RPM and TPM) far above the load, so every admission checks and
charges real windows without ever refusing.

    python bench/live_overhead.py [--requests 2000] [--rates 200 1000]

Prints figures; asserts nothing (machines here are shared and noisy). The Redis ledger's
own cost is measured by bench/redis_ledger.py.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from capacity.config.gpus import load_catalog  # noqa: E402
from capacity.config.loader import Configuration  # noqa: E402
from capacity.config.providers import Provider  # noqa: E402
from capacity.config.scenario import Scenario  # noqa: E402
from capacity.live.emulator.process import EmulatorProcess  # noqa: E402
from capacity.live.performer import HttpPerformer, resolve_routes  # noqa: E402
from capacity.live.redis_server import RedisServer  # noqa: E402
from capacity.live.runtime import LiveDriver, RunClock, SharedQuota  # noqa: E402
from capacity.live.shared import connect_checked, shared_ledgers  # noqa: E402
from capacity.live.transport import ChatTransport  # noqa: E402
from capacity.policy.actions import Call  # noqa: E402
from capacity.policy.build import Core, build_core, seed_streams  # noqa: E402
from capacity.policy.observer import NULL_OBSERVER  # noqa: E402

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
INSTANT = {"ttft_s": {"kind": "constant", "value": 0.0}, "output_tokens_per_s": {"kind": "constant", "value": 1e9}}


def configuration() -> Configuration:
    """One zero-latency provider with limits far above the load; a one-turn interview of 200
    prompt and 20 output tokens."""
    provider = Provider.model_validate({
        "name": "fast", "label": "fast", "base_url": "http://unused", "billing": "free", "accounts": 1,
        "scope": "account", "source": "bench", "as_of": "2025-10-01",
        "models": [{"name": "m", "latency": INSTANT, "timeout_s": 30,
                    "limits": {"rpm": 100_000_000, "tpm": 100_000_000_000}}],
    })  # fmt: skip
    scenario = Scenario.model_validate({
        "name": "overhead", "seed": 1,
        "demand": {"kind": "total", "interviews": 1, "days": 1},
        "candidates": {"count": 1, "interviews_each": 1, "spacing": "spread"},
        "calendar": {"start_date": "2025-10-06", "business_hours_start": "00:00", "business_hours_end": "23:00",
                     "weekdays_only": False, "timezones": [{"timezone": "UTC", "share": 1.0}]},
        "script": {"system_prompt_tokens": 200, "resume_tokens": 0,
                   "answer_tokens": {"kind": "constant", "value": 0}, "think_time_s": {"kind": "constant", "value": 0},
                   "opening": ["ask"],
                   "stages": {"ask": {"input": {"history": False}, "output_tokens": {"kind": "constant", "value": 20},
                                      "max_output_tokens": 20}}},
        "cache": {"enabled": False},
        "routing": {"destinations": [{"provider": "fast", "model": "m"}], "max_retries": 0},
    })  # fmt: skip
    return Configuration(scenario, {"fast": provider}, "<bench>", "<bench>", load_catalog())


def load() -> str:
    """The machine's load average over 1, 5 and 15 minutes (a shared machine's figures need it)."""
    one, five, fifteen = os.getloadavg()
    return f"[load average {one:.1f} {five:.1f} {fifteen:.1f}]"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def ledger(
    config: Configuration, core: Core, clock: RunClock, redis_url: str | None
) -> tuple[SharedQuota | None, Any]:
    """The shared (Redis) quota of a run, and its client; (None, None) in memory."""
    if redis_url is None:
        return None, None
    client = await connect_checked(redis_url)
    namespace = f"bench:{secrets.token_hex(4)}"
    return shared_ledgers(config, core.router, START, client=client, namespace=namespace, clock=clock.now), client


async def routed_at_rate(
    config: Configuration, base_url: str, rate: float, n: int, redis_url: str | None = None
) -> dict[str, Any]:
    """n one-turn interviews arriving every 1/rate s through the policy core; overhead per request."""
    core = build_core(config, START, seed_streams(1), NULL_OBSERVER)
    transport = ChatTransport()
    routes = resolve_routes(config, emulator=base_url)
    performer = HttpPerformer(core, routes, transport)
    exchange: dict[int, float] = {}  # candidate → the HTTP exchange, as the transport timed it
    clock = RunClock()

    async def perform(call: Call) -> None:
        await performer(call)
        exchange[call.candidate] = call.latency_s

    shared, client = await ledger(config, core, clock, redis_url)
    driver = LiveDriver(core, perform, clock, shared)
    ours: list[float] = []

    async def one(i: int) -> None:
        await clock.sleep_until(i / rate)
        began = time.perf_counter()
        await driver.drive(core.pipeline.session(clock.now(), i, 1))
        if i in exchange:  # else the turn made no call (refused past its deadline, or Redis lost)
            ours.append(time.perf_counter() - began - exchange[i])

    clock.start(asyncio.get_running_loop())
    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - began
    await transport.aclose()
    if client is not None:
        await client.aclose()
    exchanges = list(exchange.values())
    return {
        "rate": rate,
        "achieved": n / wall,
        "p50_ms": 1e3 * percentile(ours, 0.5),
        "p99_ms": 1e3 * percentile(ours, 0.99),
        "exchange_p50_ms": 1e3 * statistics.median(exchanges),
        "without_call": n - len(ours),
    }


async def closed_loop(n: int, inflight: int, send: Any) -> float:
    """Requests per second of ``send`` with ``inflight`` requests in flight."""
    left = iter(range(n))

    async def worker() -> None:
        for i in left:
            await send(i)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return n / (time.perf_counter() - began)


async def throughput(
    config: Configuration, base_url: str, n: int, inflight: int, redis_url: str
) -> tuple[float, float, float]:
    """(bare httpx, routed in memory, routed with Redis) requests/s on the same requests."""
    url = f"{base_url}/p/fast/v1/chat/completions"
    body = {"model": "m", "max_tokens": 20, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": " ".join(["word"] * 200)}]}  # fmt: skip
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def bare(i: int) -> None:
            async with client.stream("POST", url, json=body, headers={"Authorization": "Bearer k"}) as reply:
                async for _ in reply.aiter_lines():
                    pass

        bare_rate = await closed_loop(n, inflight, bare)
    rates = []
    for ledger_url in (None, redis_url):
        core = build_core(config, START, seed_streams(1), NULL_OBSERVER)
        transport = ChatTransport()
        performer = HttpPerformer(core, resolve_routes(config, emulator=base_url), transport)
        clock = RunClock()
        shared, client = await ledger(config, core, clock, ledger_url)
        driver = LiveDriver(core, performer, clock, shared)
        clock.start(asyncio.get_running_loop())

        async def routed(i: int, driver: LiveDriver = driver, core: Core = core, clock: RunClock = clock) -> None:
            await driver.drive(core.pipeline.session(clock.now(), i, 1))

        rates.append(await closed_loop(n, inflight, routed))
        await transport.aclose()
        if client is not None:
            await client.aclose()
    return bare_rate, rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[200.0, 1000.0], help="offered requests/s (default: 200 1000)"
    )
    args = parser.parse_args()
    config = configuration()
    providers = list(config.providers.values())
    with (
        EmulatorProcess(providers, START, time_scale=1.0, origin_s=0.0, wall_origin=time.monotonic()) as server,
        tempfile.TemporaryDirectory() as folder,
        RedisServer(Path(folder)) as redis,
    ):
        for name, url, target in (("in memory", None, 1.0), ("Redis", redis.url, 2.0)):
            for rate in args.rates:
                m = asyncio.run(routed_at_rate(config, server.base_url, rate, args.requests, url))
                print(
                    f"{name:9} {rate:6.0f} req/s offered ({m['achieved']:6.0f} achieved): our code "
                    f"p50 {m['p50_ms']:.3f} ms, p99 {m['p99_ms']:.3f} ms (HTTP exchange p50 "
                    f"{m['exchange_p50_ms']:.2f} ms; {m['without_call']} turns without a call)  "
                    f"[target: p99 ≤ {target:g} ms] {load()}",
                    flush=True,
                )
        bare, routed, shared = asyncio.run(throughput(config, server.base_url, args.requests, 16, redis.url))
        print(f"closed loop, 16 in flight: bare httpx {bare:,.0f} req/s; one router process {routed:,.0f} req/s "
              f"in memory (ratio {routed / bare:.2f}), {shared:,.0f} req/s with Redis (ratio {shared / bare:.2f}) "
              f"[target ≥ 0.8] {load()}")  # fmt: skip


if __name__ == "__main__":
    main()
