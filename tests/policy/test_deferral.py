"""The batch queue (policy.deferral) and question banks (policy.banks), on a float clock."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.levers import Bank, BatchApi
from capacity.config.providers import Prices
from capacity.policy.banks import QuestionBank, bank_cost_usd
from capacity.policy.deferral import BatchQueue


def batch_api(**fields: object) -> BatchApi:
    base = {"source": "test", "as_of": dt.date(2026, 11, 1), "draws_on_quotas": False}
    return BatchApi.model_validate({**base, **fields})


def test_a_batch_is_ready_one_completion_window_after_submission_and_priced_at_the_factor() -> None:
    prices = Prices(usd_per_mtok_in=2, usd_per_mtok_out=8)
    queue = BatchQueue(batch_api(price_factor=0.5, completion_window_s=3600), prices)
    ready = queue.submit(100.0, [1000, 2000], [500, 500])
    assert ready == [3700.0, 3700.0]
    # (3,000 in × $2 + 1,000 out × $8) per 1M tokens, at half price
    assert queue.cost_usd == 0.5 * (3000 * 2 + 1000 * 8) / 1e6


def test_a_full_queue_delays_the_next_batch_until_the_oldest_finishes() -> None:
    queue = BatchQueue(batch_api(completion_window_s=100, max_enqueued_tokens=1500), None)
    assert queue.submit(0.0, [1000], [0]) == [100.0]
    assert queue.submit(10.0, [1000], [0]) == [200.0]  # 2,000 > 1,500 enqueued: waits for t = 100
    assert queue.submit(20.0, [400], [0]) == [200.0]  # submitted in order, at 100 (1,400 enqueued)
    assert [b.submitted_s for b in queue.submitted] == [0.0, 100.0, 100.0]


def test_requests_beyond_the_batch_size_go_in_further_batches() -> None:
    queue = BatchQueue(batch_api(completion_window_s=60, max_requests_per_batch=2), None)
    queue.submit(0.0, [10, 10, 10, 10, 10], [0] * 5)
    assert [b.requests for b in queue.submitted] == [2, 2, 1]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 500), st.lists(st.integers(1, 400), min_size=1, max_size=6)), min_size=1, max_size=25
    ),
    st.integers(1, 4),
    st.integers(2, 8),
    st.integers(400, 2000),
)
def test_the_queue_never_exceeds_the_batch_limits(
    bookings: list[tuple[float, list[int]]], per_batch: int, max_requests: int, max_tokens: int
) -> None:
    window = 50.0
    queue = BatchQueue(
        batch_api(
            completion_window_s=window,
            max_requests_per_batch=per_batch,
            max_enqueued_requests=max(max_requests, per_batch),
            max_enqueued_tokens=max_tokens,
        ),
        None,
    )
    now = 0.0
    for gap, tokens in bookings:
        now += gap
        ready = queue.submit(now, tokens, [0] * len(tokens))
        assert len(ready) == len(tokens) and all(r >= now + window for r in ready)
    jobs = queue.submitted
    assert all(j.requests <= per_batch for j in jobs)
    assert [j.submitted_s for j in jobs] == sorted(j.submitted_s for j in jobs)
    for j in jobs:  # what was enqueued just after each submission (a lone oversized batch is let in)
        running = [k for k in jobs if k.submitted_s <= j.submitted_s < k.ready_s]
        if len(running) > 1:
            assert sum(k.requests for k in running) <= max(max_requests, per_batch)
            assert sum(k.tokens_in for k in running) <= max_tokens


def test_least_used_spreads_a_roles_interviews_evenly_over_its_variants() -> None:
    bank = QuestionBank(Bank(variants=3, policy="least_used"), roles=2, rng=None)
    picks = [bank.draw(candidate) for candidate in range(10)]  # roles 0,1,0,1,…: 5 interviews each
    assert picks[0::2] == [0, 1, 2, 0, 1] and picks[1::2] == [0, 1, 2, 0, 1]
    assert bank.requests == 6 and bank.max_uses == 2


def test_a_random_bank_draws_from_its_seeded_stream() -> None:
    twins = [QuestionBank(Bank(variants=5, policy="random"), 1, np.random.default_rng(3)) for _ in range(2)]
    assert [twins[0].draw(0) for _ in range(20)] == [twins[1].draw(0) for _ in range(20)]
    bank = QuestionBank(Bank(variants=5, policy="random"), 1, np.random.default_rng(3))
    for _ in range(500):
        bank.draw(0)
    assert bank.uses.sum() == 500 and (bank.uses > 60).all()  # every variant drawn, about 100 each


def test_a_banks_one_off_price() -> None:
    prices = Prices(usd_per_mtok_in=1.0, usd_per_mtok_out=4.0)
    assert bank_cost_usd(10, 1000, 100, prices, 0.5) == 10 * (1000 * 1 + 100 * 4) / 1e6 * 0.5
    assert bank_cost_usd(10, 1000, 100, None, 0.5) == 0.0
