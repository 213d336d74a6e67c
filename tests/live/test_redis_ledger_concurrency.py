"""Routers sharing one Redis never admit more than a limit in any window.

Concurrent asyncio clients — and, in one test, three OS processes — admit and settle against
one destination on a compressed clock that crosses a daily reset at local midnight; the
admissions Redis granted are then checked against every limit: requests and tokens in every
rolling 60 s, requests in each local day.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from redis_fleet import Admitted, Fleet, over_limits, run_clients

from capacity.live.redis_server import RedisServer

# 90 run-seconds either side of midnight in Los Angeles (2025-11-02 00:00 PDT = 07:00 UTC)
RUN_START = "2025-11-01T07:00:00+00:00"
MIDNIGHT_S = 86_400.0


def fleet(
    server: RedisServer, rpm: int, rpd: int, tpm: int, accounts: int, scale: float, delay_s: float = 0.0
) -> Fleet:
    """A fleet starting ``delay_s`` from now at 90 s before local midnight and running to 90 s after it."""
    return Fleet(
        url=server.url,
        namespace=uuid.uuid4().hex,
        rpm=rpm,
        rpd=rpd,
        tpm=tpm,
        accounts=accounts,
        run_start=RUN_START,
        day_zone="America/Los_Angeles",
        t0=time.time() + delay_s,
        begin_s=MIDNIGHT_S - 90.0,
        scale=scale,
        until_s=MIDNIGHT_S + 90.0,
    )


@pytest.mark.slow
# no shrinking: a failing run depends on timing, so a shrunk example would not reproduce it
@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    clients=st.integers(2, 6),
    rpm=st.integers(10, 60),
    rpd_share=st.floats(0.5, 1.5),
    tpm=st.integers(2_000, 12_000),
    accounts=st.integers(1, 2),
    seed=st.integers(0, 1_000),
)
def test_concurrent_clients_never_exceed_a_limit(
    redis_server: RedisServer, clients: int, rpm: int, rpd_share: float, tpm: int, accounts: int, seed: int
) -> None:
    # a daily cap of half a minute to a minute and a half of the RPM: it binds before midnight and after
    f = fleet(redis_server, rpm, max(1, round(rpm * rpd_share)), tpm, accounts, scale=90.0)
    admitted, refusals = asyncio.run(run_clients(f, clients, seed))
    assert admitted and refusals > 0  # the limits were reached, not just approached
    assert over_limits(f, admitted) == []


def test_the_checker_sees_a_breach() -> None:
    f = Fleet("", "", rpm=2, rpd=10, tpm=100, accounts=1, run_start=RUN_START, day_zone="UTC",
              t0=0.0, begin_s=0.0, scale=1.0, until_s=0.0)  # fmt: skip
    ok = [Admitted(0.0, 0, 10), Admitted(30.0, 0, 10), Admitted(60.0, 0, 10)]
    assert over_limits(f, ok) == []
    assert len(over_limits(f, [*ok, Admitted(59.9, 0, 10)])) == 2  # three in (0, 59.9] and in [30, 60]
    assert over_limits(f, [Admitted(0.0, 0, 60), Admitted(59.0, 0, 41)]) != []  # 101 tokens in 60 s


@pytest.mark.slow
def test_three_processes_sharing_redis_never_exceed_60_rpm_or_the_daily_cap(redis_server: RedisServer) -> None:
    # the processes start together once all have imported (3 s from now)
    f = fleet(redis_server, rpm=60, rpd=100, tpm=20_000, accounts=1, scale=60.0, delay_s=3.0)
    worker = Path(__file__).with_name("redis_fleet.py")
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), json.dumps({**f.__dict__, "clients": 2, "seed": k})],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    admitted: list[Admitted] = []
    refusals = 0
    shares = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        result = json.loads(out)
        admitted += [Admitted(at, account, tokens) for at, account, tokens in result["admitted"]]
        refusals += result["refusals"]
        shares.append(len(result["admitted"]))
    assert refusals > 0
    assert over_limits(f, admitted) == []
    assert min(shares) > 0  # all three drew on the one quota
