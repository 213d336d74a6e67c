"""Router strategies, retries, the response cache and in-flight de-duplication."""

from __future__ import annotations

import datetime as dt

import numpy as np

from capacity.config.providers import ModelSpec
from capacity.policy.cache import MISS, ResponseCache
from capacity.policy.dedup import InFlight
from capacity.policy.ledger import DestinationQuota
from capacity.policy.router import Destination, RetryPolicy, Routed, Router

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 100},
}


def dest(i: int, name: str, paid: bool = False, price: float = 0.0, **limits: object) -> Destination:
    data: dict[str, object] = {"name": "m", "limits": limits, "latency": LATENCY}
    if price:
        data["prices"] = {"usd_per_mtok_in": price, "usd_per_mtok_out": price}
    return Destination(
        i, name, "api", DestinationQuota(ModelSpec.model_validate(data), 1, START), billing_paid=paid
    )


def names(router: Router, n: int, tin: int = 100, tout: int = 100) -> list[str]:
    out = []
    for t in range(n):
        r = router.route(float(t), tin, tout)
        out.append(r.destination.name if isinstance(r, Routed) else "none")
    return out


def test_fill_first_exhausts_the_first_before_the_second() -> None:
    router = Router([dest(0, "a", rpd=3), dest(1, "b", rpd=2)], "fill_first", np.random.default_rng(0))
    assert names(router, 6) == ["a", "a", "a", "b", "b", "none"]


def test_refusal_answers_when_to_try_again() -> None:
    router = Router([dest(0, "a", rpm=1), dest(1, "b", rpm=1)], "fill_first", np.random.default_rng(0))
    router.route(0.0, 10, 10)
    router.route(5.0, 10, 10)
    assert router.route(6.0, 10, 10) == 60.0  # a's first request leaves its window first


def test_weighted_splits_by_weight() -> None:
    a, b = dest(0, "a"), dest(1, "b")
    a.weight, b.weight = 3.0, 1.0
    picks = names(Router([a, b], "weighted", np.random.default_rng(1)), 4_000)
    share = picks.count("a") / len(picks)
    assert abs(share - 0.75) < 3 * (0.75 * 0.25 / 4_000) ** 0.5


def test_most_headroom_balances_use() -> None:
    router = Router([dest(0, "a", rpd=100), dest(1, "b", rpd=100)], "most_headroom", np.random.default_rng(0))
    picks = names(router, 50)
    assert abs(picks.count("a") - picks.count("b")) <= 1


def test_cost_aware_prefers_free_then_cheaper() -> None:
    dests = [
        dest(0, "dear", paid=True, price=1.0),
        dest(1, "cheap", paid=True, price=0.1),
        dest(2, "free", rpd=1),
    ]
    assert names(Router(dests, "cost_aware", np.random.default_rng(0)), 3) == ["free", "cheap", "cheap"]


def test_latency_aware_learns_the_faster_destination() -> None:
    slow, fast = dest(0, "slow"), dest(1, "fast")
    router = Router([slow, fast], "latency_aware", np.random.default_rng(0))
    for d, latency in ((slow, 3.0), (fast, 0.5)):
        r = router.route(0.0, 10, 10)
        assert isinstance(r, Routed)
        router.settle(0.0, Routed(d, r.admission), 10, 10, latency)
    assert names(router, 3) == ["fast", "fast", "fast"]


def test_cooldown_keeps_traffic_away_after_an_error() -> None:
    a, b = dest(0, "a"), dest(1, "b")
    router = Router([a, b], "fill_first", np.random.default_rng(0))
    r = router.route(0.0, 10, 10)
    assert isinstance(r, Routed)
    router.cool_down(0.0, r, 5.0)
    assert names(router, 7)[1:] == ["b"] * 4 + ["a"] * 2  # t = 1..4 → b; t ≥ 5 → a again


def test_backoff_doubles_with_jitter_and_caps() -> None:
    policy = RetryPolicy(max_retries=5, base_s=0.5, cap_s=4.0)
    rng = np.random.default_rng(0)
    for attempt, full in enumerate([0.5, 1.0, 2.0, 4.0, 4.0]):
        d = policy.delay_s(attempt, rng)
        assert full / 2 <= d <= full


def test_cache_ttl_and_lru() -> None:
    cache = ResponseCache(ttl_s=3_600.0, max_entries=2)
    cache.put("a", 0.0)
    assert cache.get("a", 3_599.0) is None  # a live entry without payload (the simulator's kind)
    assert cache.get("a", 3_600.0) is MISS  # expired at exactly put + ttl
    cache.put("a", 0.0)
    cache.put("b", 1.0)
    cache.get("a", 2.0)  # a is now the most recently used
    cache.put("c", 3.0)  # evicts b
    assert [cache.get(k, 4.0) is MISS for k in "abc"] == [False, True, False]
    assert cache.evictions == 1


def test_cache_returns_the_stored_payload() -> None:
    cache = ResponseCache(ttl_s=10.0, max_entries=8)
    answer = {"choices": [{"message": {"content": "Tell me about a project you led."}}]}
    cache.put(("question", 3), 0.0, answer)
    assert cache.get(("question", 3), 9.0) is answer
    cache.put(("question", 3), 9.5, "newer")  # a refresh replaces the payload and the expiry
    assert cache.get(("question", 3), 19.0) == "newer"
    assert cache.get(("question", 3), 19.5) is MISS


def test_in_flight_followers_get_the_leaders_answer() -> None:
    flight: InFlight[str] = InFlight()
    assert flight.lead("k")
    assert not flight.lead("k")
    flight.follow("k", "w1")
    flight.follow("k", "w2")
    assert flight.finish("k") == ["w1", "w2"]
    assert flight.lead("k")


def test_most_headroom_counts_concurrency_and_the_emptiest_account() -> None:
    slots = dest(0, "slots", concurrent_requests=2)
    router = Router([slots, dest(1, "b", rpd=100)], "most_headroom", np.random.default_rng(0))
    r = router.route(0.0, 10, 10)
    assert isinstance(r, Routed) and r.destination.name == "slots"
    assert slots.quota is not None and slots.quota.utilisation(0.0) == 0.5
    two = DestinationQuota(
        ModelSpec.model_validate({"name": "m", "limits": {"rpd": 1}, "latency": LATENCY}), 2, START
    )
    two.try_admit(0.0, 10, 10)
    assert two.utilisation(1.0) == 0.0  # one account full, the other empty


def test_the_last_usable_destination_is_never_cooled_down() -> None:
    only = dest(0, "only")
    router = Router([only], "fill_first", np.random.default_rng(0))
    r = router.route(0.0, 10, 10)
    assert isinstance(r, Routed)
    router.cool_down(0.0, r, 5.0)
    assert names(router, 2) == ["only", "only"]
    a, b = dest(0, "a"), dest(1, "b")
    pair = Router([a, b], "fill_first", np.random.default_rng(0))
    ra = pair.route(0.0, 10, 10)
    assert isinstance(ra, Routed)
    pair.cool_down(0.0, ra, 5.0)  # a cools down: b is still usable
    rb = pair.route(0.0, 10, 10)
    assert isinstance(rb, Routed) and rb.destination.name == "b"
    pair.cool_down(0.0, rb, 5.0)  # b is now the last usable one: it stays
    assert names(pair, 1) == ["b"]
