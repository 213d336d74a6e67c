"""A live run whose quota ledger is in Redis: its limits hold, and it rides out losing Redis.

The calls are answered in-process by a fake performer after one second of run time (no HTTP),
so what is tested is the run's use of the shared ledger: every call it sends is admitted by
Redis (no 60 s window holds more than the limit), and when Redis is killed mid-run the router
says so once, follows its loss policy (``fail_closed``: it sends nothing while Redis is away)
and carries on when Redis returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.journal import read_journal
from capacity.live.load import LiveRun, plan_live
from capacity.live.redis_server import RedisServer
from capacity.live.runtime import CallPerformer
from capacity.policy.actions import Call
from capacity.policy.build import Core

SCALE = 60.0


def config(rpm: int) -> Configuration:
    """One-request interviews, 40 a minute from 00:00 (a day of 2,400), on one provider."""
    return build(
        [provider("p0", limits={"rpm": rpm})],
        demand(2400),
        hours("00:00", "01:00"),
        one_turn(output=const(10.0), max_output=10),
        destinations("p0", on_exhausted="queue", turn_deadline_s=3600.0, on_deadline="fail", max_retries=0),
    )


class Recording:
    """A performer factory: each call answers after 1 s of run time; ``wall`` keeps when each
    was sent (monotonic s)."""

    def __init__(self) -> None:
        self.wall: list[float] = []

    def __call__(self, core: Core) -> CallPerformer:
        async def perform(call: Call) -> None:
            self.wall.append(time.monotonic())
            await asyncio.sleep(1.0 / SCALE)
            call.ttft_s, call.latency_s = 0.5, 1.0

        return perform

    @property
    def sent(self) -> list[float]:
        """When each call was sent, run s after the first."""
        return [(t - self.wall[0]) * SCALE for t in self.wall]


def most_in_a_minute(times: list[float]) -> int:
    """The most calls sent in any 60 s."""
    ordered = sorted(times)
    low, most = 0, 0
    for high, t in enumerate(ordered):
        while ordered[low] <= t - 60.0:
            low += 1
        most = max(most, high - low + 1)
    return most


def test_a_live_run_on_the_redis_ledger_keeps_its_limit(redis_server: RedisServer, tmp_path: Path) -> None:
    cfg = config(rpm=12)
    plan = plan_live(cfg, 30)
    factory = Recording()
    run = LiveRun(cfg, plan, factory, SCALE, tmp_path / "run.jsonl", redis_url=redis_server.url)

    result = run.run()
    check_conservation(result)
    assert result.interviews.completed == 30
    assert result.requests.provider == 30
    # 30 requests wanted within about 45 s, 12 allowed a minute: the limit bound, and held
    assert most_in_a_minute(factory.sent) == 12
    assert max(factory.sent) - min(factory.sent) > 120.0
    header = read_journal(tmp_path / "run.jsonl").header
    assert header["routers"] == 1 and len(header["run_id"]) == 16


def test_losing_redis_mid_run_is_said_once_followed_and_recovered(
    own_redis: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(rpm=1000)
    plan = plan_live(cfg, 40)
    factory = Recording()
    journal = tmp_path / "run.jsonl"
    run = LiveRun(cfg, plan, factory, SCALE, journal, redis_url=own_redis.url)
    outage: list[float] = []

    async def go() -> None:
        task = asyncio.create_task(run.run_async())
        while not journal.exists() or journal.read_text().count('"kind":"interview"') < 10:
            await asyncio.sleep(0.005)
        await asyncio.to_thread(own_redis.stop)
        outage.append(time.monotonic())
        await asyncio.sleep(0.6)  # 36 s of run time without Redis
        outage.append(time.monotonic())
        await asyncio.to_thread(own_redis.start)
        result = await task
        check_conservation(result)
        assert result.interviews.completed == 40
        assert result.requests.provider == 40

    with caplog.at_level(logging.WARNING, logger="capacity.live.redis"):
        asyncio.run(go())
    said = [r.getMessage() for r in caplog.records if r.name == "capacity.live.redis"]
    assert len(said) == 2, said
    assert "unreachable" in said[0] and "fail_closed" in said[0]
    assert "reachable again" in said[1]
    # fail closed: nothing sent while Redis was away (a call admitted just before may start late)
    gone, back = outage
    assert not [t for t in factory.wall if gone + 0.1 < t < back]
    assert [t for t in factory.wall if t > back]  # and the run carried on once it returned


def test_a_redis_that_does_not_answer_is_a_usage_error(tmp_path: Path) -> None:
    cfg = config(rpm=10)
    run = LiveRun(cfg, plan_live(cfg, 1), Recording(), SCALE, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(UsageError, match="no Redis answers"):
        run.run()
    with pytest.raises(UsageError, match="--redis"):
        LiveRun(cfg, plan_live(cfg, 1), Recording(), SCALE, redis_url="http://x").run()
