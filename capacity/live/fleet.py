"""Several router processes carrying one live run, sharing its quotas through Redis.

``capacity live --routers N`` runs the scenario's interviews through N router processes, as a
deployment with N replicas of the router would: each process is a whole router (its own policy
core, event loop, HTTP connections and journal) and carries every N-th candidate session
(session *i* goes to router *i* mod N), and every process admits its requests on the same quota
ledger in Redis (:mod:`capacity.live.shared`) — so together they stay within each quota, which
routers that keep their counts per process do not (each would spend the whole quota).

How a run goes:

* Redis: the one at ``--redis URL``, or a private ``redis-server`` on a free loopback port
  (:mod:`capacity.live.redis_server`), started before the routers and stopped after them. The
  run's keys are named by a run id kept in every router's journal, so a resumed run finds its
  windows where it left them (in a Redis that kept them).
* Start: the processes (``multiprocessing``, spawn) build their routers, then wait for each
  other; the parent gives them one clock origin (a ``time.monotonic`` instant, one clock for
  the machine), so all count the same run time — as a provider emulator started with the
  same origin does.
* Journal: router *k* (1-based) journals to ``STEM.rK.SUFFIX`` beside ``--journal``; ``--resume``
  continues each from its own file (sessions are dealt out the same way again), so every
  interview is counted once.
* Result: the routers' journals are replayed into one recorder, giving one
  :class:`~capacity.result.RunResult` of the whole run. The quota windows' use over time is not
  in it (the shared ledger does not report it).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.journal import read_journal, replay_events
from capacity.live.load import LivePlan, LiveRun, live_result
from capacity.live.redis_ledger import LossPolicy
from capacity.live.redis_server import RedisServer
from capacity.metrics.recorder import Recorder
from capacity.policy.build import build_core, seed_streams
from capacity.policy.observer import NULL_OBSERVER
from capacity.result import RunResult
from capacity.workload.calendar import run_start

__all__ = ["RouterJob", "merge_journals", "router_journal", "run_fleet"]

_START_TIMEOUT_S = 120.0  # spawning N interpreters on a loaded 2-core machine can take a while
_START_LEAD_S = 0.2  # the origin lies this far after the last router is ready


def router_journal(journal: Path, router: int) -> Path:
    """Router ``router``'s journal (0-based) beside ``journal``: ``run.jsonl`` → ``run.r1.jsonl``."""
    return journal.with_name(f"{journal.stem}.r{router + 1}{journal.suffix}")


@dataclass(frozen=True)
class RouterJob:
    """What one router process is told (pickled to it): the run, its share, where to send."""

    config: Configuration
    plan: LivePlan
    router: int
    routers: int
    journal: Path
    resume: bool
    redis_url: str
    run_id: str
    time_scale: float
    emulator: str | None
    endpoints: dict[str, list[str]]
    on_redis_loss: LossPolicy
    clock_origin: float | None
    one_way_wall_s: float


def _router_main(job: RouterJob, ready: Any, go: Any, origin: Any, done: Any, results: Any) -> None:
    """One router process: build, say ready, wait for the origin, run; report how it ended."""
    from capacity.live.performer import HttpPerformer, resolve_routes
    from capacity.live.runtime import CallPerformer
    from capacity.live.transport import ChatTransport
    from capacity.policy.build import Core

    def report(kind: str, detail: Any) -> None:
        results.put((job.router, kind, detail))

    try:
        routes = resolve_routes(job.config, emulator=job.emulator, overrides=job.endpoints)
        transport = ChatTransport()

        def performer(core: Core) -> CallPerformer:
            return HttpPerformer(core, routes, transport, job.time_scale)

        def wait_for_start() -> float:
            with ready.get_lock():
                ready.value += 1
            if not go.wait(_START_TIMEOUT_S):
                raise RuntimeError("the other routers did not start")
            return float(origin.value)

        def progress(ended: int, total: int) -> None:
            done[job.router] = ended

        run = LiveRun(
            job.config,
            job.plan,
            performer,
            job.time_scale,
            job.journal,
            job.resume,
            progress,
            clock_origin=job.clock_origin,
            one_way_wall_s=job.one_way_wall_s,
            redis_url=job.redis_url,
            routers=job.routers,
            router=job.router,
            run_id=job.run_id,
            on_redis_loss=job.on_redis_loss,
            ready=wait_for_start,
        )

        async def main() -> None:
            try:
                await run.run_async()
            finally:
                await transport.aclose()

        asyncio.run(main())
        report("done", run.ended_s)
    except KeyboardInterrupt:
        report("stopped", None)
    except UsageError as exc:
        report("usage", str(exc))
    except Exception as exc:  # reported to the parent, which fails the run with it
        report("error", f"{type(exc).__name__}: {exc}")


def run_fleet(
    config: Configuration,
    plan: LivePlan,
    *,
    routers: int,
    journal: Path,
    resume: bool = False,
    redis_url: str | None = None,
    time_scale: float = 1.0,
    emulator: str | None = None,
    endpoints: dict[str, list[str]] | None = None,
    on_redis_loss: LossPolicy = "fail_closed",
    clock_origin: float | None = None,
    one_way_wall_s: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run ``plan`` through ``routers`` router processes sharing Redis (see the module docstring).

    ``journal`` names the run's journals (one per router beside it); ``clock_origin`` fixes the
    monotonic instant of run time ``plan.first_start_s`` (a provider emulator's), else the
    routers start together when all are ready. ``one_way_wall_s`` is a request's one-way trip
    to the provider, wall s (as on :class:`~capacity.live.load.LiveRun`). ``progress`` is
    called with (interviews ended, interviews in the run) about twice a second.

    Raises:
        UsageError: a journal exists (without ``resume``) or none does (with it), Redis does
            not answer, a key is missing, or a router refuses its input.
        RuntimeError: a router process failed (its message) or died.
        KeyboardInterrupt: Ctrl-C (every router stops and keeps its journal).
    """
    if routers < 1:
        raise UsageError(f"--routers must be at least 1, got {routers}")
    paths = [router_journal(journal, k) for k in range(routers)]
    existing = [p for p in paths if p.exists()]
    if not resume and existing:
        raise UsageError(f"{existing[0]}: journal exists; pass --resume to continue that run, or another --journal")
    if resume and not existing:
        raise UsageError(f"{paths[0]}: no router journal of {journal} to resume (expected {paths[0].name} …)")
    run_id = str(read_journal(existing[0]).header.get("run_id", "")) if existing else ""
    run_id = run_id or secrets.token_hex(8)
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if redis_url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="capacity-redis-")))
            redis_url = stack.enter_context(RedisServer(folder)).url
        jobs = [
            RouterJob(
                config, plan, k, routers, paths[k], resume and paths[k].exists(), redis_url, run_id, time_scale,
                emulator, dict(endpoints or {}), on_redis_loss, clock_origin, one_way_wall_s,
            )
            for k in range(routers)
        ]  # fmt: skip
        ended_s = _run_processes(jobs, plan.interviews, progress)
    return merge_journals(config, plan, paths, ended_s, time.perf_counter() - began)


def _run_processes(jobs: list[RouterJob], total: int, progress: Callable[[int, int], None] | None) -> float:
    """Start the routers, give them one origin, wait for them; the run time the last one ended."""
    ctx = mp.get_context("spawn")
    ready, go, origin = ctx.Value("i", 0), ctx.Event(), ctx.Value("d", 0.0)
    done = ctx.Array("i", len(jobs))
    results: Any = ctx.Queue()
    processes = [
        ctx.Process(
            target=_router_main,
            args=(job, ready, go, origin, done, results),
            name=f"capacity-router-{job.router + 1}",
            daemon=True,
        )
        for job in jobs
    ]
    outcomes: dict[int, tuple[str, Any]] = {}
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while len(outcomes) < len(jobs):
            with contextlib.suppress(queue.Empty):
                router, kind, detail = results.get(timeout=0.5)
                outcomes[router] = (kind, detail)
            if not go.is_set():
                if ready.value == len(jobs):
                    origin.value = time.monotonic() + _START_LEAD_S
                    go.set()
                elif outcomes or time.monotonic() > deadline:
                    break  # a router failed before the start (or never got there)
            if progress is not None:
                progress(sum(done[:]), total)
            for k, process in enumerate(processes):
                if k not in outcomes and not process.is_alive() and process.exitcode not in (None, 0):
                    outcomes[k] = ("error", f"router process died (exit status {process.exitcode})")
    finally:
        for process in processes:
            process.join(10.0 if go.is_set() else 0.5)
            if process.is_alive():
                process.terminate()
                process.join(5.0)
    for kind in ("usage", "error"):
        failed = [(k, d) for k, (c, d) in sorted(outcomes.items()) if c == kind]
        if failed:
            k, detail = failed[0]
            message = f"router {k + 1}: {detail}"
            raise UsageError(message) if kind == "usage" else RuntimeError(message)
    if len(outcomes) < len(jobs) or any(c == "stopped" for c, _ in outcomes.values()):
        raise KeyboardInterrupt
    return max(float(d) for _, d in outcomes.values())


def merge_journals(
    config: Configuration, plan: LivePlan, paths: list[Path], ended_s: float, wall_s: float
) -> RunResult:
    """One :class:`RunResult` of the run: every router's journaled interviews replayed into one
    recorder (each interview once: a session belongs to one router)."""
    recorder = Recorder(plan.horizon_s)
    core = build_core(config, run_start(config.scenario.calendar), seed_streams(plan.seed), NULL_OBSERVER)
    recorder.bind(core.destinations)
    for path in paths:
        if path.exists():
            replay_events(read_journal(path).events, recorder, core.destinations)
    return live_result(config, plan, recorder, plan.interviews, ended_s, wall_s)
