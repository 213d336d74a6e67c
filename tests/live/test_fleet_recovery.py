"""A whole three-router live run under the ``local`` loss policy, with Redis killed mid-run and
restarted empty, against the provider emulator (what ``capacity live --routers 3 --on-redis-loss
local --emulator URL`` runs).

A provider of 30 requests a minute, 90 one-request interviews arriving at 100 a minute, three
router processes on a clock compressed 20 times. Once 20 interviews have ended Redis is killed
(SIGTERM, nothing saved) and started again, empty, 1.5 s (30 run s) later. Each router finds it
gone, waits out the rolling minute, admits from its 1/3 share, writes back on its return and
joins the recovery; the routers admit on the shared windows again once all three have. The
emulator — its own process, its own audit of every window — must see no request over a limit and
send no 429; every interview must end, counted once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.emulator.process import EmulatorProcess
from capacity.live.fleet import router_journal, run_fleet
from capacity.live.journal import read_journal
from capacity.live.load import plan_live
from capacity.live.redis_ledger import connect
from capacity.live.redis_server import RedisServer
from capacity.workload.calendar import run_start

SCALE = 20.0
INTERVIEWS = 90
ROUTERS = 3


def limited() -> Configuration:
    """6,000 one-request interviews from 00:00 to 01:00 on a provider of 30 RPM."""
    return build(
        [provider("lim", limits={"rpm": 30}, ttft=const(0.5), tps=const(100.0), timeout_s=60.0)],
        demand(6000),
        hours("00:00", "01:00"),
        one_turn(output=const(20.0), max_output=20),
        destinations("lim", on_exhausted="queue", turn_deadline_s=3600.0, on_deadline="fail", max_retries=0),
    )


def ended(journal: Path) -> int:
    """Interviews the routers have journalled as ended so far."""
    paths = [router_journal(journal, k) for k in range(ROUTERS)]
    return sum(p.read_text().count('"kind":"interview"') for p in paths if p.exists())


def kill_and_restart(redis: RedisServer, journal: Path, seen: dict[str, int]) -> None:
    """Once 20 interviews have ended: stop Redis (nothing kept), start it again 1.5 s later."""
    deadline = time.monotonic() + 60.0
    while ended(journal) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    seen["at_kill"] = ended(journal)
    redis.stop()
    time.sleep(1.5)
    redis.start()


@pytest.mark.slow
def test_three_routers_ride_out_redis_killed_and_restarted_empty(own_redis: RedisServer, tmp_path: Path) -> None:
    config = limited()
    plan = plan_live(config, INTERVIEWS)
    origin = time.monotonic() + 8.0  # the emulator and the routers count run time from here
    emulator = EmulatorProcess(
        list(config.providers.values()),
        run_start(config.scenario.calendar),
        time_scale=SCALE,
        origin_s=plan.first_start_s,
        wall_origin=origin,
    )
    journal = tmp_path / "run.jsonl"
    seen: dict[str, int] = {}
    killer = threading.Thread(target=kill_and_restart, args=(own_redis, journal, seen), daemon=True)
    with emulator as server:
        killer.start()
        result = run_fleet(
            config,
            plan,
            routers=ROUTERS,
            journal=journal,
            redis_url=own_redis.url,
            time_scale=SCALE,
            emulator=server.base_url,
            on_redis_loss="local",
            clock_origin=origin,
            one_way_wall_s=0.5,  # the router counts from admission, the emulator from arrival
        )
        stats = server.stats()
    killer.join(10.0)
    assert 20 <= seen["at_kill"] < INTERVIEWS  # Redis was killed mid-run
    lim = stats["providers"]["lim"]["models"]["m"]
    assert stats["violations"] == 0, lim["limits"]
    assert lim["rate_limited"] == {"burst": 0, "daily": 0}
    assert lim["served"] == INTERVIEWS
    check_conservation(result)
    assert result.interviews.completed == INTERVIEWS
    assert result.requests.provider == INTERVIEWS  # each interview's request sent once, by one router
    journals = [read_journal(router_journal(journal, k)) for k in range(ROUTERS)]
    assert sum(sum(j.finished.values()) for j in journals) == INTERVIEWS

    # the restarted Redis holds the recovery the routers went through: all three wrote back, and
    # since it had forgotten what it counted, the barrier waited out the windows too
    async def recovery() -> dict[str, str]:
        client = connect(own_redis.url)
        try:
            run_id = journals[0].header["run_id"]
            found = await client.hgetall(f"capacity:{run_id}:{{lim}}:m:recovery")
            return {k.decode(): v.decode() for k, v in found.items()}
        finally:
            await client.aclose()

    record = asyncio.run(recovery())
    assert {f"k{k}" for k in range(ROUTERS)} <= record.keys(), record
    assert record["open"] == "1" and float(record["lost"]) > 0.0
