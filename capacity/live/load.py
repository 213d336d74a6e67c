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
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.journal import Journal, JournalingObserver, Replay, read_journal, replay_events
from capacity.live.runtime import CallPerformer, LiveDriver, RunClock
from capacity.metrics.recorder import Recorder
from capacity.policy.build import Core, build_core, seed_streams
from capacity.result import RunResult
from capacity.units import DAY_S
from capacity.workload.calendar import Sessions, days_spanned, plan_arrivals, run_start
from capacity.workload.script import compile_script

__all__ = ["LivePlan", "LiveRun", "plan_live", "run_live"]

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

    async def run_async(self) -> RunResult:
        """Run every session to its end; journal as it goes."""
        began = time.perf_counter()
        config, plan = self.config, self.plan
        sc = config.scenario
        start = run_start(sc.calendar)
        recorder = Recorder(plan.horizon_s)
        header = {
            "scenario": sc.name,
            "seed": plan.seed,
            "interviews": plan.interviews,
            "time_scale": self.time_scale,
            "config": _digest(config),
        }
        replay: Replay | None = None
        journal: Journal | None = None
        if self.journal_path is not None:
            if self.resume:
                replay = read_journal(self.journal_path)
                mismatch = {k: (replay.header.get(k), v) for k, v in header.items() if replay.header.get(k) != v}
                if mismatch:
                    what = "; ".join(f"{k}: journal {a!r}, now {b!r}" for k, (a, b) in mismatch.items())
                    raise UsageError(f"{self.journal_path}: the journal is of another run ({what})")
            elif self.journal_path.exists():
                raise UsageError(f"{self.journal_path}: journal exists; pass --resume to continue that run")
            journal = Journal(self.journal_path, header, resume=replay)
        observer: Any = recorder
        if journal is not None:
            observer = JournalingObserver(recorder, journal, replay.finished if replay else None)
        core = build_core(
            config, start, seed_streams(plan.seed), observer, rolling_margin_s=self.one_way_wall_s * self.time_scale
        )
        recorder.bind(core.destinations, core.replica_destinations)
        if replay is not None:
            replay_events(replay.events, recorder, core.destinations)
        clock = RunClock(
            self.time_scale,
            offset_s=max(plan.first_start_s, replay.last_time_s if replay else 0.0),
        )
        driver = LiveDriver(core, self.make_performer(core), clock)
        clock.start(asyncio.get_running_loop(), self.clock_origin)
        sessions = plan.sessions
        finished = replay.finished if replay else {}
        total = plan.interviews
        tasks = []
        for i in range(len(sessions)):
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
                    _, waiting = await asyncio.wait(waiting, timeout=0.5)
                    self.progress(sum(recorder.outcomes.values()), total)
            else:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            driver.close()
            if journal is not None:
                journal.close()
        ended = sum(recorder.outcomes.values())
        recorder.unfinished(total - ended)
        recorder.horizon_s = min(clock.now(), plan.horizon_s)
        return recorder.result(
            scenario=sc.name,
            mode="live",
            seed=plan.seed,
            days=plan.days,  # as the simulator of the same first interviews counts them
            run_start=start,
            need_interviews_per_day=total / plan.days,
            sla_p95_turn_latency_s=sc.sla.p95_turn_latency_s,
            sla_ttft_s=sc.sla.ttft_s,
            wall_time_s=time.perf_counter() - began,
        )

    def run(self) -> RunResult:
        """Run in a fresh event loop."""
        return asyncio.run(self.run_async())


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
