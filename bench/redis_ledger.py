"""What the Redis quota ledger costs a router per request, over loopback.

One destination with the windows of a typical free tier — rolling RPM, RPH and TPM, a daily
request cap resetting at midnight Pacific, a rolling daily token cap, a calendar-month token
cap, a concurrency limit — on 4 accounts, its limits set high enough that every request is
admitted (the common path: check and charge every window, then refund after the response).
Each request is one ``try_admit`` and one ``settle`` (two Lua scripts, two round trips), on
Redis's own clock.

Printed for one request at a time and for concurrent requests from one process: p50 and p99
of admit + settle per request (ms) and requests per second; and the in-memory ledger's
figures on the same destination, for scale.

    python bench/redis_ledger.py [--requests 20000] [--concurrency 1 16] [--url redis://…]

Without ``--url`` it starts a private ``redis-server`` on a free loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from capacity.config.providers import ModelSpec
from capacity.live.redis_ledger import RedisQuotaLedger, connect
from capacity.live.redis_server import RedisServer
from capacity.policy.ledger import Admission, DestinationQuota

WARM_UP = 500
SPEC = ModelSpec.model_validate(
    {
        "name": "bench-model",
        "limits": {
            "rpm": 1_000_000,
            "rph": 10_000_000,
            "rpd": 100_000_000,
            "tpm": 10_000_000_000,
            "tpd": 10_000_000_000,
            "tokens_per_month": 100_000_000_000,
            "concurrent_requests": 1_000,
        },
        "resets": {"day": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}},
        "latency": {
            "ttft_s": {"kind": "constant", "value": 0.1},
            "output_tokens_per_s": {"kind": "constant", "value": 100},
        },
    }
)
ACCOUNTS = 4


async def one_request(ledger: RedisQuotaLedger) -> float:
    """Admit and settle one request; seconds it took."""
    began = time.perf_counter()
    admission = await ledger.try_admit(1_800, 300)
    if not isinstance(admission, Admission):
        raise RuntimeError(f"the bench destination refused a request (free at {admission})")
    await ledger.settle(admission, 1_800, 120)
    return time.perf_counter() - began


async def redis_run(url: str, requests: int, concurrency: int) -> tuple[np.ndarray, float]:
    """Latencies (s) of ``requests`` requests from ``concurrency`` tasks; requests per second."""
    client = connect(url, timeout_s=5.0)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ledger = RedisQuotaLedger(client, "bench", SPEC, ACCOUNTS, start, namespace=uuid.uuid4().hex)
    for _ in range(WARM_UP):
        await one_request(ledger)
    latencies: list[float] = []
    per_task = requests // concurrency

    async def task() -> None:
        for _ in range(per_task):
            latencies.append(await one_request(ledger))

    began = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await client.aclose()
    return np.array(latencies), len(latencies) / elapsed


def memory_run(requests: int) -> tuple[np.ndarray, float]:
    """The in-memory ledger on the same destination and clock (one request at a time)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ledger = DestinationQuota(SPEC, ACCOUNTS, start)
    offset = start.timestamp()
    latencies = np.empty(requests)
    began = time.perf_counter()
    for k in range(requests):
        t = time.perf_counter()
        now = time.time() - offset
        admission = ledger.try_admit(now, 1_800, 300)
        assert isinstance(admission, Admission)
        ledger.settle(now, admission, 1_800, 120)
        latencies[k] = time.perf_counter() - t
    return latencies, requests / (time.perf_counter() - began)


def line(label: str, latencies: np.ndarray, per_s: float) -> str:
    p50, p99 = np.percentile(latencies, [50, 99]) * 1_000
    return f"{label:<34} {p50:>9.3f} {p99:>9.3f} {per_s:>12,.0f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="tasks per run")
    parser.add_argument("--url", help="an existing Redis (default: start a private redis-server)")
    args = parser.parse_args(argv)
    print(f"{'ledger, tasks':<34} {'p50 ms':>9} {'p99 ms':>9} {'requests/s':>12}")
    print(line("in memory, 1", *memory_run(args.requests)))

    def runs(url: str) -> None:
        for tasks in args.concurrency:
            print(line(f"Redis (loopback), {tasks}", *asyncio.run(redis_run(url, args.requests, tasks))))

    if args.url:
        runs(args.url)
        return
    with tempfile.TemporaryDirectory() as folder, RedisServer(Path(folder)) as server:
        runs(server.url)


if __name__ == "__main__":
    main()
