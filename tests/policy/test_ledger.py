"""The quota ledger of one destination: every window charged at admission, refunds, accounts."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.providers import ModelSpec
from capacity.metrics.recorder import WindowStats
from capacity.policy.ledger import Admission, DestinationQuota, build_windows
from capacity.policy.observer import NullObserver, PolicyObserver
from capacity.policy.resets import DailyAt, NeverResets
from capacity.policy.windows import FixedWindow, RollingWindow, TokenBucket
from capacity.units import LIMIT_KIND, LIMIT_KINDS, Period

START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 100},
}


def spec(**limits: object) -> ModelSpec:
    extra = {}
    for key in ("resets", "prices", "neurons"):
        if key in limits:
            extra[key] = limits.pop(key)
    return ModelSpec.model_validate({"name": "m", "limits": limits, "latency": LATENCY, **extra})


def test_windows_follow_the_limits_present() -> None:
    names = [w.name for w in build_windows(spec(rpm=30, rpd=14_400, tpm=6_000, tpd=500_000), START)]
    assert names == ["rpm", "rpd", "tpm", "tpd"]
    assert build_windows(spec(), START) == []


RESETS = {
    "rolling": {"kind": "rolling"},
    "fixed": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"},
    "token_bucket": {"kind": "token_bucket"},
}


@given(
    st.fixed_dictionaries({k.field: st.one_of(st.none(), st.integers(1, 10**7)) for k in LIMIT_KINDS}),
    st.sampled_from(["never", "monthly"]),
    st.sampled_from(sorted(RESETS)),
)
@settings(max_examples=60)
def test_the_ledger_builds_one_window_per_present_limit(
    raw: dict[str, int | None], renews: str, day_reset: str
) -> None:
    limits = {k: v for k, v in raw.items() if v is not None}
    model = spec(
        **limits,
        credit_renews=renews,
        resets={"day": RESETS[day_reset]},
        prices={"usd_per_mtok_in": 1, "usd_per_mtok_out": 2},
        neurons={"per_mtok_in": 10, "per_mtok_out": 20},
    )
    windows = build_windows(model, START)
    # one per limit counted over a period, in table order; concurrency and per-request caps make none
    assert [w.name for w in windows] == [k.field for k in LIMIT_KINDS if k.period is not None and k.field in limits]
    for w in windows:
        kind = LIMIT_KIND[w.name]
        assert w.measure is kind.measure
        assert w.limit == limits[w.name]
        period = Period.MONTH if w.name == "credit_usd" and renews == "monthly" else kind.period
        if period is Period.ONCE:
            assert isinstance(w, FixedWindow) and isinstance(w.schedule, NeverResets)
        elif period is Period.DAY and day_reset == "fixed":
            assert isinstance(w, FixedWindow) and isinstance(w.schedule, DailyAt)
        elif period is Period.DAY and day_reset == "token_bucket":
            assert isinstance(w, TokenBucket) and w.rate == w.limit / 86_400.0
        else:  # rolling, or nothing stated (unknown: counted as rolling, months too)
            assert isinstance(w, RollingWindow)
            assert period is not None and w.length_s == period.length_s


def test_tokens_reserved_at_admission_then_refunded() -> None:
    # TPM 6,000: a 1,000-in / 2,000-max request reserves 3,000; two fit, a third does not …
    q = DestinationQuota(spec(tpm=6_000), 1, START)
    a = q.try_admit(0.0, 1_000, 2_000)
    b = q.try_admit(0.0, 1_000, 2_000)
    assert isinstance(a, Admission) and isinstance(b, Admission)
    assert q.try_admit(1.0, 1_000, 2_000) == 60.0  # the first reservation leaves at t = 60
    # … until the first response used only 100 output tokens: 1,900 come back
    q.settle(2.0, a, 1_000, 100)
    assert isinstance(q.try_admit(2.0, 1_000, 800), Admission)  # 1,100 + 3,000 + 1,800 = 5,900


def test_cerebras_style_charges_max_output_without_refund() -> None:
    q = DestinationQuota(spec(tpm=6_000, charge_max_output_up_front=True), 1, START)
    a = q.try_admit(0.0, 1_000, 2_000)
    assert isinstance(a, Admission)
    q.settle(1.0, a, 1_000, 100)
    assert isinstance(q.try_admit(1.0, 1_000, 2_000), Admission)
    assert not isinstance(q.try_admit(1.0, 1, 1), Admission)  # 6,000 reserved, nothing refunded


def test_concurrency_slot_frees_on_settle_not_by_time() -> None:
    q = DestinationQuota(spec(concurrent_requests=1), 1, START)
    a = q.try_admit(0.0, 10, 10)
    assert isinstance(a, Admission)
    assert q.try_admit(1_000.0, 10, 10) == math.inf
    q.settle(1_000.0, a, 10, 10)
    assert isinstance(q.try_admit(1_000.0, 10, 10), Admission)


def test_a_full_concurrency_slot_is_full_until_a_slot_frees() -> None:
    """A request refused with every slot taken opens a full stretch with no known end (``inf``); it ends
    when a slot frees, not at the next admission. (Before: GitHub gpt-4o showed its 2 slots full 9.6 h of
    A's first day — the hours after its 50 requests a day were spent, with nothing in flight.)"""
    stats = WindowStats()

    class Watch(PolicyObserver):
        def window_used(self, now: float, window_id: int, fraction: float) -> None:
            stats.record_use(now, fraction)

        def window_refused(self, now: float, window_id: int, until: float) -> None:
            stats.record_block(now, until)

    q = DestinationQuota(spec(concurrent_requests=1), 1, START, observer=Watch())
    a = q.try_admit(0.0, 10, 10)
    assert isinstance(a, Admission)
    assert q.try_admit(5.0, 10, 10) == math.inf
    q.settle(12.0, a, 10, 10)
    stats.close_full(3_600.0)  # the run ends with nothing admitted since
    assert stats.full_s == 7.0
    assert stats.peak_fraction == 1.0


def test_accounts_multiply_the_quota() -> None:
    q = DestinationQuota(spec(rpd=2), 3, START)
    admitted = [q.try_admit(float(t), 10, 10) for t in range(7)]
    assert sum(isinstance(a, Admission) for a in admitted) == 6
    assert {a.account for a in admitted if isinstance(a, Admission)} == {0, 1, 2}


def test_neurons_and_credit_windows_use_their_units() -> None:
    # Cloudflare fp8-fast: 4,119 neurons per 1M in, 34,868 per 1M out; 10,000 neurons a day
    cf = DestinationQuota(
        spec(neurons_per_day=10_000, neurons={"per_mtok_in": 4_119, "per_mtok_out": 34_868}), 1, START
    )
    per_request = (500 * 4_119 + 300 * 34_868) / 1e6  # ≈ 12.52 neurons
    n = 0
    while isinstance(cf.try_admit(float(n), 500, 300), Admission):
        n += 1
    assert n == math.floor(10_000 / per_request)  # 798, not the seed's 10,000 requests
    # $1 of credit at $0.10 per 1M tokens: 10M tokens of 1,000-token requests = 10,000 requests
    fw = DestinationQuota(
        spec(credit_usd=1.0, prices={"usd_per_mtok_in": 0.1, "usd_per_mtok_out": 0.1}), 1, START
    )
    n = 0
    while isinstance(fw.try_admit(float(n), 500, 500), Admission):
        n += 1
    assert n == 10_000


def test_gemini_day_resets_at_midnight_pacific() -> None:
    # 00:00 America/Los_Angeles is 07:00 UTC in October (PDT)
    q = DestinationQuota(
        spec(rpd=1, resets={"day": {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}}),
        1,
        START,
    )
    assert isinstance(q.try_admit(3_600.0, 10, 10), Admission)  # 01:00 UTC Monday = Sunday evening in LA
    assert q.try_admit(6 * 3_600.0, 10, 10) == 7 * 3_600.0
    assert isinstance(q.try_admit(7 * 3_600.0, 10, 10), Admission)


@settings(max_examples=60, deadline=None)
@given(
    rpm=st.integers(1, 20),
    tpm=st.integers(500, 5_000),
    requests=st.lists(
        st.tuples(st.floats(0, 10), st.integers(1, 400), st.integers(1, 400), st.floats(0, 1)), max_size=80
    ),
)
def test_ledger_never_exceeds_rpm_or_tpm(
    rpm: int, tpm: int, requests: list[tuple[float, int, int, float]]
) -> None:
    q = DestinationQuota(spec(rpm=rpm, tpm=tpm), 1, START)
    now = 0.0
    log: list[tuple[float, float]] = []  # (time, tokens finally charged)
    for gap, tin, tmax, used in requests:
        now += gap
        a = q.try_admit(now, tin, tmax)
        if isinstance(a, Admission):
            out = round(tmax * used)
            q.settle(now, a, tin, out)
            log.append((now, tin + out))
    for t, _ in log:
        recent = [tok for s, tok in log if t - 60 < s <= t]
        assert len(recent) <= rpm
        assert sum(recent) <= tpm


def test_withdrawn_free_tier_admits_nothing_from_that_day() -> None:
    data = {"name": "m", "withdrawn_on": "2025-10-08", "limits": {"rpm": 10}, "latency": LATENCY}
    q = DestinationQuota(ModelSpec.model_validate(data), 1, START)
    assert isinstance(q.try_admit(86_400.0, 10, 10), Admission)  # 7 October
    assert q.try_admit(2 * 86_400.0, 10, 10) == math.inf  # 8 October 00:00 UTC
    gone = DestinationQuota(ModelSpec.model_validate(data), 1, START + dt.timedelta(days=30))
    assert gone.try_admit(0.0, 10, 10) == math.inf


class _Refusals(NullObserver):
    """Records each refusal a window announces: (run time, window id, until)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int, float]] = []

    def window_refused(self, now: float, window_id: int, until: float) -> None:
        self.seen.append((now, window_id, until))


def test_a_cached_neuron_refusal_is_announced_and_only_binds_requests_as_large() -> None:
    # 2 accounts of 100 neurons a day (rolling: nothing stated), 0.1 neuron per token in and out
    observer = _Refusals()
    q = DestinationQuota(
        spec(neurons_per_day=100, neurons={"per_mtok_in": 100_000, "per_mtok_out": 100_000}), 2, START, observer
    )
    for account, window in enumerate(w for a in q.accounts for w in a.windows):
        window.id = account + 1
    assert all(isinstance(q.try_admit(0.0, 300, 300), Admission) for _ in range(2))  # 60 neurons on each account
    observer.seen.clear()  # the second found no room on the first account
    assert q.try_admit(10.0, 300, 300) == 86_400.0  # 60 more fit on neither before the first charge leaves
    assert sorted(observer.seen) == [(10.0, 1, 86_400.0), (10.0, 2, 86_400.0)]
    observer.seen.clear()
    # the same request later: the accounts' cached refusals answer, and are still announced
    assert q.try_admit(20.0, 300, 300) == 86_400.0
    assert sorted(observer.seen) == [(20.0, 1, 86_400.0), (20.0, 2, 86_400.0)]
    # a smaller request (40 neurons) is not held back by the refusal of a larger one
    assert isinstance(q.try_admit(30.0, 200, 200), Admission)


def test_a_settle_says_whether_it_may_make_room_for_a_refused_request() -> None:
    # a request-count window full until t = 60: refunded tokens cannot admit anything before then
    by_count = DestinationQuota(spec(rpm=1, tpm=100_000), 1, START)
    a = by_count.try_admit(0.0, 1_000, 2_000)
    assert isinstance(a, Admission)
    assert by_count.try_admit(1.0, 10, 10) == 60.0
    assert by_count.settle(2.0, a, 1_000, 100) is False
    # a token window full: the 1,900 tokens refunded may admit the next request
    by_tokens = DestinationQuota(spec(tpm=6_000), 1, START)
    b, c = by_tokens.try_admit(0.0, 1_000, 2_000), by_tokens.try_admit(0.0, 1_000, 2_000)
    assert isinstance(b, Admission) and isinstance(c, Admission)
    assert by_tokens.try_admit(1.0, 1_000, 2_000) == 60.0
    assert by_tokens.settle(2.0, b, 1_000, 100) is True
    assert by_tokens.settle(3.0, c, 1_000, 2_000) is False  # every reserved token used: nothing comes back
    # charged up front (Cerebras): nothing is refunded, so nothing frees
    up_front = DestinationQuota(spec(tpm=6_000, charge_max_output_up_front=True), 1, START)
    d = up_front.try_admit(0.0, 1_000, 2_000)
    assert isinstance(d, Admission) and up_front.settle(1.0, d, 1_000, 100) is False
    # a concurrency slot always frees
    slots = DestinationQuota(spec(concurrent_requests=1), 1, START)
    e = slots.try_admit(0.0, 10, 10)
    assert isinstance(e, Admission) and slots.settle(1.0, e, 10, 10) is True
