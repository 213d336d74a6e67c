"""When Redis goes away the ledger says so once, follows its loss policy, and recovers.

The tests stop the ``redis-server`` process under a running ledger and start it again on the
same port.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math

import pytest

from capacity.config.providers import ModelSpec
from capacity.live.redis_ledger import LossPolicy, RedisQuotaLedger, SharedAdmission, connect
from capacity.live.redis_server import RedisServer
from capacity.policy.ledger import Admission

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
SPEC = ModelSpec.model_validate(
    {
        "name": "llama",
        "limits": {"rpm": 30, "tpm": 60_000},
        "latency": {
            "ttft_s": {"kind": "constant", "value": 0.1},
            "output_tokens_per_s": {"kind": "constant", "value": 50},
        },
    }
)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "capacity.live.redis" and r.levelno == logging.WARNING]


async def outage(server: RedisServer, policy: LossPolicy) -> dict[str, list[Admission | float]]:
    """Five requests with Redis, fifteen while it is down, five after it is back (one a second)."""
    now = [0.0]
    client = connect(server.url, timeout_s=0.5)
    ledger = RedisQuotaLedger(
        client, "groq", SPEC, 1, START, clock=lambda: now[0], on_loss=policy, routers=3, reconnect_s=0.0
    )
    answers: dict[str, list[Admission | float]] = {"before": [], "down": [], "after": []}
    try:
        for phase, answered in answers.items():
            if phase == "down":
                server.stop()
            if phase == "after":
                server.start()
            for _ in range(15 if phase == "down" else 5):
                now[0] += 1.0
                answered.append(await ledger.try_admit(500, 200))
            if phase == "before":  # responses that end while Redis is away settle when it is back
                for a in answered:
                    assert isinstance(a, SharedAdmission)
            if phase == "down":
                for a in answers["before"]:
                    assert isinstance(a, SharedAdmission)
                    await ledger.settle(a, 500, 20)
                assert len(ledger._unsettled) == 5
            if phase == "after":
                assert ledger._unsettled == [] and not ledger.degraded
    finally:
        await client.aclose()
    return answers


def test_local_policy_waits_out_the_windows_redis_counted(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    answers = asyncio.run(outage(own_redis, "local"))
    down = answers["down"]
    # Redis found gone at t = 6 s: what it counted may fill the rolling minute (RPM and TPM)
    # until t = 66 s, so the local ledger admits nothing before (tests/live/test_degraded.py
    # drives it past that point)
    assert down == [66.0] * 15
    # back on Redis at t = 21 s, it writes back (nothing) and waits for the fleet's two other
    # routers to write back theirs: until they have, it admits from its 1/3 share, still blind
    assert answers["after"] == [66.0] * 5
    said = warnings_of(caplog)
    assert len(said) == 2  # once when lost, once when back — not once per request
    assert "unreachable" in said[0] and "1/3" in said[0] and "reachable again" in said[1]
    assert "until every router has written back" in said[1]


def test_fail_closed_refuses_everything_while_redis_is_down(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    answers = asyncio.run(outage(own_redis, "fail_closed"))
    assert all(isinstance(a, float) and math.isfinite(a) for a in answers["down"])
    assert all(isinstance(a, SharedAdmission) for a in answers["after"])
    said = warnings_of(caplog)
    assert len(said) == 2 and "fail_closed" in said[0]


def test_local_ledger_holds_one_nth_of_each_quota() -> None:
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpm": 30, "rpd": 1_000, "neurons_per_day": 10_000, "concurrent_requests": 5},
            "neurons": {"per_mtok_in": 4_119, "per_mtok_out": 34_868},
            "latency": SPEC.latency.model_dump(),
        }
    )
    ledger = RedisQuotaLedger(connect("redis://127.0.0.1:1/0"), "cf", spec, 2, START, on_loss="local", routers=3)
    local = ledger.local_ledger()
    assert local is not None
    limits = local.spec.limits
    assert (limits.rpm, limits.rpd, limits.concurrent_requests) == (10, 333, 1)
    assert limits.neurons_per_day == pytest.approx(10_000 / 3)
    assert len(local.accounts) == 2
    # five slots cannot be split six ways: that router admits nothing while Redis is away
    lone = RedisQuotaLedger(connect("redis://127.0.0.1:1/0"), "cf", spec, 1, START, on_loss="local", routers=6)
    assert lone.local_ledger() is None


def test_a_settlement_resent_refunds_once(own_redis: RedisServer) -> None:
    # TPM 6,000: two 3,000-token reservations fill it; the first used no output (2,000 back, once)
    spec = ModelSpec.model_validate({"name": "m", "limits": {"tpm": 6_000}, "latency": SPEC.latency.model_dump()})

    async def scenario() -> Admission | float:
        client = connect(own_redis.url)
        ledger = RedisQuotaLedger(client, "p", spec, 1, START, clock=lambda: 1.0)
        try:
            first = await ledger.try_admit(1_000, 2_000)
            assert isinstance(await ledger.try_admit(1_000, 2_000), SharedAdmission)
            assert isinstance(first, SharedAdmission)
            await ledger.settle(first, 1_000, 0)
            await ledger.settle(first, 1_000, 0)  # as after a timeout whose command did arrive
            return await ledger.try_admit(1_000, 2_000)  # 4,000 + 3,000 > 6,000
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 61.0


def test_redis_paused_then_back_keeps_what_it_counted(own_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    # a Redis that stops answering (a partition, a long pause) times out; it comes back with its
    # state, so the minute's requests admitted before the pause still count after it
    spec = ModelSpec.model_validate({"name": "m", "limits": {"rpm": 3}, "latency": SPEC.latency.model_dump()})

    async def scenario() -> list[Admission | float]:
        now = [0.0]
        client, admin = connect(own_redis.url, timeout_s=0.2), connect(own_redis.url)
        ledger = RedisQuotaLedger(
            client, "p", spec, 1, START, clock=lambda: now[0], on_loss="local", routers=1, reconnect_s=0.0
        )  # a fleet of one: back on Redis, its write-back passes the recovery's barrier at once
        answers: list[Admission | float] = []
        try:
            for t in (1.0, 2.0, 3.0, 4.0, 5.0):
                now[0] = t
                if t == 3.0:
                    await admin.execute_command("CLIENT", "PAUSE", "1000", "ALL")
                if t == 4.0:
                    await asyncio.sleep(1.2)  # the pause is over
                answers.append(await ledger.try_admit(10, 10))
        finally:
            await client.aclose()
            await admin.aclose()
        return answers

    before_1, before_2, paused, _, after = asyncio.run(scenario())
    assert isinstance(before_1, SharedAdmission) and isinstance(before_2, SharedAdmission)
    assert paused == 63.0  # found gone at t = 3 s: the local ledger waits out the rolling minute
    assert after == 61.0  # Redis still counts t = 1 and 2 (and t = 4, or a timed-out t = 3)
    said = warnings_of(caplog)
    assert len(said) == 2 and "TimeoutError" in said[0]
