"""Benchmark of ``capacity serve``'s overhead: a client's request through the service vs straight
to the provider (run on demand, not a test).

The provider emulator (``capacity emulate``) and the service (``capacity serve``, in-memory
ledger, cache off) each run in their own process on loopback; the emulator answers at once
(zero time to first token, a million tokens a second) under limits far above the load, so the
difference between the two paths is the service: one more HTTP exchange in and out (uvicorn,
Starlette, JSON), the policy core's admission and settlement, the upstream exchange read as a
stream, and the answer written again. For each of ``--concurrency`` requests in flight
(closed loop, ``--requests`` each after a warm-up), it prints the client-side latency p50 and
p99 of both paths, what the service adds at each, and the requests per second both carry.

    python bench/serve_overhead.py [--requests 1000] [--concurrency 1 8]

Prints figures; asserts nothing (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
CAPACITY = [sys.executable, "-m", "capacity"]

PROVIDER = {
    "name": "acme", "label": "acme", "base_url": "http://unused", "billing": "free", "accounts": 1,
    "scope": "account", "source": "bench", "as_of": "2025-01-01",
    "models": [{
        "name": "m", "limits": {"rpm": 10_000_000, "tpm": 10_000_000_000},
        "latency": {"ttft_s": {"kind": "constant", "value": 0.0},
                    "output_tokens_per_s": {"kind": "constant", "value": 1e6}},
    }],
}
SCENARIO = {
    "name": "bench", "demand": {"kind": "total", "interviews": 10, "days": 1},
    "candidates": {"count": 10, "interviews_each": 1},
    "cache": {"enabled": False},
    "routing": {"destinations": [{"provider": "acme", "model": "m"}], "max_retries": 0},
}
BODY = {"messages": [{"role": "user", "content": "tell me about your last project please"}], "max_tokens": 16}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def drive(url: str, model: str, headers: dict[str, str], n: int, concurrency: int) -> tuple[list[float], float]:
    """``n`` requests with ``concurrency`` in flight: each one's latency (s), and the wall time."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:
        body = {**BODY, "model": model}
        for _ in range(50):  # warm-up: connections, caches, the interpreter's paths
            (await client.post(url, json=body, headers=headers)).raise_for_status()
        left = n

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                t0 = time.perf_counter()
                (await client.post(url, json=body, headers=headers)).raise_for_status()
                latencies.append(time.perf_counter() - t0)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] * 1000  # ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": [PROVIDER]}))
        (folder / "bench.yaml").write_text(yaml.safe_dump(SCENARIO))
        emu_port, srv_port = free_port(), free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        emu = subprocess.Popen([*CAPACITY, "emulate", "--providers", str(folder / "providers.yaml"),
                                "--port", str(emu_port)], env=env, stderr=subprocess.DEVNULL)
        srv = subprocess.Popen([*CAPACITY, "serve", "-s", str(folder / "bench.yaml"), "--providers",
                                str(folder / "providers.yaml"), "--port", str(srv_port),
                                "--emulator", f"http://127.0.0.1:{emu_port}"], env=env, stderr=subprocess.DEVNULL)
        try:
            wait_up(f"http://127.0.0.1:{emu_port}/stats")
            wait_up(f"http://127.0.0.1:{srv_port}/healthz")
            key = {"authorization": "Bearer emulator-acme-account-1"}  # the key serve sends: the same account
            direct = (f"http://127.0.0.1:{emu_port}/p/acme/v1/chat/completions", "m", key)
            served = (f"http://127.0.0.1:{srv_port}/v1/chat/completions", "interview", {})
            print(f"{'in flight':>9} {'path':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
            for c in args.concurrency:
                figures = {}
                for name, (url, model, headers) in (("direct", direct), ("serve", served)):
                    lat, wall = asyncio.run(drive(url, model, headers, args.requests, c))
                    figures[name] = (pct(lat, 50), pct(lat, 99), len(lat) / wall)
                    print(f"{c:>9} {name:>8} {figures[name][0]:8.2f} {figures[name][1]:8.2f} {figures[name][2]:8.0f}")
                added50 = figures["serve"][0] - figures["direct"][0]
                added99 = figures["serve"][1] - figures["direct"][1]
                print(f"{c:>9} {'added':>8} {added50:8.2f} {added99:8.2f}")
        finally:
            for proc in (srv, emu):
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
