"""Three routers of one live run sharing Redis share more than the quota ledger.

* **Holds:** the emulator answers one request with a 429 and ``Retry-After`` of 30 s of run
  time; the router that receives it holds the destination, and through Redis so do the two
  others: no router sends there before the hold ends, though their candidates keep arriving
  meanwhile (they wait for it), and every interview still ends.
* **Response cache:** every interview asks the same catalogue question; the first answer, got
  by one router, is a hit on all three: the emulator answers one request in all.

The routers are three :class:`LiveRun` of one run (routers 1–3 of 3, one run id, one clock
origin) in one process, on a real ``redis-server``, against the emulator on a clock compressed
10 times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simkit import build, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.emulator import EmulatorThread, ScaledClock
from capacity.live.emulator.service import Emulator
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import HttpPerformer, Routes, resolve_routes
from capacity.live.redis_server import RedisServer
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core
from capacity.result import RunResult
from capacity.workload.calendar import run_start

SCALE = 10.0
INTERVIEWS = 30
CACHED_INTERVIEWS = 12
HOLD_S = 30.0  # the emulator's Retry-After, run s
EPS_S = 1.0  # run s: a request another router admitted before the hold reached Redis may still go


def config(*, cached: bool = False) -> Configuration:
    """One-request interviews, one every 2 s of run time from 00:00 (``cached``: every 5 s, so
    that even a loaded machine answers the first before the next asks), on one unlimited
    provider; ``cached``: the request is a catalogue question of one prompt, the cache on."""
    parts = [
        demand(720 if cached else 1800),
        hours("00:00", "01:00"),
        one_turn(output=const(5.0), max_output=5, cache={"key": "catalogue", "catalogue_size": 1} if cached else None),
        destinations("p0", on_exhausted="queue", turn_deadline_s=3600.0, on_deadline="fail", max_retries=2),
    ]
    if cached:
        parts.append({"cache": {"enabled": True, "ttl_s": 3600.0}})
    return build([provider("p0", ttft=const(0.2), tps=const(1000.0), timeout_s=60.0)], *parts)


@dataclass
class Sent:
    """What every router sent: (router, run time the call was sent, run time it ended, failure)."""

    origin: float
    first_s: float
    calls: list[tuple[int, float, float, str | None]] = field(default_factory=list)

    def run_time(self) -> float:
        """Run time now, s (the routers' and the emulator's)."""
        return self.first_s + (time.monotonic() - self.origin) * SCALE


def recording(sent: Sent, router: int, routes: Routes, transport: ChatTransport) -> Callable[[Core], CallPerformer]:
    """A performer factory: the router's HTTP performer, recording each call."""

    def factory(core: Core) -> CallPerformer:
        http = HttpPerformer(core, routes, transport, SCALE)

        async def perform(call: Call) -> None:
            began = sent.run_time()
            await http(call)
            sent.calls.append((router, began, sent.run_time(), call.failure))

        return perform

    return factory


async def run_three(
    cfg: Configuration, url: str, emulator_url: str, sent: Sent, tmp: Path, run_id: str, interviews: int
) -> list[RunResult]:
    plan = plan_live(cfg, interviews)
    routes = resolve_routes(cfg, emulator=emulator_url)
    transport = ChatTransport()
    try:
        runs = [
            LiveRun(
                cfg, plan, recording(sent, k, routes, transport), SCALE, tmp / f"r{k}.jsonl",
                clock_origin=sent.origin, redis_url=url, routers=3, router=k, run_id=run_id,
            )
            for k in range(3)
        ]  # fmt: skip
        return list(await asyncio.gather(*(run.run_async() for run in runs)))
    finally:
        await transport.aclose()


def emulator_of(cfg: Configuration, origin: float, first_s: float) -> Emulator:
    """The emulator of ``cfg``'s providers counting the routers' run time (``first_s`` at the
    monotonic instant ``origin``)."""
    clock = ScaledClock(SCALE, origin_s=first_s, wall_origin=origin)
    return Emulator(list(cfg.providers.values()), clock, run_start(cfg.scenario.calendar))


def test_a_retry_after_one_router_receives_holds_every_router(redis_server: RedisServer, tmp_path: Path) -> None:
    cfg = config()
    plan = plan_live(cfg, INTERVIEWS)
    origin = time.monotonic() + 1.0
    emulator = emulator_of(cfg, origin, plan.first_start_s)
    emulator.throttle("p0", after=9, retry_after_s=HOLD_S)  # the tenth request, at about 20 s
    sent = Sent(origin, plan.first_start_s)
    with EmulatorThread(emulator) as server:
        results = asyncio.run(run_three(cfg, redis_server.url, server.base_url, sent, tmp_path, "holds", INTERVIEWS))
        stats = server_stats(emulator)
    refused = [c for c in sent.calls if c[3] is not None]
    assert len(refused) == 1 and stats == (1, INTERVIEWS)
    told, told_at = refused[0][0], refused[0][2]
    during = [c for c in sent.calls if told_at + EPS_S <= c[1] < told_at + HOLD_S]
    assert during == []
    # the others had candidates arriving during the hold: they waited for its end, then sent
    after = {c[0] for c in sent.calls if told_at + HOLD_S <= c[1] < told_at + HOLD_S + 5.0}
    assert after - {told}
    assert sum(r.interviews.completed for r in results) == INTERVIEWS


def server_stats(emulator: Emulator) -> tuple[int, int]:
    """(burst 429s sent, requests served) by the emulator's provider ``p0``."""
    model = emulator.providers["p0"].models["m"]
    return model.stats.burst_429, model.stats.served


def test_an_answer_one_router_got_is_a_cache_hit_on_the_others(redis_server: RedisServer, tmp_path: Path) -> None:
    cfg = config(cached=True)
    plan = plan_live(cfg, CACHED_INTERVIEWS)
    origin = time.monotonic() + 1.0
    emulator = emulator_of(cfg, origin, plan.first_start_s)
    sent = Sent(origin, plan.first_start_s)
    with EmulatorThread(emulator) as server:
        results = asyncio.run(
            run_three(cfg, redis_server.url, server.base_url, sent, tmp_path, "cache", CACHED_INTERVIEWS)
        )
        stats = server_stats(emulator)
    # one router asked first; its answer served every later interview of all three routers
    assert stats == (0, 1) and len(sent.calls) == 1, sent.calls
    hits = [r.cache.hits for r in results]
    assert sum(hits) == CACHED_INTERVIEWS - 1
    assert sum(1 for h in hits if h > 0) == 3
    assert sum(r.interviews.completed for r in results) == CACHED_INTERVIEWS
