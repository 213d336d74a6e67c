"""Degraded mode never exceeds a limit: N routers share a quota through Redis, Redis goes away,
and every router falls back to its local ledger (the ``local`` loss policy).

Hypothesis draws the fleet's size, the limit, the admissions before the outage (any imbalance
between routers), when Redis is killed and when each router next asks. The ledgers run on one
compressed clock (run seconds set by the test) against a real ``redis-server``, stopped for the
outage. Checked against the provider's own reading of the limit, over *all* the fleet's
admissions, shared and local together:

* rolling window: at most the limit in any minute ending at an admission;
* fixed (calendar) window: at most the limit in each minute period;
* token bucket: one bucket of the full limit, refilling at limit ÷ 60 s, never goes below empty;

and each router resumes exactly when the rule says: a router that found Redis gone at run time
f refuses, answering the resumption time, until f + 60 s (rolling, bucket) or the next minute
boundary (fixed), and is admitted by its local ledger then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import os
import socket
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from capacity.config.providers import Limits, ModelSpec, Resets
from capacity.live.redis_ledger import RedisQuotaLedger, SharedAdmission, connect
from capacity.live.redis_server import RedisServer
from capacity.policy.ledger import Admission

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)  # midnight: fixed minutes start at multiples of 60 run s
MINUTE = 60.0
LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 50},
}
KINDS = ("rolling", "fixed", "token_bucket")
_namespaces = itertools.count()
EXAMPLES = int(os.environ.get("CAPACITY_RECOVERY_EXAMPLES", "8"))  # more for a longer search


def spec_of(kind: str, rpm: int) -> ModelSpec:
    return ModelSpec.model_validate(
        {"name": "m", "limits": {"rpm": rpm}, "resets": {"minute": {"kind": kind}}, "latency": LATENCY}
    )


def resumes_at(kind: str, found_gone: float) -> float:
    """The rule, stated independently of the code: when a router that found Redis gone at
    ``found_gone`` (run s) may admit locally again."""
    if kind == "fixed":
        return (math.floor(found_gone / MINUTE) + 1) * MINUTE
    return found_gone + MINUTE  # rolling: one window length; bucket: an empty one refills in 60 s


def assert_within_limit(kind: str, rpm: int, times: list[float]) -> None:
    """The fleet's admissions (run s, sorted) against one limit of ``rpm`` requests a minute."""
    if kind == "rolling":
        for t in times:
            in_window = [u for u in times if t - MINUTE < u <= t]
            assert len(in_window) <= rpm, f"{len(in_window)} admitted in the minute ending at {t}"
    elif kind == "fixed":
        for minute in {math.floor(t / MINUTE) for t in times}:
            count = sum(1 for t in times if math.floor(t / MINUTE) == minute)
            assert count <= rpm, f"{count} admitted in minute {minute}"
    else:
        level, last, rate = float(rpm), 0.0, rpm / MINUTE
        for t in times:
            level = min(float(rpm), level + (t - last) * rate) - 1.0
            last = t
            assert level >= -1e-9, f"the bucket is overdrawn at {t} ({level:.3f})"


gaps = st.floats(min_value=0.0, max_value=12.0, allow_nan=False).map(lambda x: round(x, 3))


@dataclass(frozen=True)
class Scenario:
    """A fleet of ``routers`` sharing ``rpm``; (router, gap s) requests before the outage, the
    gap until Redis is killed, and (router, gap s) requests while it is away."""

    routers: int
    rpm: int
    before: list[tuple[int, float]]
    outage_after: float
    during: list[tuple[int, float]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    routers = draw(st.integers(2, 3))
    rpm = draw(st.integers(routers, 9))
    before = draw(st.lists(st.tuples(st.integers(0, routers - 1), gaps), max_size=30))
    outage_after = draw(gaps)
    during = draw(st.lists(st.tuples(st.integers(0, routers - 1), gaps), max_size=40))
    return Scenario(routers, rpm, before, outage_after, during)


async def run_fleet(server: RedisServer, kind: str, scenario: Scenario) -> None:
    routers, rpm = scenario.routers, scenario.rpm
    now = [0.0]
    namespace = f"degraded{next(_namespaces)}"
    clients = [connect(server.url, timeout_s=0.5) for _ in range(routers)]
    ledgers = [
        RedisQuotaLedger(
            c,
            "p",
            spec_of(kind, rpm),
            1,
            START,
            namespace=namespace,
            clock=lambda: now[0],
            on_loss="local",
            routers=routers,
            reconnect_s=1e6,
        )
        for c in clients
    ]
    admitted: list[float] = []
    try:
        for router, gap in scenario.before:
            now[0] += gap
            answer = await ledgers[router].try_admit(10, 10)
            if isinstance(answer, Admission):
                assert isinstance(answer, SharedAdmission)
                admitted.append(now[0])
        now[0] += scenario.outage_after
        server.stop()
        # when each router next asks (its first request after the outage: it finds Redis gone)
        events: list[tuple[float, int]] = []
        t = now[0]
        for router, gap in scenario.during:
            t += gap
            events.append((t, router))
        found_gone = {r: min((t for t, q in events if q == r), default=now[0] + r) for r in range(routers)}
        resume = {r: resumes_at(kind, f) for r, f in found_gone.items()}
        events += [(f, r) for r, f in found_gone.items()] + [(resume[r], r) for r in range(routers)]
        events.sort()
        first_after: dict[int, Admission | float] = {}
        for t, router in events:
            now[0] = t
            answer = await ledgers[router].try_admit(10, 10)
            assert not isinstance(answer, SharedAdmission)
            if t < resume[router]:
                assert answer == resume[router], (router, t, answer)
            else:
                first_after.setdefault(router, answer)
            if isinstance(answer, Admission):
                admitted.append(t)
        # 1/N of the limit is at least one request: each router's first request from the
        # resumption time on is admitted by its (empty) local ledger
        assert all(isinstance(first_after[r], Admission) for r in range(routers)), first_after
        assert [ledger.outages for ledger in ledgers] == [1] * routers
        assert_within_limit(kind, rpm, sorted(admitted))
    finally:
        for c in clients:
            await c.aclose()
        server.start()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
# router 0 last reached Redis at t = 0, router 1 filled the minute at t = 50, Redis went away at
# 55: counting from router 0's last contact it would resume at 60 while router 1's three
# admissions still fill the minute; counting from when it found Redis gone (55) it waits to 115
@example(
    scenario=Scenario(
        2, 4, [(0, 0.0), (1, 50.0), (1, 0.0), (1, 0.0)], 5.0, [(0, 0.0), (0, 5.0), (0, 1.0), (1, 1.0), (0, 60.0)]
    )
)
def test_degraded_fleet_never_exceeds_a_limit_and_resumes_on_time(
    own_redis: RedisServer, kind: str, scenario: Scenario
) -> None:
    asyncio.run(run_fleet(own_redis, kind, scenario))


def test_blind_until_takes_the_latest_window() -> None:
    # per-minute token buckets and a daily window reset at 07:00 UTC: found gone at 06:59:30,
    # the day resets in 30 s and the buckets have refilled 30 s later; found gone at 07:00:30,
    # the next reset is tomorrow's 07:00
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpm": 30, "rpd": 1_000, "tpm": 6_000},
            "resets": {"day": {"kind": "fixed", "at": "07:00", "timezone": "UTC"}, "minute": {"kind": "token_bucket"}},
            "latency": LATENCY,
        }
    )
    ledger = RedisQuotaLedger(
        connect("redis://127.0.0.1:1/0"), "p", spec, 1, START, on_loss="local", routers=2, rolling_margin_s=0.5
    )
    seven = 7 * 3600.0
    assert ledger.blind_until(seven - 30.0) == seven + 30.0  # the minute's bucket refills after the reset
    assert ledger.blind_until(seven + 30.0) == seven + 86_400.0
    rolling = RedisQuotaLedger(
        connect("redis://127.0.0.1:1/0"), "p", spec_of("rolling", 6), 1, START, routers=2, rolling_margin_s=0.5
    )
    assert rolling.blind_until(100.0) == 160.5  # the margin lengthens the rolling window
    # the account's allowances count too: neurons a day shared with the provider's other models
    pooled = RedisQuotaLedger(
        connect("redis://127.0.0.1:1/0"), "cf", spec_of("rolling", 6), 1, START, routers=2,
        account_limits=Limits(neurons_per_day=10_000),
        account_resets=Resets.model_validate({"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}}),
    )  # fmt: skip
    assert pooled.blind_until(100.0) == 86_400.0


# -- the recovery: back on Redis, no window goes over either ------------------------------------


@dataclass(frozen=True)
class Outage:
    """A fleet through a whole outage: requests before it (Redis counting), while Redis is away
    (every router asks at least once, so every router finds it gone), then for ``down_s`` more,
    and after Redis is back — restarted with its state (``kept``) or empty. Each router returns
    at its first request after that; a ``dead`` router sends none (it never returns)."""

    base: Scenario
    down_s: float
    kept: bool
    after: list[tuple[int, float]]
    dead: bool


@st.composite
def outages(draw: st.DrawFn) -> Outage:
    base = draw(scenarios())
    down_s = draw(st.floats(min_value=0.0, max_value=150.0, allow_nan=False).map(lambda x: round(x, 3)))
    routers = base.routers
    after = draw(st.lists(st.tuples(st.integers(0, routers - 1), gaps | st.just(45.0)), max_size=40))
    return Outage(base, down_s, draw(st.booleans()), after, draw(st.booleans()))


def restart(server: RedisServer, kept: bool) -> None:
    """Stop Redis now (its state saved first when ``kept``), for a start later."""
    dump = server.directory / "dump.rdb"
    dump.unlink(missing_ok=True)
    if kept:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as conn:
            conn.sendall(b"SAVE\r\n")
            assert conn.recv(16).startswith(b"+OK")
    server.stop()


async def run_recovery(server: RedisServer, kind: str, outage: Outage) -> None:
    scenario = outage.base
    routers, rpm = scenario.routers, scenario.rpm
    now = [0.0]
    namespace = f"recovery{next(_namespaces)}"
    clients = [connect(server.url, timeout_s=0.5) for _ in range(routers)]
    ledgers = [
        RedisQuotaLedger(
            c, "p", spec_of(kind, rpm), 1, START, namespace=namespace, clock=lambda: now[0],
            on_loss="local", routers=routers, router=k, reconnect_s=0.0,
        )
        for k, c in enumerate(clients)
    ]  # fmt: skip
    admitted: list[float] = []

    async def ask(router: int) -> Admission | float:
        answer = await ledgers[router].try_admit(10, 10)
        if isinstance(answer, Admission):
            admitted.append(now[0])
        return answer

    try:
        for router, gap in scenario.before:
            now[0] += gap
            await ask(router)
        now[0] += scenario.outage_after
        restart(server, outage.kept)
        during = [(r, g) for r, g in scenario.during] + [(r, 0.0) for r in range(routers)]
        for router, gap in during:
            now[0] += gap
            await ask(router)
        now[0] += outage.down_s
        server.start()
        gone = routers - 1 if outage.dead else None  # the last router never asks again
        for router, gap in outage.after:
            now[0] += gap
            if router != gone:
                await ask(router)
        # the recovery ends: every router still alive asks once (it writes back, if it had not),
        # and again two minutes on — by then a dead router is released, its local admissions
        # having left every window — and each then finds the shared windows alone
        live = [r for r in range(routers) if r != gone]
        for at in (now[0] + 1.0, now[0] + 126.0):
            now[0] = at
            final = [await ask(r) for r in live]
        assert all(isinstance(a, SharedAdmission) for a in final), final
        assert not any(ledgers[r].recovering for r in live)
        # the fleet's admissions, shared, local and the local shares of the recovery, in every window
        assert_within_limit(kind, rpm, sorted(admitted))
        assert [ledger.outages for ledger in ledgers] == [1] * routers
    finally:
        for c in clients:
            await c.aclose()
        if not server.running:
            server.start()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outage=outages())
# both routers find Redis gone at t = 0 and spend their 1/2 share at 61 s while Redis (its state
# kept) is away; router 0 returns at 63 s: on the shared windows alone it would admit (Redis
# counts its own request of the minute, not router 1's, still local); on its share it waits
@example(
    outage=Outage(
        base=Scenario(2, 2, [], 0.0, [(0, 0.0), (1, 0.0), (0, 61.0), (1, 0.0)]),
        down_s=1.0,
        kept=True,
        after=[(0, 1.0), (1, 1.0), (0, 0.0)],
        dead=False,
    )
)
def test_recovery_after_redis_returns_never_exceeds_a_limit(own_redis: RedisServer, kind: str, outage: Outage) -> None:
    asyncio.run(run_recovery(own_redis, kind, outage))
