"""TCO arithmetic: cumulative cash, break-even month, payback, and the pool and API options."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.config.gpus import GpuPool, load_catalog
from capacity.config.providers import Prices
from capacity.plan.tco import (
    TcoOption,
    api_option,
    api_usd_per_interview,
    break_even_month,
    payback_months,
    pool_option,
    rented_twin,
    tco_series,
)

SEED_POOL = GpuPool(
    name="rtx4090x3",
    gpu="rtx4090",
    model="llama-3.1-8b",
    servers=3,
    purchase_usd_per_gpu=1833,
    server_usd=667,
    electricity_usd_per_kwh=0.15,
)


def test_cumulative_cost_is_upfront_plus_months() -> None:
    own = TcoOption("own", "owned_gpu", 7500.0, 150.0, 1e5)
    assert own.cumulative_usd(0) == 7500.0
    assert own.cumulative_usd(12) == 7500.0 + 12 * 150.0
    assert own.usd_per_interview(36) == pytest.approx((7500 + 36 * 150) / (36 * 1e5))


def test_break_even_month_and_payback() -> None:
    own = TcoOption("own", "owned_gpu", 7500.0, 150.0, 1e5)
    api = TcoOption("api", "paid_api", 0.0, 2650.0, 1e5)
    # 7500 / (2650 − 150) = 3.0 months exactly: equal cost at month 3
    assert payback_months(own, api) == pytest.approx(3.0)
    assert break_even_month(own, api) == 3
    slower = TcoOption("api", "paid_api", 0.0, 2000.0, 1e5)
    assert payback_months(own, slower) == pytest.approx(7500 / 1850)
    assert break_even_month(own, slower) == 5  # 4.05 months → the 5th whole month


def test_never_breaks_even_when_the_alternative_costs_less_to_run() -> None:
    own = TcoOption("own", "owned_gpu", 7500.0, 150.0, 1e5)
    cheap = TcoOption("groq", "paid_api", 0.0, 140.0, 1e5)
    assert payback_months(own, cheap) is None
    assert break_even_month(own, cheap) is None
    # beyond the horizon: paid back in 75 months, not within 36
    close = TcoOption("close", "paid_api", 0.0, 250.0, 1e5)
    assert payback_months(own, close) == pytest.approx(75.0)
    assert break_even_month(own, close) is None
    assert break_even_month(own, close, horizon_months=80) == 75


@given(
    upfront=st.floats(0, 1e6),
    run=st.floats(0, 1e5),
    other_upfront=st.floats(0, 1e6),
    other_run=st.floats(0, 1e5),
)
def test_break_even_is_the_first_month_owning_is_no_dearer(
    upfront: float, run: float, other_upfront: float, other_run: float
) -> None:
    own = TcoOption("own", "owned_gpu", upfront, run, 1.0)
    other = TcoOption("other", "paid_api", other_upfront, other_run, 1.0)
    month = break_even_month(own, other)
    if month is None:
        assert all(own.cumulative_usd(m) > other.cumulative_usd(m) for m in range(37))
    else:
        assert own.cumulative_usd(month) <= other.cumulative_usd(month) + 1e-9
        assert all(own.cumulative_usd(m) > other.cumulative_usd(m) + 1e-9 for m in range(month))
        payback = payback_months(own, other)
        assert payback is not None
        assert math.ceil(payback - 1e-9) <= month + 1


def test_series_runs_month_by_month_for_every_option() -> None:
    own = TcoOption("own", "owned_gpu", 7500.0, 150.0, 1e5)
    api = TcoOption("api", "paid_api", 0.0, 1000.0, 1e5)
    series = tco_series([own, api], volume_basis="the demand")
    assert series.months == tuple(range(37))
    assert series.at("own", 36) == 7500 + 36 * 150
    assert series.at("api", 12) == 12_000
    assert series.to_json()["cumulative_usd"]["api"][24] == 24_000
    with pytest.raises(ValueError, match="differ"):
        tco_series([own, own])


def test_api_price_per_interview() -> None:
    mini = Prices(usd_per_mtok_in=0.15, usd_per_mtok_out=0.60)
    # B's interview: about 48,000 input and 2,900 output tokens
    assert api_usd_per_interview(mini, 48_000, 2_900) == pytest.approx(0.0072 + 0.00174)
    option = api_option("mini", mini, input_tokens=48_000, output_tokens=2_900, interviews_per_month=1_100_000)
    assert option.upfront_usd == 0
    assert option.monthly_usd == pytest.approx(1_100_000 * 0.00894)


def test_owned_pool_is_cash_up_front_and_running_cost_monthly() -> None:
    catalog = load_catalog()
    own = pool_option(
        catalog, SEED_POOL, active_hours_per_day=12, interviewing_days_per_month=22, interviews_per_month=1.0
    )
    assert own.kind == "owned_gpu"
    assert own.upfront_usd == pytest.approx(3 * 1833 + 3 * 667)  # the seed's ≈ $8,000
    # 3 × 450 W around the clock at $0.15/kWh, 30-day month
    assert own.monthly_usd == pytest.approx(3 * 0.45 * 24 * 30 * 0.15)
    assert own.label == "own 3× RTX 4090"


def test_rented_pool_pays_only_the_hours_it_runs() -> None:
    catalog = load_catalog()
    rent = pool_option(
        catalog,
        rented_twin(SEED_POOL, schedule="business_hours"),
        active_hours_per_day=12,
        interviewing_days_per_month=22,
        interviews_per_month=1.0,
    )
    assert rent.kind == "rented_gpu"
    assert rent.upfront_usd == 0
    assert rent.monthly_usd == pytest.approx(3 * 12 * 22 * 0.60)  # $0.60 per GPU-hour
    always = pool_option(
        catalog,
        rented_twin(SEED_POOL, schedule="always_on"),
        active_hours_per_day=12,
        interviewing_days_per_month=22,
        interviews_per_month=1.0,
    )
    assert always.monthly_usd == pytest.approx(3 * 24 * 30 * 0.60)
    assert "24/7" in always.label
