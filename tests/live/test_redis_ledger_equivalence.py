"""The Redis ledger decides exactly as the in-memory ledger, its specification.

Hypothesis draws a model's limits (any mix of rolling, fixed and token-bucket windows over
requests, tokens, neurons and dollars, concurrency, charging max output up front, a per-request
output cap, a withdrawal date), a run start near a DST change or a month end, and a sequence of
admit / settle / time steps; both ledgers get the same steps at the same run times and must
give the same answers: admitted or not, on which account, and the same free-at bound (1e-6 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.config.providers import Limits, ModelSpec, Resets
from capacity.live.redis_ledger import RedisQuotaLedger, SharedAdmission, connect
from capacity.live.redis_server import RedisServer
from capacity.policy.ledger import Admission, DestinationQuota, limit_windows
from capacity.policy.resets import DailyAt
from capacity.units import LIMIT_KIND

LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 100},
}
# instants just before a DST change (US 2025-03-09 10:00 UTC, EU 2025-10-26 01:00 UTC,
# US 2025-11-02 09:00 UTC, Lord Howe's half-hour shift 2025-04-05 15:00 UTC) or a month's end
STARTS = [
    dt.datetime(2025, 3, 9, 8, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 10, 25, 23, 30, tzinfo=dt.UTC),
    dt.datetime(2025, 11, 2, 7, 45, tzinfo=dt.UTC),
    dt.datetime(2025, 4, 5, 14, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 1, 31, 22, 0, tzinfo=dt.UTC),
]
ZONES = ["UTC", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]

short_resets = st.sampled_from(
    [{"kind": "rolling"}, {"kind": "fixed"}, {"kind": "token_bucket"}, {"kind": "unknown", "evidence": "none found"}]
)
day_resets = st.one_of(
    st.sampled_from([{"kind": "rolling"}, {"kind": "token_bucket"}]),
    st.builds(
        lambda at, tz: {"kind": "fixed", "at": at, "timezone": tz},
        st.sampled_from(["00:00", "02:30", "07:00", "23:45"]),
        st.sampled_from(ZONES),
    ),
)
month_resets = st.one_of(
    st.sampled_from([{"kind": "rolling"}, {"kind": "token_bucket"}, {"kind": "unknown"}]),
    st.builds(lambda tz: {"kind": "calendar_month", "timezone": tz}, st.sampled_from(ZONES)),
)


CHANGE_DAYS = sorted({(s + dt.timedelta(days=d)).date().isoformat() for s in STARTS for d in (0, 1)})
"""Days a dated limit change may fall on: a run's first or second day (applied at build or mid-run)."""


@st.composite
def limit_changes(draw: st.DrawFn, limits: dict[str, Any]) -> list[dict[str, Any]]:
    """One or two dated changes scaling some of the stated window limits (raised or cut)."""
    windows = [k for k in limits if k in LIMIT_KIND and LIMIT_KIND[k].period is not None and k != "credit_usd"]
    if not windows:
        return []
    days = sorted(draw(st.lists(st.sampled_from(CHANGE_DAYS), min_size=1, max_size=2, unique=True)))
    changes = []
    for day in days:
        names = draw(st.lists(st.sampled_from(windows), min_size=1, unique=True))
        scale = draw(st.sampled_from([0.25, 0.5, 2.0]))
        changes.append({"effective_from": day, "limits": {n: limits[n] * scale for n in names}, "source": "test"})
    return changes


@st.composite
def model_specs(draw: st.DrawFn) -> ModelSpec:
    """A model with a random subset of small limits, so refusals are frequent."""
    limits: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    optional = {
        "rps": st.integers(1, 3),
        "rpm": st.integers(0, 8),
        "rph": st.integers(1, 25),
        "rpd": st.integers(1, 40),
        "requests_per_month": st.integers(1, 60),
        "tpm": st.integers(300, 6_000),
        "input_tpm": st.integers(300, 4_000),
        "output_tpm": st.integers(300, 4_000),
        "tokens_per_hour": st.integers(1_000, 30_000),
        "tpd": st.integers(2_000, 80_000),
        "input_tpd": st.integers(2_000, 50_000),
        "tokens_per_month": st.integers(5_000, 150_000),
        "concurrent_requests": st.integers(1, 4),
        "max_output_tokens_per_request": st.integers(50, 1_000),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            limits[name] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        limits["neurons_per_day"] = draw(st.floats(2.0, 150.0))
        extra["neurons"] = {"per_mtok_in": 4_119, "per_mtok_out": 34_868}
    if draw(st.integers(0, 3)) == 0:
        limits["credit_usd"] = draw(st.floats(0.0005, 0.05))
        limits["credit_renews"] = draw(st.sampled_from(["monthly", "never"]))
        extra["prices"] = {"usd_per_mtok_in": 0.59, "usd_per_mtok_out": 0.79}
    limits["charge_max_output_up_front"] = draw(st.booleans())
    resets = {
        "second": draw(short_resets),
        "minute": draw(short_resets),
        "hour": draw(short_resets),
        "day": draw(day_resets),
        "month": draw(month_resets),
    }
    if draw(st.integers(0, 2)) == 0:
        extra["limit_changes"] = draw(limit_changes(limits))
    if draw(st.integers(0, 9)) == 0:
        extra["withdrawn_on"] = draw(st.sampled_from(["2025-01-01", "2025-11-03", "2025-02-01"]))
    return ModelSpec.model_validate({"name": "m", "limits": limits, "resets": resets, "latency": LATENCY, **extra})


@st.composite
def token_specs(draw: st.DrawFn) -> ModelSpec:
    """A model limited by one token window (of any kind) a few requests wide, and maybe neurons:
    refusals, refunds and cached refusals meet often."""
    window = draw(
        st.sampled_from(["tpm", "input_tpm", "output_tpm", "tokens_per_hour", "tpd", "input_tpd", "tokens_per_month"])
    )
    limits: dict[str, Any] = {window: draw(st.integers(1_500, 8_000))}
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        limits["neurons_per_day"] = draw(st.floats(10.0, 120.0))
        extra["neurons"] = {"per_mtok_in": 4_119, "per_mtok_out": 34_868}
    limits["charge_max_output_up_front"] = draw(st.integers(0, 4)) == 0
    resets = {"minute": draw(short_resets), "hour": draw(short_resets), "day": draw(day_resets)}
    resets["month"] = draw(month_resets)
    return ModelSpec.model_validate({"name": "m", "limits": limits, "resets": resets, "latency": LATENCY, **extra})


@st.composite
def step(draw: st.DrawFn) -> tuple[str, Any, Any]:
    """An admission (prompt, max output tokens), a settlement (which open admission, share of
    its output used) or a wait (s: mostly seconds, sometimes minutes, hours or a day)."""
    op = draw(st.sampled_from(["admit"] * 4 + ["settle"] * 4 + ["wait"] * 3))
    if op == "admit":
        return op, draw(st.integers(1, 900)), draw(st.integers(1, 1_200))
    if op == "settle":
        return op, draw(st.integers(0, 7)), draw(st.floats(0.0, 1.0))
    scale = draw(st.sampled_from([2.0, 2.0, 2.0, 15.0, 60.0, 600.0, 3_600.0, 40_000.0]))
    return op, draw(st.floats(0.0, scale)), 0


steps = st.lists(step(), min_size=10, max_size=100)


@pytest.fixture(scope="module")
def client(redis_server: RedisServer, runner: asyncio.Runner) -> Iterator[aioredis.Redis]:
    """A client on the module's event loop."""
    c = connect(redis_server.url)
    yield c
    runner.run(c.aclose())


def same_answer(shared: Admission | float, local: Admission | float) -> bool:
    """Both admitted on the same account, or both refused with the same bound (1e-6 s)."""
    if isinstance(shared, Admission) and isinstance(local, Admission):
        return shared.account == local.account
    if isinstance(shared, Admission) or isinstance(local, Admission):
        return False
    if math.isinf(shared) or math.isinf(local):
        return shared == local
    return abs(shared - local) <= 1e-6


async def replay(
    client: aioredis.Redis, spec: ModelSpec, accounts: int, start: dt.datetime, ops: list[tuple[str, Any, Any]]
) -> None:
    """Drive both ledgers with ``ops`` and assert the same answer at every step."""
    now = [0.0]
    shared = RedisQuotaLedger(
        client, "p", spec, accounts, start, namespace=uuid.uuid4().hex, clock=lambda: now[0], slot_lease_s=math.inf
    )
    local = DestinationQuota(spec, accounts, start)
    open_: list[tuple[Admission, Admission, int, int]] = []
    for step, (op, x, y) in enumerate(ops):
        if op == "wait":
            now[0] += x
        elif op == "admit":
            a = await shared.try_admit(x, y)
            b = local.try_admit(now[0], x, y)
            assert same_answer(a, b), f"step {step} at {now[0]} s: Redis {a!r}, memory {b!r}"
            if isinstance(a, Admission) and isinstance(b, Admission):
                open_.append((a, b, x, local.output_cap(y)))
        elif open_:
            a, b, tokens_in, output = open_.pop(x % len(open_))
            tokens_out = round(y * output)
            await shared.settle(a, tokens_in, tokens_out)
            local.settle(now[0], b, tokens_in, tokens_out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=model_specs(), accounts=st.integers(1, 3), start=st.sampled_from(STARTS), ops=steps)
def test_redis_ledger_decides_as_the_in_memory_ledger(
    runner: asyncio.Runner,
    client: aioredis.Redis,
    spec: ModelSpec,
    accounts: int,
    start: dt.datetime,
    ops: list[tuple[str, Any, Any]],
) -> None:
    runner.run(replay(client, spec, accounts, start, ops))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=token_specs(), accounts=st.integers(1, 2), start=st.sampled_from(STARTS), ops=steps)
def test_refunds_and_cached_refusals_of_token_windows_match(
    runner: asyncio.Runner,
    client: aioredis.Redis,
    spec: ModelSpec,
    accounts: int,
    start: dt.datetime,
    ops: list[tuple[str, Any, Any]],
) -> None:
    runner.run(replay(client, spec, accounts, start, ops))


def test_a_long_day_of_requests_matches_at_every_step(runner: asyncio.Runner, client: aioredis.Redis) -> None:
    # Gemini-like: 15 RPM rolling, 1,500 RPD at midnight Pacific, 1M TPM; 3,000 requests a few s
    # apart cross the day's reset, so the rolling log holds hundreds of entries when it refuses
    spec = ModelSpec.model_validate(
        {
            "name": "gemini",
            "limits": {"rpm": 15, "rpd": 1_500, "tpm": 1_000_000},
            "resets": {"day": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}},
            "latency": LATENCY,
        }
    )
    ops: list[tuple[str, Any, Any]] = []
    for k in range(3_000):
        ops += [("wait", 3.0 + (k % 7) * 0.5, 0), ("admit", 800 + k % 300, 500), ("settle", 0, 0.4)]
    runner.run(replay(client, spec, 1, dt.datetime(2025, 11, 1, 20, 0, tzinfo=dt.UTC), ops))


def test_a_dated_cut_and_raise_mid_run_decide_alike(runner: asyncio.Runner, client: aioredis.Redis) -> None:
    # issue 11 case 7: a free tier's daily requests cut on a date (Gemini: 20 from 2025-12-06), a
    # token bucket raised the next day; requests every 20 min across both changes
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rps": 1, "rpd": 40, "input_tpd": 60_000},
            "resets": {"day": {"kind": "token_bucket"}},
            "limit_changes": [
                {"effective_from": "2025-12-06", "limits": {"rpd": 20}, "source": "test"},
                {"effective_from": "2025-12-07", "limits": {"input_tpd": 120_000}, "source": "test"},
            ],
            "latency": LATENCY,
        }
    )
    ops: list[tuple[str, Any, Any]] = []
    for k in range(300):
        ops += [("wait", 1_200.0, 0), ("admit", 900 + k % 500, 300), ("admit", 700, 200), ("settle", 0, 0.5)]
    runner.run(replay(client, spec, 1, dt.datetime(2025, 12, 5, 6, 0, tzinfo=dt.UTC), ops))


def test_time_from_redis_and_periods_resent_when_the_host_clock_is_off(
    runner: asyncio.Runner, client: aioredis.Redis
) -> None:
    # no injected clock: Redis TIME decides; this host's estimate is made two days wrong, so the
    # periods it first sends miss Redis's now and the script asks again with its own time
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpd": 1, "rpm": 5},
            "resets": {"day": {"kind": "fixed", "at": "00:00", "timezone": "Asia/Kolkata"}},
            "latency": LATENCY,
        }
    )

    async def scenario() -> tuple[Admission | float, Admission | float, float]:
        ledger = RedisQuotaLedger(client, "p", spec, 1, start, namespace=uuid.uuid4().hex)
        ledger._offset = -2 * 86_400.0
        first = await ledger.try_admit(100, 100)
        second = await ledger.try_admit(100, 100)
        return first, second, ledger._offset

    first, second, offset = runner.run(scenario())
    assert isinstance(first, SharedAdmission)
    day = DailyAt(start, dt.time(0, 0), "Asia/Kolkata").bounds(first.admitted_at)
    charged_in = {window.name: handle for window, handle in first.handles}
    assert charged_in["rpd"] == day[0]  # charged in Redis's day, not the host's
    assert second == day[1]  # the day's one request is spent until Kolkata's next midnight
    assert abs(offset) < 60.0  # the estimate corrected from Redis's reply


def test_a_refund_never_fills_a_bucket_past_its_limit(runner: asyncio.Runner, client: aioredis.Redis) -> None:
    # Cerebras-like TPM bucket of 6,000: 3,000 reserved, refilled to full in 60 s, then 1,900
    # unused come back — the bucket stays at 6,000, so after a 6,000-token request a 100-token
    # one waits 1 s (100 tokens at 100 tokens/s) in both ledgers
    spec = ModelSpec.model_validate(
        {"name": "m", "limits": {"tpm": 6_000}, "resets": {"minute": {"kind": "token_bucket"}}, "latency": LATENCY}
    )
    ops: list[tuple[str, Any, Any]] = [
        ("admit", 1_000, 2_000), ("wait", 60.0, 0), ("settle", 0, 0.05), ("admit", 4_000, 2_000), ("admit", 50, 50),
    ]  # fmt: skip
    runner.run(replay(client, spec, 1, STARTS[0], ops))


def test_a_fixed_minute_charged_in_redis_minute_when_the_host_is_a_minute_behind(
    runner: asyncio.Runner, client: aioredis.Redis
) -> None:
    # the host's estimate lies in the previous minute: the script picks the next period it was sent
    spec = ModelSpec.model_validate(
        {"name": "m", "limits": {"rpm": 2}, "resets": {"minute": {"kind": "fixed"}}, "latency": LATENCY}
    )

    async def scenario() -> list[Admission | float]:
        ledger = RedisQuotaLedger(
            client, "p", spec, 1, dt.datetime(2025, 1, 1, tzinfo=dt.UTC), namespace=uuid.uuid4().hex
        )
        ledger._offset = -60.0
        return [await ledger.try_admit(10, 10) for _ in range(3)]

    first, second, third = runner.run(scenario())
    assert isinstance(first, SharedAdmission) and isinstance(second, SharedAdmission)
    minute = math.floor(first.admitted_at / 60.0) * 60.0
    if math.floor(second.admitted_at / 60.0) * 60.0 == minute:  # (not across a minute's end)
        assert first.handles[0][1] == minute == second.handles[0][1]
        # the minute's two requests are spent: the third waits for the next minute (or came in it)
        assert third == minute + 60.0 if not isinstance(third, Admission) else third.admitted_at >= minute + 60.0


def test_keys_expire_once_their_state_no_longer_matters(runner: asyncio.Runner, client: aioredis.Redis) -> None:
    # rolling RPM (60 s), a daily cap at midnight Pacific, a 600 s lease: every key expires within
    # a day and a lease; a one-time credit is never forgotten
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpm": 10, "rpd": 100},
            "resets": {"day": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}},
            "latency": LATENCY,
        }
    )
    credit = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpm": 10, "credit_usd": 5.0},
            "prices": {"usd_per_mtok_in": 0.1, "usd_per_mtok_out": 0.1},
            "latency": LATENCY,
        }
    )

    async def ttls(model: ModelSpec) -> dict[str, int]:
        ledger = RedisQuotaLedger(client, "p", model, 1, STARTS[0], namespace=uuid.uuid4().hex, clock=lambda: 10.0)
        assert isinstance(await ledger.try_admit(100, 100), SharedAdmission)
        # no account-wide allowance, no outage to recover from: those keys are never written
        pool = [key for key in ledger.keys if ":account:" in key or key.endswith(":recovery")]
        assert [await client.exists(key) for key in pool] == [0, 0]
        return {key.rsplit(":", 1)[1]: await client.pttl(key) for key in ledger.keys if key not in pool}

    daily = runner.run(ttls(spec))
    assert set(daily) == {"dest", "a0", "open", "log"}
    assert 60_000 < daily["log"] <= 61_000  # the rolling minute's log
    assert 600_000 < daily["open"] <= 601_000  # the lease
    # the account's state lives to the end of the next Pacific day: run time 10 s is 00:00:10 PST
    # on 9 March, a day of 23 h (DST starts), so 23 h + 24 h − 10 s (+ 1 s of margin)
    assert (47 * 3_600 - 10) * 1_000 < daily["a0"] <= (47 * 3_600 - 10) * 1_000 + 1_000
    assert runner.run(ttls(credit))["a0"] == -1  # no expiry


@st.composite
def account_allowances(draw: st.DrawFn) -> tuple[Limits, Resets]:
    """Small account-wide allowances (issue 11 case 1), each refilling by a random rule."""
    optional = {
        "rpm": st.integers(1, 6),
        "rpd": st.integers(1, 30),
        "tpd": st.integers(2_000, 40_000),
        "input_tpd": st.integers(1_000, 20_000),
        "neurons_per_day": st.floats(5.0, 80.0),
        "credit_usd": st.floats(0.0005, 0.02),
    }
    limits = {name: draw(values) for name, values in optional.items() if draw(st.booleans())} or {"rpd": 5}
    if "credit_usd" in limits:
        limits["credit_renews"] = draw(st.sampled_from(["monthly", "never"]))
    resets = {"minute": draw(short_resets), "day": draw(day_resets), "month": draw(month_resets)}
    return Limits.model_validate(limits), Resets.model_validate(resets)


def pooled_model(name: str, neurons_in: int, draw: st.DrawFn) -> ModelSpec:
    own = {
        k: draw(v) for k, v in {"rpm": st.integers(1, 8), "tpm": st.integers(500, 5_000)}.items() if draw(st.booleans())
    }
    return ModelSpec.model_validate(
        {
            "name": name,
            "limits": own,
            "resets": {"minute": draw(short_resets)},
            "neurons": {"per_mtok_in": neurons_in, "per_mtok_out": 34_868},
            "prices": {"usd_per_mtok_in": 0.3, "usd_per_mtok_out": 0.8},
            "latency": LATENCY,
        }
    )


@st.composite
def pooled_models(draw: st.DrawFn) -> tuple[ModelSpec, ModelSpec]:
    return pooled_model("fast", 4_119, draw), pooled_model("full", 25_608, draw)


async def replay_pooled(
    client: aioredis.Redis,
    models: tuple[ModelSpec, ModelSpec],
    allowances: tuple[Limits, Resets],
    accounts: int,
    start: dt.datetime,
    ops: list[tuple[int, tuple[str, Any, Any]]],
) -> None:
    """Drive two models of one provider, sharing its account-wide allowances, in Redis and in memory."""
    now = [0.0]
    limits, resets = allowances
    namespace = uuid.uuid4().hex
    shared = [
        RedisQuotaLedger(
            client,
            "p",
            spec,
            accounts,
            start,
            namespace=namespace,
            clock=lambda: now[0],
            slot_lease_s=math.inf,
            account_limits=limits,
            account_resets=resets,
        )
        for spec in models
    ]
    pools = [limit_windows(limits, resets, start) for _ in range(accounts)]
    local = [DestinationQuota(spec, accounts, start, pools=pools) for spec in models]
    open_: list[tuple[int, Admission, Admission, int, int]] = []
    for k, (d, (op, x, y)) in enumerate(ops):
        if op == "wait":
            now[0] += x
        elif op == "admit":
            a = await shared[d].try_admit(x, y)
            b = local[d].try_admit(now[0], x, y)
            assert same_answer(a, b), f"step {k} at {now[0]} s on model {d}: Redis {a!r}, memory {b!r}"
            if isinstance(a, Admission) and isinstance(b, Admission):
                open_.append((d, a, b, x, y))
        elif open_:
            e, a, b, tokens_in, output = open_.pop(x % len(open_))
            tokens_out = round(y * output)
            await shared[e].settle(a, tokens_in, tokens_out)
            local[e].settle(now[0], b, tokens_in, tokens_out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    models=pooled_models(),
    allowances=account_allowances(),
    accounts=st.integers(1, 2),
    start=st.sampled_from(STARTS),
    ops=st.lists(st.tuples(st.integers(0, 1), step()), min_size=10, max_size=100),
)
def test_two_models_sharing_account_allowances_decide_alike(
    runner: asyncio.Runner,
    client: aioredis.Redis,
    models: tuple[ModelSpec, ModelSpec],
    allowances: tuple[Limits, Resets],
    accounts: int,
    start: dt.datetime,
    ops: list[tuple[int, tuple[str, Any, Any]]],
) -> None:
    runner.run(replay_pooled(client, models, allowances, accounts, start, ops))


def test_the_local_fallback_keeps_1_over_n_of_the_account_allowances() -> None:
    # while Redis is away under ``local``, each of N routers keeps 1/N of every quota, the
    # account's shared allowances included (Cloudflare's 10,000 neurons a day, 2 routers: 5,000)
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpm": 300},
            "neurons": {"per_mtok_in": 4_119, "per_mtok_out": 34_868},
            "latency": LATENCY,
        }
    )
    ledger = RedisQuotaLedger(
        connect("redis://127.0.0.1:1"),  # never reached: the fallback is built without Redis
        "cloudflare",
        spec,
        1,
        STARTS[0],
        on_loss="local",
        routers=2,
        account_limits=Limits(neurons_per_day=10_000),
        account_resets=Resets.model_validate({"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}}),
    )
    local = ledger.local_ledger()
    assert local is not None
    assert [(w.name, w.limit) for w in local.accounts[0].windows] == [("rpm", 150), ("neurons_per_day", 5_000)]
    assert [f.kind for f in ledger.forms] == ["R", "F"] and [f.pool for f in ledger.forms] == [False, True]
    assert ledger.keys[3] == "capacity:{cloudflare}:account:a0"
