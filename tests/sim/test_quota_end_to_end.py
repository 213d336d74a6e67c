"""End to end, no quota is ever exceeded, and a binding daily quota is spent exactly.

The window-level property tests (``tests/policy``) check each window in isolation. Here whole
simulations run with tight limits, and a :class:`~simkit.Probe` records every admission the
router made and every settlement. Afterwards each account's admissions are checked against
the *definition* of each of its limits, recomputed from those records alone:

- rolling window of length L: the amount admitted in any interval (t − L, t] is ≤ the limit;
- fixed window: the amount admitted in each reset period (computed here from the time zone
  database, not by the ledger's schedule) is ≤ the limit;
- token bucket: over any interval [s, t] the amount admitted is ≤ limit + (t − s)·limit/L;
- concurrency: at no instant are more than c requests between admission and settlement.

Token amounts are what each request really used (input + output written; a failed call
wrote nothing), or the whole reservation where the provider charges it up front: what the
provider itself counts, so exceeding it means HTTP 429s the plan did not foresee.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import (
    Admitted,
    Probe,
    build,
    check_conservation,
    const,
    demand,
    destinations,
    expo,
    hours,
    provider,
)

from capacity.config.loader import Configuration
from capacity.config.providers import FixedReset, ModelSpec, Provider, RollingReset, TokenBucketReset, UnknownReset
from capacity.sim.model import Simulation, simulate
from capacity.units import DAY_S, HOUR_S, MINUTE_S

EPS = 1e-9  # the ledger's own float tolerance on a limit

LIMITS: list[tuple[str, str, float]] = [  # (limit, measure, window length s)
    ("rpm", "requests", MINUTE_S),
    ("rph", "requests", HOUR_S),
    ("rpd", "requests", DAY_S),
    ("tpm", "tokens", MINUTE_S),
    ("tokens_per_hour", "tokens", HOUR_S),
    ("tpd", "tokens", DAY_S),
]


def _amounts(records: list[Admitted], measure: str, up_front: bool) -> np.ndarray[Any, Any]:
    if measure == "requests":
        return np.ones(len(records))
    out = []
    for a in records:
        assert a.actual is not None
        out.append(a.charge.tokens if up_front else a.actual.tokens)
    return np.asarray(out, dtype=float)


def _max_rolling(times: np.ndarray[Any, Any], amounts: np.ndarray[Any, Any], length: float) -> float:
    """Largest amount admitted in any interval (t − length, t] (it is reached at an admission).

    An admission at a is inside the interval ending at t while a + length > t, computed as
    the ledger computes it (``t − length < a`` can round the other way at the boundary).
    """
    cumulative = np.concatenate([[0.0], np.cumsum(amounts)])
    first_inside = np.searchsorted(times + length, times, side="right")
    return float(np.max(cumulative[1:] - cumulative[first_inside], initial=0.0))


def _max_bucket_excess(times: np.ndarray[Any, Any], amounts: np.ndarray[Any, Any], rate: float) -> float:
    """max over s ≤ t of (amount admitted in [s, t]) − rate·(t − s)."""
    worst, best_start = 0.0, math.inf
    before = 0.0
    for t, a in zip(times.tolist(), amounts.tolist(), strict=True):
        best_start = min(best_start, before - rate * t) if math.isfinite(best_start) else before - rate * t
        before += a
        worst = max(worst, before - rate * t - best_start)
    return worst


def _period_key(run_start: dt.datetime, reset: FixedReset, length: float) -> Callable[[float], object]:
    if length != DAY_S:
        return lambda t: math.floor(t / length)
    zone = ZoneInfo(reset.timezone)
    shift = dt.timedelta(hours=reset.at.hour, minutes=reset.at.minute)

    def key(t: float) -> object:
        local = (run_start + dt.timedelta(seconds=t)).astimezone(zone).replace(tzinfo=None)
        return (local - shift).date()  # the local date on which this period began

    return key


def check_limits(sim: Simulation, probe: Probe) -> int:
    """Assert every limit of every account held; returns how many limits were checked."""
    checked = 0
    for dest in sim.destinations:
        assert dest.quota is not None
        spec: ModelSpec = dest.quota.spec
        up_front = spec.limits.charge_max_output_up_front
        for account in range(len(dest.quota.accounts)):
            records = probe.at(dest.index, account)
            if not records:
                continue
            times = np.asarray([a.at for a in records])
            for name, measure, length in LIMITS:
                limit = getattr(spec.limits, name)
                if limit is None:
                    continue
                rule = {MINUTE_S: spec.resets.minute, HOUR_S: spec.resets.hour, DAY_S: spec.resets.day}[
                    length
                ]
                amounts = _amounts(records, measure, up_front)
                bound = limit * (1 + EPS)
                if isinstance(rule, RollingReset | UnknownReset):  # unknown: counted as rolling
                    assert _max_rolling(times, amounts, length) <= bound, (dest.name, account, name)
                elif isinstance(rule, TokenBucketReset):
                    excess = _max_bucket_excess(times, amounts, limit / length)
                    assert excess <= bound, (dest.name, account, name, excess)
                else:
                    assert isinstance(rule, FixedReset)
                    key = _period_key(sim.run_start, rule, length)
                    per_period: dict[object, float] = defaultdict(float)
                    for t, amount in zip(times.tolist(), amounts.tolist(), strict=True):
                        per_period[key(t)] += amount
                    assert max(per_period.values()) <= bound, (dest.name, account, name, dict(per_period))
                checked += 1
            slots = spec.limits.concurrent_requests
            if slots is not None:
                events = sorted([(a.at, 1) for a in records] + [(a.settled_at, -1) for a in records])
                # at equal times a settlement frees its slot before the next admission takes it
                events.sort(key=lambda e: (e[0], e[1]))
                level = np.cumsum([e[1] for e in events])
                assert level.max() <= slots, (dest.name, account, "concurrent_requests")
                checked += 1
    return checked


# --- random tight plans ------------------------------------------------------------------

minute_rule = st.sampled_from([{"kind": "rolling"}, {"kind": "fixed"}, {"kind": "token_bucket"}])
day_rule = st.sampled_from(
    [
        {"kind": "rolling"},
        {"kind": "fixed", "at": "00:00", "timezone": "UTC"},
        {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"},
        {"kind": "fixed", "at": "09:30", "timezone": "Europe/Paris"},
        {"kind": "token_bucket"},
    ]
)
limit_sets = st.fixed_dictionaries(
    {},
    optional={
        "rpm": st.integers(1, 20),
        "rph": st.integers(10, 200),
        "rpd": st.integers(5, 150),
        "tpm": st.integers(2_000, 30_000),
        "tpd": st.integers(20_000, 400_000),
        "concurrent_requests": st.integers(1, 4),
        "charge_max_output_up_front": st.booleans(),
    },
)
destination_specs = st.fixed_dictionaries(
    {
        "limits": limit_sets,
        "resets": st.fixed_dictionaries({"minute": minute_rule, "hour": minute_rule, "day": day_rule}),
        "accounts": st.integers(1, 2),
        "error_rate": st.sampled_from([0.0, 0.0, 0.1, 0.4]),
        "latency_s": st.sampled_from([0.0, 0.3, 2.0]),
    }
)


def _random_plan(
    dests: list[dict[str, Any]], seed: int, on_exhausted: str, strategy: str, *, days: int, per_day: int = 150
) -> Configuration:
    providers = [
        provider(
            f"p{i}",
            limits=d["limits"],
            resets=d["resets"],
            accounts=d["accounts"],
            error_rate=d["error_rate"],
            ttft=expo(d["latency_s"]) if d["latency_s"] else const(0.0),
            tps=const(200.0),
        )
        for i, d in enumerate(dests)
    ]
    script = {
        "script": {
            "system_prompt_tokens": 200,
            "resume_tokens": 0,
            "answer_tokens": {"kind": "normal", "mean": 100, "sd": 30, "min": 10},
            "think_time_s": expo(20.0),
            "opening": ["open"],
            "rounds": 2,
            "round": ["ask"],
            "stages": {
                "open": {"input": {"history": False}, "output_tokens": const(150), "max_output_tokens": 300},
                "ask": {
                    "candidate_speaks_before": True,
                    "output_tokens": {"kind": "normal", "mean": 80, "sd": 40, "min": 1},
                    "max_output_tokens": 200,
                    "adds_to_history": True,
                },
            },
        }
    }
    return build(
        providers,
        demand(per_day * days, days=days),
        hours("09:00", "11:00"),
        script,
        {"seed": seed},
        destinations(
            *(p["name"] for p in providers),
            strategy=strategy,
            on_exhausted=on_exhausted,
            turn_deadline_s=120.0,
            max_retries=1,
            cooldown_s=1.0,
        ),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dests=st.lists(destination_specs, min_size=1, max_size=3),
    seed=st.integers(0, 2**31),
    on_exhausted=st.sampled_from(["queue", "degrade", "fail"]),
    strategy=st.sampled_from(["fill_first", "weighted", "most_headroom", "latency_aware", "cost_aware"]),
    days=st.integers(1, 2),
)
def test_no_limit_is_ever_exceeded(
    dests: list[dict[str, Any]], seed: int, on_exhausted: str, strategy: str, days: int
) -> None:
    config = _random_plan(dests, seed, on_exhausted, strategy, days=days)
    sim = Simulation(config)
    probe = Probe(sim)
    result = probe.run()
    check_conservation(result)
    assert len(probe.admitted) == result.requests.api_calls
    check_limits(sim, probe)


def test_a_saturated_plan_is_checked_against_every_kind_of_window() -> None:
    """One fixed plan where every kind of window binds, so the checker above is not vacuous."""
    dests = [
        {
            "limits": {"rpm": 4, "tpd": 60_000, "concurrent_requests": 2},
            "accounts": 2,
            "error_rate": 0.1,
            "latency_s": 2.0,
            "resets": {
                "minute": {"kind": "fixed"},
                "hour": {"kind": "rolling"},
                "day": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"},
            },
        },
        {
            "limits": {"rpm": 3, "rpd": 40, "tpm": 1_200, "charge_max_output_up_front": True},
            "accounts": 1,
            "error_rate": 0.0,
            "latency_s": 0.3,
            "resets": {
                "minute": {"kind": "token_bucket"},
                "hour": {"kind": "rolling"},
                "day": {"kind": "rolling"},
            },
        },
    ]
    config = _random_plan(dests, 3, "queue", "fill_first", days=2, per_day=300)
    sim = Simulation(config)
    probe = Probe(sim)
    result = probe.run()
    check_conservation(result)
    assert check_limits(sim, probe) == 2 * 3 + 3  # 2 accounts × (rpm, tpd, slots) + (rpm, rpd, tpm)
    blocked = {w.name for d in result.destinations for w in d.windows if w.full_s > 0}
    assert {"rpm", "tpd", "concurrent_requests", "rpd", "tpm"} <= blocked, blocked
    assert result.interviews.failed > 0  # demand really exceeds the plan


# --- requests per day -------------------------------------------------------------------


def _rpd_plan(rpd: int, day_reset: dict[str, str], *parts: dict[str, Any]) -> Configuration:
    return build(
        [provider("p0", limits={"rpd": rpd}, resets={"day": day_reset})],
        {"routing": {"on_exhausted": "fail"}},
        *parts,
    )


@pytest.mark.parametrize("on_exhausted", ["fail", "queue"])
def test_rpd_fixed_at_utc_midnight_carries_exactly_r_in_a_day(on_exhausted: str) -> None:
    """500 one-turn interviews 09:00–10:00 against RPD = 120 resetting at 00:00 UTC: exactly
    120 requests reach the provider; the other 380 turns fail (at once, or after queueing
    until their 10-minute deadline: queueing cannot create quota)."""
    config = _rpd_plan(
        120,
        {"kind": "fixed", "at": "00:00", "timezone": "UTC"},
        demand(500),
        {"routing": {"on_exhausted": on_exhausted, "turn_deadline_s": 600.0}},
    )
    result = simulate(config)
    check_conservation(result)
    (dest,) = result.destinations
    assert dest.requests == 120
    assert result.interviews.completed == 120
    assert result.interviews.failed == 380
    (rpd,) = dest.windows
    assert rpd.name == "rpd"
    assert rpd.peak_fraction == 1.0
    # spent, the daily window is full from its first refusal to the end of the run (its reset,
    # 00:00 UTC, lies beyond the run's horizon): that is what binds
    assert rpd.first_blocked_s is not None
    assert rpd.full_s == pytest.approx(result.horizon_s - rpd.first_blocked_s)
    assert dest.binding_window == "rpd"
    assert dest.binding_from_s == rpd.first_blocked_s


def test_rpd_fixed_at_pacific_midnight_carries_exactly_r_per_period() -> None:
    """Demand around the clock for two days (UTC) against RPD = 150 resetting at 00:00
    America/Los_Angeles, which is 07:00 UTC in October (PDT): three reset periods meet the
    demand — [day 0 00:00, 07:00), [07:00, day 1 07:00), [day 1 07:00, day 2 07:00) —
    and each carries exactly 150 requests, counted from the hourly request counts."""
    config = _rpd_plan(
        150,
        {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"},
        demand(2000, days=2),
        hours("00:00", "23:59"),
    )
    result = simulate(config)
    check_conservation(result)
    hourly = result.destinations[0].hourly_requests
    assert [sum(hourly[0:7]), sum(hourly[7:31]), sum(hourly[31:55])] == [150, 150, 150]
    assert sum(hourly) == 450


def test_rpd_fixed_at_pacific_midnight_across_the_dst_change() -> None:
    """Demand around the clock (UTC) from Saturday 1 November 2025 for three days, RPD = 100
    resetting at 00:00 America/Los_Angeles: US daylight saving time ends on 2 November, so
    that Pacific day lasts 25 hours. Each Pacific day the demand touches — 31 October (from
    00:00 UTC), 1, 2 (25 h) and 3 November (to 24:00 UTC on the 3rd) — carries exactly 100."""
    config = _rpd_plan(
        100,
        {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"},
        demand(3000, days=3),
        hours("00:00", "23:59"),
        {"calendar": {"start_date": "2025-11-01"}},
    )
    sim = Simulation(config)
    probe = Probe(sim)
    result = probe.run()
    check_conservation(result)
    pacific = ZoneInfo("America/Los_Angeles")
    days = Counter(
        (sim.run_start + dt.timedelta(seconds=a.at)).astimezone(pacific).date() for a in probe.admitted
    )
    assert days == {
        dt.date(2025, 10, 31): 100,
        dt.date(2025, 11, 1): 100,
        dt.date(2025, 11, 2): 100,
        dt.date(2025, 11, 3): 100,
    }


def test_rpd_rolling_carries_at_most_r_in_any_day_and_exactly_r_when_saturated() -> None:
    """The same demand against a rolling RPD = 150: no 24-hour interval holds more than 150
    admissions, and since demand never stops, every request leaving the window is replaced:
    150 on day 0, 150 more on day 1 as day 0's expire, none after demand ends (day 1's would
    expire only on day 2)."""
    config = _rpd_plan(150, {"kind": "rolling"}, demand(2000, days=2), hours("00:00", "23:59"))
    sim = Simulation(config)
    probe = Probe(sim)
    result = probe.run()
    check_conservation(result)
    times = np.asarray([a.at for a in probe.admitted])
    assert _max_rolling(times, np.ones(len(times)), DAY_S) == 150
    assert result.destinations[0].requests == 300
    day = (times // DAY_S).astype(int)
    assert np.bincount(day).tolist() == [150, 150]
    # the k-th admission of day 1 comes no sooner than 24 h after the k-th of day 0 (whose
    # place it takes), and not much later: demand keeps coming (one arrival every ~86 s)
    gaps = times[150:] - times[:150]
    assert np.all(gaps >= DAY_S)
    assert float(np.mean(gaps - DAY_S)) < HOUR_S


# --- reservation at admission ---------------------------------------------------------------


def test_tokens_are_reserved_as_input_plus_max_output() -> None:
    """The design: tokens are reserved at admission as input + max_tokens (a router cannot
    know the output length in advance), and a provider that charges the maximum up front
    (Cerebras) never refunds it. Here a prompt of 100 tokens with max_tokens 900 reserves
    1,000 tokens, so a TPM of 10,000 (rolling, charged up front) admits at most 10 requests in
    any minute, though each request writes only 100 tokens."""
    config = build(
        [provider("p0", limits={"tpm": 10_000, "charge_max_output_up_front": True})],
        demand(1200),
        {
            "script": {
                "stages": {
                    "ask": {
                        "input": {"history": False},
                        "output_tokens": const(100),
                        "max_output_tokens": 900,
                    }
                }
            }
        },
        {"routing": {"on_exhausted": "fail"}},
    )
    sim = Simulation(config)
    probe = Probe(sim)
    result = probe.run()
    assert {a.charge.tokens for a in probe.admitted} == {1000.0}
    times = np.asarray([a.at for a in probe.admitted])
    assert _max_rolling(times, np.ones(len(times)), MINUTE_S) == 10
    assert result.interviews.completed <= 600 < result.interviews.failed  # 20 a minute asked, 10 allowed

    # refunded after the response (the usual case), which takes 0.1 s here: the same
    # reservation, but each request keeps only the 200 tokens it used, so 20 a minute (4,000
    # tokens) all fit
    spec = provider("p0", limits={"tpm": 10_000}, tps=const(1000.0))
    refundable = dataclasses.replace(config, providers={"p0": Provider.model_validate(spec)})
    sim = Simulation(refundable)
    probe = Probe(sim)
    result = probe.run()
    assert {a.charge.tokens for a in probe.admitted} == {1000.0}
    assert {a.actual.tokens for a in probe.admitted if a.actual is not None} == {200.0}
    assert result.interviews.completed == 1200
    check_limits(sim, probe)
