"""Router replicas that do not share one ledger (issue 11, case 8).

With ``routing.replicas: N`` each request goes to the next replica (round robin). A shared
ledger admits what one router would; local ledgers each admit up to the full limit, and the
provider — whose own ledger the simulated provider keeps — refuses the excess with 429s; split
ledgers each hold 1/N of the quota. Every figure below follows from the quotas by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from simkit import build, check_conservation, demand, destinations, hours, provider

from capacity.config.loader import Configuration, load_providers
from capacity.config.providers import LimitChange, Limits
from capacity.policy.build import build_core, seed_streams
from capacity.policy.destination import Routed
from capacity.policy.fleet import RouterFleet, split_limits, split_quotas
from capacity.policy.ledger import Admission, DestinationQuota
from capacity.policy.observer import NULL_OBSERVER
from capacity.report.verdict import judge
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.workload.calendar import run_start

SHIPPED = Path(__file__).resolve().parents[2] / "providers.yaml"

UTC_MIDNIGHT = {"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}}


def _plan(limits: dict[str, Any], interviews: int, replicas: int, ledger: str, **routing: Any) -> Configuration:
    """``interviews`` one-turn interviews 09:00–10:00 UTC on one provider with ``limits`` (daily
    windows reset at 00:00 UTC, beyond the run), turns that find no room failing at once."""
    return build(
        [provider("p0", limits=limits, resets=UTC_MIDNIGHT)],
        demand(interviews),
        hours("09:00", "10:00"),
        destinations("p0", replicas=replicas, ledger=ledger, **{"on_exhausted": "fail", "max_retries": 0, **routing}),
    )


def _without_wall_time(result: RunResult) -> dict[str, Any]:
    data = result.model_dump()
    data.pop("wall_time_s")
    return data


def test_three_local_replicas_send_three_times_the_daily_cap_and_two_thirds_come_back_429() -> None:
    """1,800 requests, RPD 100, 3 replicas with local ledgers. Round robin gives each replica
    600 requests; each believes it has the whole 100 a day, so each sends 100: 300 in all. The
    provider's own ledger admits the first 100 and refuses the other 200 with a 429 (2/3 of
    what the routers sent), which spend none of its quota. With no retries those turns fail."""
    config = _plan({"rpd": 100}, 1800, 3, "local")
    result = simulate(config)
    check_conservation(result)
    (dest,) = result.destinations
    assert dest.requests == 300
    assert dest.completed == 100
    assert dest.errors == {"429": 200}
    assert dest.errors["429"] / dest.requests == pytest.approx(2 / 3)
    assert result.interviews.completed == 100
    assert result.interviews.failed == 1700
    findings = judge(result, config).findings
    opening = "Providers refused 200 calls with 429 (67% of the calls sent; most at p0/m)"
    (finding,) = [f for f in findings if f.startswith(opening)]
    assert "as router replicas each counting against the full limits do (routing.ledger: local" in finding
    # the same refusals under one shared ledger (a live run's Redis) cannot come from the replicas' counting
    shared = " ".join(judge(result, _plan({"rpd": 100}, 1800, 3, "shared")).findings)
    assert "replicas each counting" not in shared
    assert "the providers counted use the router's ledger did not see" in shared
    assert "a resumed live run's ledger holds only the calls journaled before the stop" in shared


def test_three_local_replicas_on_a_minute_cap_see_about_two_thirds_429() -> None:
    """5,400 requests in an hour (90 a minute) against 15 RPM (rolling), 3 local replicas: each
    replica receives 30 a minute and admits 15 of them, so the routers send about 45 a minute
    while the provider admits 15: about 30 of every 45 — two thirds — come back 429."""
    result = simulate(_plan({"rpm": 15}, 5400, 3, "local"))
    check_conservation(result)
    (dest,) = result.destinations
    share = dest.errors.get("429", 0) / dest.requests
    assert 0.6 < share < 0.7
    assert dest.completed <= 15 * 61  # never more than the provider's 15 in any minute of the hour


def test_split_ledgers_never_draw_a_429_but_lose_the_remainder() -> None:
    """RPD 100 split over 3 replicas: 33⅓ each, so each admits 33 — 99 in all, no 429s; the
    hundredth request is lost to the split (a limit the replicas do not divide)."""
    result = simulate(_plan({"rpd": 100}, 1800, 3, "local_split"))
    (dest,) = result.destinations
    assert dest.requests == 99
    assert dest.completed == 99
    assert dest.errors == {}


def test_a_shared_ledger_is_one_router_whatever_the_replicas() -> None:
    """A shared ledger admits exactly what one router admits: the same run, number for number."""
    one = simulate(_plan({"rpm": 15, "rpd": 200}, 1800, 1, "shared"))
    three = simulate(_plan({"rpm": 15, "rpd": 200}, 1800, 3, "shared"))
    assert _without_wall_time(one) == _without_wall_time(three)
    assert one.destinations[0].errors == {}


def test_retries_of_429s_go_to_the_next_replica() -> None:
    """RPD 100, 3 local replicas, 150 requests, one retry. The provider answers the first 100 in
    time order and refuses the last 50 with a 429; each refused turn retries once (the load
    balancer hands the retry to the next replica in turn). Round robin spreads the 200 calls
    over the replicas, about 67 each — under the 100 each believes it has — so every retry is
    sent, and the provider, its day spent, refuses it again: 200 calls, 100 answered, 100 429s."""
    result = simulate(_plan({"rpd": 100}, 150, 3, "local", max_retries=1, turn_deadline_s=3600.0))
    check_conservation(result)
    (dest,) = result.destinations
    assert dest.completed == 100
    assert dest.errors == {"429": 100}
    assert dest.requests == 200
    assert result.interviews.failed == 50


def test_the_fleet_hands_requests_to_the_replicas_in_turn() -> None:
    config = _plan({"rpm": 15, "concurrent_requests": 4}, 10, 3, "local")
    core = build_core(config, run_start(config.scenario.calendar), seed_streams(1), NULL_OBSERVER)
    assert isinstance(core.router, RouterFleet)
    assert len(core.replica_destinations) == 3
    owners = []
    for _ in range(6):
        routed = core.router.route(0.0, 10, 1)
        assert isinstance(routed, Routed)
        owners.append(next(r for r, table in enumerate(core.replica_destinations) if table[0] is routed.destination))
    assert owners == [0, 1, 2, 0, 1, 2]
    quotas = [table[0].quota for table in core.replica_destinations]
    windows = {w.id for quota in quotas if quota is not None for a in quota.accounts for w in a.windows}
    assert len(set(windows)) == 3  # each replica's rpm window has its own id


def test_split_limits_divides_quotas_not_per_request_caps() -> None:
    config = build(
        [
            provider(
                "p0",
                limits={
                    "rpm": 15,
                    "tpd": 90_000,
                    "concurrent_requests": 5,
                    "max_input_tokens_per_request": 8000,
                    "credit_usd": 3.0,
                },
                prices=(0.1, 0.2),
            )
        ]
    )
    spec = config.provider("p0").model("m")
    assert spec is not None
    split = split_limits(spec, 3).limits
    assert (split.rpm, split.tpd, split.credit_usd) == (5.0, 30_000.0, 1.0)
    assert split.concurrent_requests == 1
    assert split.max_input_tokens_per_request == 8000


def test_split_limits_divides_dated_changes_too() -> None:
    """A local_split replica's share of a free tier cut on a date is the cut value over N."""
    config = build([provider("p0", limits={"rpd": 1000})])
    spec = config.provider("p0").model("m")
    assert spec is not None
    cut = {"effective_from": dt.date(2025, 12, 6), "limits": {"rpd": 20.0}, "source": "test"}
    dated = spec.model_copy(update={"limit_changes": [LimitChange.model_validate(cut)]})
    split = split_limits(dated, 4)
    assert split.limits_on(dt.date(2025, 12, 5)).rpd == 250.0
    assert split.limits_on(dt.date(2025, 12, 6)).rpd == 5.0


def test_split_quotas_divides_an_account_wide_allowance() -> None:
    """Cloudflare's 10,000 neurons a day per account, over 2 replicas: 5,000 each."""
    cloudflare = next(p for p in load_providers(SHIPPED).providers if p.name == "cloudflare")
    assert cloudflare.account_limits is not None
    assert cloudflare.account_limits.neurons_per_day == 10_000
    assert split_quotas(cloudflare.account_limits, 2).neurons_per_day == 5_000


def test_a_split_of_one_request_a_second_is_one_request_every_n_seconds() -> None:
    """Mistral's 1 request/s over 3 local_split replicas: each admits one request every 3 s
    (a window of 1/3 of a request would admit nothing)."""
    config = build([provider("p0", limits={"rps": 1})])
    spec = config.provider("p0").model("m")
    assert spec is not None
    share = DestinationQuota(split_limits(spec, 3), 1, dt.datetime(2025, 10, 6, tzinfo=dt.UTC))
    admitted = [t / 2 for t in range(0, 20) if isinstance(share.try_admit(t / 2, 10, 10), Admission)]
    assert admitted == [0.0, 3.0, 6.0, 9.0]


def test_a_fallback_share_never_lets_the_replicas_exceed_a_limit_together() -> None:
    """While the shared ledger is away each router keeps 1/N rounded down: 1 request/s and 2
    slots over 3 routers leave 0 (nothing admitted), where local_split gives one request every
    3 s and one slot each (which can meet at the provider)."""
    limits = Limits(rps=1, rpm=100, concurrent_requests=2, credit_usd=3.0)
    safe = split_quotas(limits, 3, never_over=True)
    assert (safe.rps, safe.rpm, safe.concurrent_requests, safe.credit_usd) == (0, 33, 0, 1.0)
    split = split_quotas(limits, 3)
    assert (split.rps, split.concurrent_requests) == (1 / 3, 1)
    assert split.rpm == pytest.approx(100 / 3)
