"""The load driver: replay a scenario's interviews live, through the policy core.

``capacity live`` takes the scenario's first ``interviews`` interviews — the same candidates,
arrival times and behaviour draws the simulator uses for the same seed
(:func:`~capacity.workload.calendar.plan_arrivals`) — and runs them on the wall clock,
compressed by ``time_scale``: every session is an asyncio task of
:class:`~capacity.live.runtime.LiveDriver`, every call a real request made by a
:class:`~capacity.live.runtime.CallPerformer`. The run produces the simulator's
:class:`~capacity.result.RunResult` (``mode: live``), so ``report`` renders it, and journals
each finished interview (:mod:`capacity.live.journal`) so that ``--resume`` continues a run
stopped by Ctrl-C or a crash without repeating a finished interview.

With ``redis_url`` the quota ledger, the destinations' holds and the response cache are Redis's
(:mod:`capacity.live.shared`, :mod:`capacity.live.redis_cache`): the run is then
one of ``routers`` router processes sharing the plan's quotas, and carries the sessions whose
index is ``router`` modulo ``routers`` (:mod:`capacity.live.fleet` starts the processes and
merges their journals into one result).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.journal import Journal, JournalingObserver, Replay, read_journal, replay_events, replay_quota
from capacity.live.redis_cache import RedisResponseCache, TurnCache
from capacity.live.redis_ledger import LossPolicy
from capacity.live.runtime import CallPerformer, LiveDriver, RunClock
from capacity.live.shared import SharedLedgers, connect_checked, shared_ledgers
from capacity.metrics.recorder import Recorder
from capacity.policy.build import Core, build_core, seed_streams
from capacity.result import RunResult
from capacity.units import DAY_S
from capacity.workload.calendar import Sessions, days_spanned, plan_arrivals, run_start
from capacity.workload.script import compile_script

__all__ = ["LivePlan", "LiveRun", "live_result", "plan_live", "run_live"]

Progress = Callable[[int, int], None]
"""Called with (interviews ended, interviews in the run) as the run goes."""

PerformerFactory = Callable[[Core], CallPerformer]
"""Builds the call performer once the core (and its destinations) exist."""


@dataclass(frozen=True)
class LivePlan:
    """What a live run will do: its seed, sessions and run-time horizon (s)."""

    seed: int
    sessions: Sessions
    horizon_s: float

    @property
    def days(self) -> int:
        """Calendar days the run's interviews start on (what per-day figures are counted over)."""
        return days_spanned(self.sessions.start_s)

    @property
    def first_start_s(self) -> float:
        """Run time of the first session's start: a live run begins there (the night before
        the first business morning is not waited through)."""
        return float(self.sessions.start_s[0]) if len(self.sessions) else 0.0

    @property
    def interviews(self) -> int:
        """Interviews in the run."""
        return self.sessions.total_interviews


def plan_live(config: Configuration, interviews: int, seed: int | None = None) -> LivePlan:
    """The first ``interviews`` interviews of the scenario, as the simulator would start them."""
    if interviews < 1:
        raise UsageError(f"--interviews must be at least 1, got {interviews}")
    sc = config.scenario
    seed = sc.seed if seed is None else seed
    streams = seed_streams(seed)
    script = compile_script(sc.script)
    span = script.expected_interview_duration_s() + sc.candidates.gap_between_interviews_s
    sessions = plan_arrivals(sc, streams.sessions, span, sc.demand.days, max_interviews=interviews)
    last = float(sessions.start_s[-1]) if len(sessions) else 0.0
    return LivePlan(seed, sessions, last + DAY_S)


def _digest(config: Configuration) -> str:
    """A fingerprint of the scenario and providers, to refuse resuming another run's journal."""
    text = config.scenario.model_dump_json() + "".join(p.model_dump_json() for _, p in sorted(config.providers.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class LiveRun:
    """One live run, built and ready: :meth:`run` it (or ``await`` :meth:`run_async`)."""

    config: Configuration
    plan: LivePlan
    make_performer: PerformerFactory
    time_scale: float = 1.0
    journal_path: Path | None = None
    resume: bool = False
    progress: Progress | None = None
    one_way_wall_s: float = 0.05
    """A request's one-way trip to a provider, wall seconds: the router's rolling windows hold
    each request this much longer (:func:`~capacity.policy.ledger.build_windows`)."""
    clock_origin: float | None = None
    """The monotonic instant run time ``plan.first_start_s`` falls on (a provider emulator's
    clock origin, so both count the same run time); None: when the run starts."""
    redis_url: str | None = None
    """Keep the quota ledger in Redis here (shared with the run's other router processes)."""
    routers: int = 1
    """Router processes of the run (each carries every ``routers``-th session)."""
    router: int = 0
    """This process's number among them, 0-based."""
    run_id: str | None = None
    """Names the run's keys in Redis (every router of a run the same); None: the journal's, or new."""
    on_redis_loss: LossPolicy = "fail_closed"
    """What the Redis ledger does while Redis is unreachable (``fail_closed`` or ``local``)."""
    ready: Callable[[], float | None] | None = None
    """Called once the run is built, before its clock starts; answers the clock's origin (a
    fleet's processes wait for each other there and start together)."""

    ended_s: float = field(default=0.0, init=False)
    """Run time the run ended at, s (set by :meth:`run_async`)."""

    def mine(self, session: int) -> bool:
        """Whether this router process carries session ``session``."""
        return session % self.routers == self.router

    async def run_async(self) -> RunResult:
        """Run every session to its end; journal as it goes."""
        began = time.perf_counter()
        config, plan = self.config, self.plan
        sc = config.scenario
        header = {
            "scenario": sc.name,
            "seed": plan.seed,
            "interviews": plan.interviews,
            "time_scale": self.time_scale,
            "config": _digest(config),
            "routers": self.routers,
            "router": self.router,
        }
        replay: Replay | None = None
        if self.journal_path is not None:
            if self.resume:
                replay = read_journal(self.journal_path)
                mismatch = {k: (replay.header.get(k), v) for k, v in header.items() if replay.header.get(k) != v}
                if mismatch:
                    what = "; ".join(f"{k}: journal {a!r}, now {b!r}" for k, (a, b) in mismatch.items())
                    raise UsageError(f"{self.journal_path}: the journal is of another run ({what})")
            elif self.journal_path.exists():
                raise UsageError(f"{self.journal_path}: journal exists; pass --resume to continue that run")
        run_id = self.run_id or (replay.header.get("run_id") if replay else None) or secrets.token_hex(8)
        client = await connect_checked(self.redis_url) if self.redis_url is not None else None
        journal: Journal | None = None
        try:
            if self.journal_path is not None:
                journal = Journal(self.journal_path, {**header, "run_id": run_id}, resume=replay)
            return await self._run(began, replay, journal, run_id, client)
        finally:
            if journal is not None:
                journal.close()
            if client is not None:
                await client.aclose()

    async def _run(
        self, began: float, replay: Replay | None, journal: Journal | None, run_id: str, client: Redis | None
    ) -> RunResult:
        config, plan = self.config, self.plan
        start = run_start(config.scenario.calendar)
        recorder = Recorder(plan.horizon_s)
        observer: Any = recorder
        if journal is not None:
            observer = JournalingObserver(recorder, journal, replay.finished if replay else None)
        margin_s = self.one_way_wall_s * self.time_scale
        core = build_core(config, start, seed_streams(plan.seed), observer, rolling_margin_s=margin_s)
        recorder.bind(core.destinations, core.replica_destinations)
        if replay is not None:
            replay_events(replay.events, recorder, core.destinations)
            if client is None:  # the in-memory ledger starts with what the first part sent (Redis kept it)
                replay_quota(replay.events, core.destinations)
        clock = RunClock(
            self.time_scale,
            offset_s=max(plan.first_start_s, replay.last_time_s if replay else 0.0),
        )
        shared: SharedLedgers | None = None
        if client is not None:
            shared = shared_ledgers(
                config,
                core.router,
                start,
                client=client,
                namespace=f"capacity:{run_id}",
                clock=clock.now,
                routers=self.routers,
                router_index=self.router,
                on_loss=self.on_redis_loss,
                rolling_margin_s=margin_s,
                time_scale=self.time_scale,
            )
        cache: TurnCache | None = None
        if client is not None and core.cache is not None:  # one response cache for the run's routers
            settings = config.scenario.cache
            cache = TurnCache(RedisResponseCache(
                client, "turns", settings.ttl_s, settings.max_entries, namespace=f"capacity:{run_id}", clock=clock.now
            ))
        driver = LiveDriver(core, self.make_performer(core), clock, shared, cache)
        origin = self.ready() if self.ready is not None else None
        origin = self.clock_origin if self.clock_origin is not None else origin
        clock.start(asyncio.get_running_loop(), origin)
        sessions = plan.sessions
        finished = replay.finished if replay else {}
        total = sum(int(sessions.interviews[i]) for i in range(len(sessions)) if self.mine(i))
        tasks = []
        for i in range(len(sessions)):
            if not self.mine(i):
                continue
            remaining = int(sessions.interviews[i]) - finished.get(i, 0)
            if remaining <= 0:
                continue
            on_step = (lambda s=i: observer.enter(s)) if journal is not None else None
            session = driver.session(float(sessions.start_s[i]), int(sessions.candidate[i]), remaining, on_step)
            tasks.append(asyncio.create_task(session))
        try:
            if self.progress is not None:
                waiting = set(tasks)
                while waiting:
                    done, waiting = await asyncio.wait(waiting, timeout=0.5, return_when=asyncio.FIRST_EXCEPTION)
                    for task in done:
                        task.result()  # a session that failed (the journal's disk full) stops the run
                    self.progress(sum(recorder.outcomes.values()), total)
            else:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            driver.close()
            if shared is not None and shared.holds is not None:
                await shared.holds.drain()  # a hold learnt at the end still reaches the other routers
        self.ended_s = clock.now()
        return live_result(config, plan, recorder, total, self.ended_s, time.perf_counter() - began)

    def run(self) -> RunResult:
        """Run in a fresh event loop."""
        return asyncio.run(self.run_async())


def live_result(
    config: Configuration, plan: LivePlan, recorder: Recorder, interviews: int, ended_s: float, wall_time_s: float
) -> RunResult:
    """The :class:`RunResult` of a live run's ``recorder``: ``interviews`` carried by it, the
    ones that did not end counted unfinished; ``ended_s`` the run time it stopped at, s."""
    sc = config.scenario
    recorder.unfinished(interviews - sum(recorder.outcomes.values()))
    recorder.horizon_s = min(ended_s, plan.horizon_s)
    return recorder.result(
        scenario=sc.name,
        mode="live",
        seed=plan.seed,
        days=plan.days,  # as the simulator of the same first interviews counts them
        run_start=run_start(sc.calendar),
        need_interviews_per_day=interviews / plan.days,
        sla_p95_turn_latency_s=sc.sla.p95_turn_latency_s,
        sla_ttft_s=sc.sla.ttft_s,
        wall_time_s=wall_time_s,
    )


def run_live(
    config: Configuration,
    make_performer: PerformerFactory,
    *,
    interviews: int,
    time_scale: float = 1.0,
    seed: int | None = None,
    journal: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run the scenario's first ``interviews`` interviews live (see the module docstring)."""
    plan = plan_live(config, interviews, seed)
    return LiveRun(config, plan, make_performer, time_scale, journal, resume, progress).run()
