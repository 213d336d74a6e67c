"""A soak of the live router: a steady 5 interviews a wall second against the emulator with 1 % of requests
misbehaving, for ``CAPACITY_SOAK_S`` wall seconds (default 20; the long form: 180).

Marked ``soak``, so the default test run leaves it out; ``.ci/run`` runs the short form
(``pytest -m soak``). It asserts what must hold however loaded the machine is:

* no request is lost: every interview ends (none unfinished), each call either answered or
  failed once, and the emulator received every call answered and none the router did not send;
* memory stays flat: the traced heap (``tracemalloc``, the router and the emulator in one
  process) after the first quarter grows by less than 2 MB — where a leak of one small object
  per request would grow it by several;

and prints the call latency percentiles (wall ms) of each quarter of the run, with the heap
samples, for the closing note (latency is not asserted: the machine's load sets it).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import tracemalloc

import numpy as np
import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.live.emulator import Emulator, EmulatorThread, FaultKind, FaultRates, ScaledClock
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import HttpPerformer, resolve_routes
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core
from capacity.result import RunResult
from capacity.workload.calendar import run_start

pytestmark = pytest.mark.soak

SCALE = 60.0
RATE_PER_S = 5.0
"""Interviews (one request each) arriving per wall second."""
FAULTS = [k for k in FaultKind if k is not FaultKind.RATE_LIMIT_ABSURD]
"""Every fault but the absurd Retry-After, which takes a provider out for a day by design."""
MAX_GROWTH_BYTES = 2_000_000


def test_a_steady_soak_with_one_percent_faults_loses_nothing_and_does_not_grow() -> None:
    seconds = float(os.environ.get("CAPACITY_SOAK_S", "20"))
    interviews = int(RATE_PER_S * seconds)
    fast = {"ttft": const(0.5), "tps": const(200.0), "timeout_s": 120.0, "limits": {"rpd": 10_000_000}}
    config = build(
        [provider("p0", **fast), provider("p1", **fast)],  # type: ignore[arg-type]
        demand(int(RATE_PER_S * 86_400 / SCALE)),
        hours("00:00", "23:59"),
        one_turn(output=const(20.0), max_output=20),
        destinations("p0", "p1", max_retries=2, backoff_base_s=0.5, cooldown_s=5.0, turn_deadline_s=300.0,
                     on_deadline="fail", strategy="weighted"),
    )
    plan = plan_live(config, interviews)
    rates = FaultRates({"*": dict.fromkeys(FAULTS, 0.01 / len(FAULTS))})
    wall0 = time.monotonic()
    emulator = Emulator(list(config.providers.values()), ScaledClock(SCALE, plan.first_start_s, wall0),
                        run_start(config.scenario.calendar), faults=rates)
    latencies: list[tuple[float, float]] = []  # (sent at, wall s taken), per call
    heap: list[tuple[float, int]] = []

    tracemalloc.start()
    try:
        with EmulatorThread(emulator) as server:
            routes = resolve_routes(config, emulator=server.base_url)
            transport = ChatTransport()

            def performer(core: Core) -> CallPerformer:
                inner = HttpPerformer(core, routes, transport, SCALE)

                async def perform(call: Call) -> None:
                    sent = time.perf_counter()
                    await inner(call)
                    latencies.append((sent, time.perf_counter() - sent))

                return perform

            run = LiveRun(config, plan, performer, SCALE, clock_origin=wall0)

            async def main() -> RunResult:
                async def sample() -> None:
                    while True:
                        heap.append((time.perf_counter(), tracemalloc.get_traced_memory()[0]))
                        await asyncio.sleep(max(0.25, seconds / 40))

                sampler = asyncio.create_task(sample())
                try:
                    return await run.run_async()
                finally:
                    sampler.cancel()
                    await transport.aclose()

            result = asyncio.run(main())
            received = emulator.stats()["providers"]
    finally:
        tracemalloc.stop()

    check_conservation(result)
    i = result.interviews
    assert i.requested == interviews
    assert i.unfinished == 0
    assert i.completed + i.degraded + i.failed == interviews
    calls = {name: sum(m["requests"] for m in p["models"].values()) for name, p in received.items()}
    answered = sum(d.completed for d in result.destinations)
    assert result.requests.api_calls == len(latencies)
    # a call the router gave up on may not have reached the emulator; every answer did, once
    assert answered <= sum(calls.values()) <= result.requests.api_calls
    injected = sum(n for p in received.values() for m in p["models"].values() for k, n in m["faults"].items()
                   if k != FaultKind.MISSING_USAGE)  # an answer without usage is no failure
    assert sum(sum(d.errors.values()) for d in result.destinations) >= injected  # each fault seen as one

    start, end = heap[0][0], heap[-1][0]
    settled = [b for t, b in heap if t >= start + (end - start) / 4]
    growth = max(settled) - min(settled)
    quarters = np.array_split(np.array(sorted(latencies)), 4)
    print(f"\nsoak: {seconds:g} s, {interviews} interviews, {result.requests.api_calls} calls, "
          f"errors {result.errors}, completed {i.completed}, failed {i.failed}")
    for k, q in enumerate(quarters):
        ms = q[:, 1] * 1000
        print(f"  quarter {k + 1}: p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
              f"p99 {np.percentile(ms, 99):.1f} ms")
    print(f"  traced heap after the first quarter: {min(settled) / 1e6:.2f}–{max(settled) / 1e6:.2f} MB "
          f"(median {statistics.median(settled) / 1e6:.2f} MB), growth {growth / 1e3:.0f} kB")
    assert growth < MAX_GROWTH_BYTES
