"""Three router processes sharing one Redis ledger against the provider emulator.

The done-when test of live mode: a provider allowing 60 requests a minute and 1,000 a day,
demand of 100 one-request interviews a minute for two and a half minutes (the first 250 of a
day of 6,000 between 00:00 and 01:00, so the routers must hold requests back for about four
minutes of run time), three router processes each carrying a third of the candidates and
admitting on the same ledger in a real ``redis-server``, on a clock compressed 10 times. The
emulator — its own process, its own audit of every window — must see no request over any limit
and send no 429; every interview must end, and be counted once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.emulator.process import EmulatorProcess
from capacity.live.fleet import router_journal, run_fleet
from capacity.live.journal import read_journal
from capacity.live.load import plan_live
from capacity.live.redis_server import RedisServer
from capacity.workload.calendar import run_start

SCALE = 10.0
INTERVIEWS = 250


def limited() -> Configuration:
    """6,000 one-request interviews from 00:00 to 01:00 on a provider of 60 RPM and 1,000 RPD."""
    return build(
        [provider("lim", limits={"rpm": 60, "rpd": 1000}, ttft=const(0.5), tps=const(100.0), timeout_s=60.0)],
        demand(6000),
        hours("00:00", "01:00"),
        one_turn(output=const(20.0), max_output=20),
        destinations("lim", on_exhausted="queue", turn_deadline_s=3600.0, on_deadline="fail", max_retries=0),
    )


@pytest.mark.slow
def test_three_routers_sharing_redis_send_nothing_over_the_emulators_limits(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    config = limited()
    plan = plan_live(config, INTERVIEWS)
    origin = time.monotonic() + 15.0  # the emulator and the routers count run time from here
    emulator = EmulatorProcess(
        list(config.providers.values()),
        run_start(config.scenario.calendar),
        time_scale=SCALE,
        origin_s=plan.first_start_s,
        wall_origin=origin,
    )
    journal = tmp_path / "run.jsonl"
    with emulator as server:
        result = run_fleet(
            config,
            plan,
            routers=3,
            journal=journal,
            redis_url=redis_server.url,
            time_scale=SCALE,
            emulator=server.base_url,
            clock_origin=origin,
            # the router counts a request from its admission, the emulator from its arrival: on a
            # shared 2-core machine the two event loops lag by up to hundreds of milliseconds
            one_way_wall_s=0.5,
        )
        stats = server.stats()
    seen = stats["providers"]["lim"]["models"]["m"]
    assert stats["violations"] == 0, seen["limits"]
    assert seen["rate_limited"] == {"burst": 0, "daily": 0}
    # the limit bound: the routers held requests back to 60 a minute, and the emulator saw it
    assert seen["limits"]["rpm"]["peak"] == 60
    assert seen["served"] == INTERVIEWS
    check_conservation(result)
    assert result.interviews.requested == INTERVIEWS
    assert result.interviews.completed == INTERVIEWS
    assert result.requests.provider == INTERVIEWS  # each interview's request sent once, by one router
    assert result.turn_latency_s.max > 60.0  # turns waited for quota: the limit did bind
    journals = [read_journal(router_journal(journal, k)) for k in range(3)]
    per_router = [sum(j.finished.values()) for j in journals]
    assert sum(per_router) == INTERVIEWS and min(per_router) > 60  # a third of the candidates each
    assert len({j.header["run_id"] for j in journals}) == 1


def test_a_fleet_refuses_to_overwrite_or_to_resume_nothing(tmp_path: Path) -> None:
    config = limited()
    plan = plan_live(config, 3)
    journal = tmp_path / "run.jsonl"
    with pytest.raises(UsageError, match="no router journal"):
        run_fleet(config, plan, routers=2, journal=journal, resume=True, redis_url="redis://127.0.0.1:1/0")
    router_journal(journal, 1).write_text("{}\n")
    with pytest.raises(UsageError, match="journal exists"):
        run_fleet(config, plan, routers=2, journal=journal, redis_url="redis://127.0.0.1:1/0")


def test_router_journals_sit_beside_the_runs() -> None:
    assert router_journal(Path("/x/run.jsonl"), 0) == Path("/x/run.r1.jsonl")
    assert router_journal(Path("run.jsonl"), 2).name == "run.r3.jsonl"
