"""``validate``: the simulation and a live run of the same interviews, side by side.

The strongest check of the simulator is to run what it simulates. This study takes a
scenario's first ``interviews`` interviews, simulates them (the same candidates, arrivals and
behaviour as a live run of the same seed), then runs them live through the same policy core
against the provider emulator — each provider's quotas enforced with their real semantics,
its latency model slept (compressed by ``time_scale``), its error rate injected — and sets the
two side by side with their relative error.

What can differ, and why. By default both sides draw each provider call's fate — whether it
fails (the model's ``error_rate``), its time to first token and its decode speed — from the
same seeded decision per call, keyed by (candidate, interview, turn, attempt)
(:mod:`capacity.workload.keyed`; the live run sends the key to the emulator in a header), so
both runs meet the same faults and the same service times: what is compared is the two
systems, not two samples. (``shared_draws=False`` draws them independently on each side, as
two separate runs would: the counts then also differ by sampling noise.) Both sides run the
same router: the live router's rolling windows hold each request a one-way trip longer
(:attr:`~capacity.live.load.LiveRun.one_way_wall_s`, wall time), and the simulated router is
given the same margin in run time. What remains is the
live side's real cost: HTTP on loopback, both event loops, and timers that fire late on a
loaded machine. It is measured — per call, the live latency over the emulator's planned
service time (:class:`Overhead`), and the router's event-loop lag — in wall milliseconds; at
``time_scale`` X each wall millisecond is X ms of run time, so a time scale at which the
overhead stays a small share of the turn latency is what makes the latency comparison mean
something (:data:`DEFAULT_TIME_SCALE`). Counts — interviews carried, requests per provider —
agree exactly while no quota binds, and closely when one does.

Targets (``Figure.target``): interviews carried and requests per provider within 2 %, p95 turn
latency within 10 %.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capacity.config.loader import Configuration
from capacity.live.emulator.process import EmulatorProcess
from capacity.live.load import LiveRun, Progress, plan_live
from capacity.live.performer import HttpPerformer, resolve_routes
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.units import ErrorKind
from capacity.workload.calendar import run_start
from capacity.workload.distributions import sampler
from capacity.workload.keyed import draw_service

__all__ = [
    "COUNT_TOLERANCE",
    "DEFAULT_TIME_SCALE",
    "LATENCY_TOLERANCE",
    "Figure",
    "Overhead",
    "Validation",
    "relative_error",
    "validate",
]

COUNT_TOLERANCE = 0.02
"""Largest relative error of interviews carried and of requests per provider."""
LATENCY_TOLERANCE = 0.10
"""Largest relative error of the p95 turn latency."""
DEFAULT_TIME_SCALE = 2.0
"""Run seconds per wall second of ``capacity validate``'s live run by default. Each wall
millisecond the live side adds to a call (:class:`Overhead`) counts this many milliseconds of
run time, and the p95 turn latency is compared within 10 %: scenario A's is about 0.7 s, so the
overhead may cost at most 70 ms of run time. On the shared 2-core machine (load average 10–13)
the overhead per call measured 3–9 ms at p50 and 20–47 ms at p95 of wall time: at 10× that is
0.2–0.5 s of run time and the latency comparison measured the machine (+26 to +70 %); at 2× it
is 40–90 ms, about the target's size, and on an idle machine (a few ms) far below it."""

LAG_PROBE_WALL_S = 0.01
"""How often the router's event loop is probed for lag, wall seconds."""


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
class Overhead:
    """What the live run added to the modelled times, in wall seconds (its clock counts each
    wall second ``time_scale`` times).

    ``per_call_*``: over the provider calls the emulator answered or failed with a 5xx, each
    call's live latency (send → last token, or → the error) minus the service time the
    emulator planned for it (TTFT + output tokens ÷ decode speed, or a failure's TTFT): HTTP on
    loopback both ways, both event loops, timers firing late. Known only with shared draws
    (``calls`` is 0 otherwise and the figures NaN). ``lag_*``: the router's event-loop lag, how
    late a timer armed every :data:`LAG_PROBE_WALL_S` fired."""

    calls: int
    per_call_p50_s: float
    per_call_p95_s: float
    lag_p50_s: float
    lag_p95_s: float
    lag_max_s: float

    @classmethod
    def of(cls, per_call_s: list[float], lag_s: list[float]) -> Overhead:
        """The percentiles of the samples (NaN where there are none)."""

        def q(values: list[float], p: float) -> float:
            return float(np.quantile(values, p)) if values else math.nan

        return cls(
            len(per_call_s),
            q(per_call_s, 0.5),
            q(per_call_s, 0.95),
            q(lag_s, 0.5),
            q(lag_s, 0.95),
            max(lag_s, default=math.nan),
        )


class _Timed:
    """A call performer that also records each call's latency over the emulator's planned
    service time (wall s): the call's fate is drawn from its key and ``seed``, as the emulator
    draws it."""

    def __init__(self, inner: CallPerformer, seed: int, time_scale: float) -> None:
        self.inner = inner
        self.seed = seed
        self.time_scale = time_scale
        self.excess_s: list[float] = []

    async def __call__(self, call: Call) -> None:
        await self.inner(call)
        quota = call.routed.destination.quota
        if quota is None or call.failure not in (None, ErrorKind.SERVER_ERROR):
            return  # a GPU server's call, or one the emulator refused or never saw
        latency = quota.spec.latency
        fate = draw_service(self.seed, call.key, sampler(latency.ttft_s), sampler(latency.output_tokens_per_s))
        planned = max(0.0, fate.ttft_s)
        if call.failure is None:
            planned += call.tokens_out / max(fate.output_tokens_per_s, 1e-9)
        self.excess_s.append((call.latency_s - planned) / self.time_scale)


async def _probe_lag(samples: list[float]) -> None:
    """Record how late a timer armed every :data:`LAG_PROBE_WALL_S` fires (wall s), until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_PROBE_WALL_S
        await asyncio.sleep(LAG_PROBE_WALL_S)
        samples.append(max(0.0, loop.time() - due))


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
    shared_draws: bool = True
    """Both sides drew each call's failure and service time from its key (the default)."""
    overhead: Overhead | None = None
    """What the live run added, wall seconds."""

    @property
    def ok(self) -> bool:
        """Every figure with a target is within it."""
        return all(f.ok for f in self.figures)

    @property
    def overhead_share(self) -> float:
        """The live overhead's p95 per call, in run time, over the simulated p95 turn latency
        (NaN where unknown): above :data:`LATENCY_TOLERANCE` the time scale is too high for this
        machine to meet the latency target whatever the model (the output says so)."""
        p95 = self.simulated.turn_latency_s.p95
        if self.overhead is None or not self.overhead.calls or p95 <= 0:
            return math.nan
        return self.overhead.per_call_p95_s * self.time_scale / p95

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
    config: Configuration,
    *,
    interviews: int = 100,
    time_scale: float = DEFAULT_TIME_SCALE,
    seed: int | None = None,
    shared_draws: bool = True,
    progress: Progress | None = None,
) -> Validation:
    """Simulate and run live (against an emulator in its own process, on a free loopback port)
    the scenario's first ``interviews`` interviews; compare. ``shared_draws``: both sides draw
    each call's fate from its key (see the module docstring); ``progress`` is called with
    (interviews ended, interviews in all) as the live side advances. Raises UsageError on bad input."""
    plan = plan_live(config, interviews, seed)
    sc = config.scenario
    one_way_wall_s = LiveRun.one_way_wall_s
    # the same router on both sides: the live router's rolling windows hold each request a
    # one-way trip longer (wall time, so time_scale times that in run time); simulate that router
    simulated = simulate(
        config,
        seed=plan.seed,
        max_interviews=interviews,
        keyed_draws=shared_draws,
        rolling_margin_s=one_way_wall_s * time_scale,
    )
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
    timed: list[_Timed] = []
    lag: list[float] = []
    with emulator as server:
        routes = resolve_routes(config, emulator=server.base_url)
        transport = ChatTransport()

        def performer(core: Core) -> CallPerformer:
            http = HttpPerformer(core, routes, transport, time_scale, keyed_draws=shared_draws)
            if not shared_draws:
                return http
            timed.append(_Timed(http, plan.seed, time_scale))
            return timed[-1]

        run = LiveRun(
            config,
            plan,
            performer,
            time_scale,
            progress=progress,
            one_way_wall_s=one_way_wall_s,
            clock_origin=wall_origin,
        )

        async def go() -> RunResult:
            probe = asyncio.create_task(_probe_lag(lag))
            try:
                return await run.run_async()
            finally:
                probe.cancel()
                await transport.aclose()

        measured = asyncio.run(go())
        stats = server.stats()
    overhead = Overhead.of([e for t in timed for e in t.excess_s], lag)
    return Validation(
        sc.name,
        plan.interviews,
        plan.seed,
        time_scale,
        simulated,
        measured,
        figures(simulated, measured),
        stats,
        shared_draws,
        overhead,
    )
