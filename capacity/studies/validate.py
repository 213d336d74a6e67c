"""``validate``: the simulation and a live run of the same interviews, side by side.

The strongest check of the simulator is to run what it simulates. This study takes a
scenario's first ``interviews`` interviews, simulates them (the same candidates, arrivals and
behaviour as a live run of the same seed), then runs them live through the same policy core
against the provider emulator — each provider's quotas enforced with their real semantics,
its latency model slept (compressed by ``time_scale``), its error rate injected — and sets the
two side by side with their relative error.

What can differ, and why: service times and failures are drawn independently on each side
(the emulator's stream is not the simulator's), so latency percentiles differ by sampling
noise; the live side also pays the real cost of HTTP and of the event loop, and its timers fire
a little late under load. Counts — interviews carried, requests per provider — agree exactly
while no quota binds, and closely when one does.

Targets (``Figure.target``): interviews carried and requests per provider within 2 %, p95 turn
latency within 10 %.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

from capacity.config.loader import Configuration
from capacity.live.emulator.process import EmulatorProcess
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import HttpPerformer, resolve_routes
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.build import Core
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.workload.calendar import run_start

__all__ = ["COUNT_TOLERANCE", "LATENCY_TOLERANCE", "Figure", "Validation", "relative_error", "validate"]

COUNT_TOLERANCE = 0.02
"""Largest relative error of interviews carried and of requests per provider."""
LATENCY_TOLERANCE = 0.10
"""Largest relative error of the p95 turn latency."""


def relative_error(simulated: float, measured: float) -> float:
    """(measured − simulated) ÷ simulated; 0 when both are 0, ±inf when only the simulation is 0."""
    if simulated == 0:
        return 0.0 if measured == 0 else math.copysign(math.inf, measured)
    return (measured - simulated) / simulated


@dataclass(frozen=True)
class Figure:
    """One figure of both runs; ``target`` is the largest relative error allowed (None: shown only)."""

    name: str
    simulated: float
    measured: float
    target: float | None = None

    @property
    def relative_error(self) -> float:
        """(measured − simulated) ÷ simulated."""
        return relative_error(self.simulated, self.measured)

    @property
    def ok(self) -> bool:
        """Within its target (always, without one)."""
        return self.target is None or abs(self.relative_error) <= self.target


@dataclass(frozen=True)
class Validation:
    """Both runs, the figures compared, and what the emulator saw."""

    scenario: str
    interviews: int
    seed: int
    time_scale: float
    simulated: RunResult
    measured: RunResult
    figures: list[Figure]
    emulator: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every figure with a target is within it."""
        return all(f.ok for f in self.figures)

    @property
    def emulator_violations(self) -> int:
        """Limits the emulator's independent audit saw exceeded (0 when the router is right)."""
        return int(self.emulator.get("violations", 0))

    @property
    def emulator_429s(self) -> int:
        """429s the emulator sent (0 when the router never overshoots a quota)."""
        return sum(
            sum(m["rate_limited"].values())
            for p in self.emulator.get("providers", {}).values()
            for m in p["models"].values()
        )


def figures(simulated: RunResult, measured: RunResult) -> list[Figure]:
    """The compared figures: interviews carried, requests and 429s per destination, cache hit
    rate, turn latency p50/p95."""
    s_iv, m_iv = simulated.interviews, measured.interviews
    out = [
        Figure("interviews carried", s_iv.completed + s_iv.degraded, m_iv.completed + m_iv.degraded, COUNT_TOLERANCE),
        Figure("interviews failed", s_iv.failed, m_iv.failed),
    ]
    for s_dest, m_dest in zip(simulated.destinations, measured.destinations, strict=True):
        if s_dest.requests or m_dest.requests:
            out.append(Figure(f"requests {s_dest.name}", s_dest.requests, m_dest.requests, COUNT_TOLERANCE))
        s429, m429 = s_dest.errors.get("429", 0), m_dest.errors.get("429", 0)
        if s429 or m429:
            out.append(Figure(f"429s {s_dest.name}", s429, m429))
    out += [
        Figure("cache hit rate", simulated.cache.hit_rate, measured.cache.hit_rate),
        Figure("turn latency p50 (s)", simulated.turn_latency_s.p50, measured.turn_latency_s.p50),
        Figure("turn latency p95 (s)", simulated.turn_latency_s.p95, measured.turn_latency_s.p95, LATENCY_TOLERANCE),
    ]
    return out


def validate(
    config: Configuration, *, interviews: int = 100, time_scale: float = 60.0, seed: int | None = None
) -> Validation:
    """Simulate and run live (against an in-process emulator on a free loopback port) the
    scenario's first ``interviews`` interviews; compare. Raises UsageError on bad input."""
    plan = plan_live(config, interviews, seed)
    simulated = simulate(config, seed=plan.seed, max_interviews=interviews)
    sc = config.scenario
    # both clocks count run time first_start_s from this instant, after the child has started
    wall_origin = time.monotonic() + 10.0
    emulator = EmulatorProcess(
        list(config.providers.values()),
        run_start(sc.calendar),
        time_scale=time_scale,
        origin_s=plan.first_start_s,
        wall_origin=wall_origin,
        seed=plan.seed,
        outages=sc.outages,
    )
    with emulator as server:
        routes = resolve_routes(config, emulator=server.base_url)
        transport = ChatTransport()

        def performer(core: Core) -> CallPerformer:
            return HttpPerformer(core, routes, transport, time_scale)

        run = LiveRun(config, plan, performer, time_scale, clock_origin=wall_origin)

        async def go() -> RunResult:
            try:
                return await run.run_async()
            finally:
                await transport.aclose()

        measured = asyncio.run(go())
        stats = server.stats()
    return Validation(
        sc.name, plan.interviews, plan.seed, time_scale, simulated, measured, figures(simulated, measured), stats
    )
