"""Requests per business day per account under each kind of limit, checked by hand.

The profile: 900 input + 100 output tokens a request (1,000 used; 1,400 reserved with max
output), 10 active hours a day, 20 business days a month, 10 in the horizon.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from capacity.config.providers import ModelSpec
from capacity.plan.limits import (
    RequestProfile,
    binding_limit,
    limit_capacities,
    mean_service_time_s,
    neurons_per_request,
    usd_per_request,
)
from capacity.units import LIMIT_KIND, LIMIT_KINDS

PROFILE = RequestProfile(
    input_tokens=900.0,
    output_tokens=100.0,
    reserved_tokens=1400.0,
    active_hours_per_day=10.0,
    business_days_per_month=20.0,
    business_days_in_horizon=10.0,
)
LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.5},
    "output_tokens_per_s": {"kind": "constant", "value": 100.0},
}


def spec(limits: dict[str, Any], **extra: Any) -> ModelSpec:
    return ModelSpec.model_validate({"name": "m", "limits": limits, "latency": LATENCY, **extra})


def only(limits: dict[str, Any], **extra: Any) -> float:
    """Requests/day under the single limit given."""
    (cap,) = limit_capacities(spec(limits, **extra), PROFILE)
    return cap.requests_per_day


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"rpm": 30}, 30 * 60 * 10),  # spent only in the 10 active hours
        ({"rph": 900}, 900 * 10),
        ({"rpd": 14_400}, 14_400),
        ({"requests_per_month": 1_000}, 1_000 / 20),  # over 20 business days
        ({"tpm": 60_000}, 60_000 * 60 * 10 / 1_000),  # 1,000 tokens used a request
        ({"tokens_per_hour": 1_000_000}, 1_000_000 * 10 / 1_000),
        ({"tpd": 500_000}, 500),
        ({"tokens_per_month": 1_000_000_000}, 1_000_000_000 / 20 / 1_000),
        ({"concurrent_requests": 5}, 5 * 10 * 3600 / 1.5),  # 0.5 s TTFT + 100 tokens at 100/s
    ],
)
def test_each_limit_kind(limits: dict[str, Any], expected: float) -> None:
    assert only(limits) == pytest.approx(expected)


def test_up_front_charging_divides_by_reserved_tokens() -> None:
    limits = {
        "tpm": 60_000,
        "tokens_per_hour": 1_000_000,
        "tpd": 1_000_000,
        "charge_max_output_up_front": True,
    }
    caps = {c.kind: c.requests_per_day for c in limit_capacities(spec(limits), PROFILE)}
    assert caps == pytest.approx(
        {"tpm": 36_000_000 / 1_400, "tokens_per_hour": 10_000_000 / 1_400, "tpd": 1e6 / 1_400}
    )


def test_neurons_at_cloudflare_rates() -> None:
    # 900 × 4,119 / 1M + 100 × 34,868 / 1M = 3.7071 + 3.4868 = 7.1939 neurons a request
    rates = {"neurons": {"per_mtok_in": 4119, "per_mtok_out": 34868}}
    assert neurons_per_request(spec({}, **rates), PROFILE) == pytest.approx(7.1939)
    assert only({"neurons_per_day": 10_000}, **rates) == pytest.approx(10_000 / 7.1939)


def test_monthly_credit_is_spread_over_a_month_of_business_days() -> None:
    prices = {"prices": {"usd_per_mtok_in": 0.18, "usd_per_mtok_out": 0.18}}
    assert usd_per_request(spec({}, **prices), PROFILE) == pytest.approx(0.00018)  # 1,000 tokens × $0.18/M
    assert only({"credit_usd": 0.10, "credit_renews": "monthly"}, **prices) == pytest.approx(
        0.10 / 20 / 0.00018
    )


def test_one_time_credit_is_spread_over_the_horizon() -> None:
    prices = {"prices": {"usd_per_mtok_in": 0.10, "usd_per_mtok_out": 0.10}}
    assert only({"credit_usd": 1.0, "credit_renews": "never"}, **prices) == pytest.approx(1.0 / 10 / 0.0001)


def test_binding_limit_is_the_smallest() -> None:
    caps = limit_capacities(spec({"rpm": 30, "rpd": 14_400, "tpm": 6_000, "tpd": 500_000}), PROFILE)
    assert [c.kind for c in caps] == ["rpm", "rpd", "tpm", "tpd"]
    bind = binding_limit(caps)
    assert bind is not None
    assert (bind.kind, bind.requests_per_day) == ("tpd", 500)
    assert bind.how == "500,000 tokens/day ÷ 1,000 tokens used/request"


def test_no_limit_stated_binds_nothing() -> None:
    assert limit_capacities(spec({}), PROFILE) == []
    assert binding_limit([]) is None


def test_zero_cost_per_request_is_unbounded() -> None:
    free = RequestProfile(0.0, 0.0, 0.0, 10.0, 20.0, 10.0)
    (cap,) = limit_capacities(spec({"tpd": 1000}), free)
    assert math.isinf(cap.requests_per_day)


def test_service_time_uses_distribution_means() -> None:
    # lognormal TTFT: median 0.6, σ 0.5 → mean 0.6·e^0.125 = 0.6799; 100 tokens at 120/s = 0.8333 s
    latency = {
        "ttft_s": {"kind": "lognormal", "median": 0.6, "sigma": 0.5},
        "output_tokens_per_s": {"kind": "constant", "value": 120.0},
    }
    model = ModelSpec.model_validate({"name": "m", "latency": latency})
    assert mean_service_time_s(model, PROFILE) == pytest.approx(0.6 * math.exp(0.125) + 100 / 120)


def test_every_rate_limit_of_the_table_becomes_a_capacity_with_its_words() -> None:
    every = {k.field: 1_000 for k in LIMIT_KINDS}
    extra = {
        "prices": {"usd_per_mtok_in": 0.10, "usd_per_mtok_out": 0.10},
        "neurons": {"per_mtok_in": 10_000.0, "per_mtok_out": 10_000.0},
    }
    caps = limit_capacities(spec(every, **extra), PROFILE)
    # per-request caps bound no rate of requests; every other kind is converted, in table order
    assert [c.kind for c in caps] == [k.field for k in LIMIT_KINDS if not k.field.startswith("max_")]
    assert all(c.unit == LIMIT_KIND[c.kind].unit for c in caps)
    how = {c.kind: c.how for c in caps}
    assert how["rph"] == "1,000 req/hour × 10 active h"
    assert how["requests_per_month"] == "1,000 req/month ÷ 20 business days"
    assert how["neurons_per_day"] == "1,000 neurons/day ÷ 10.00 neurons/request"
    assert how["credit_usd"] == (
        "$1,000.00 ÷ 10 business days of the horizon (one-time credit) ÷ $0.000100/request"
    )
    assert how["concurrent_requests"] == "1,000 in flight × 10 active h × 3600 ÷ 1.50 s/request"


def test_per_second_and_input_or_output_only_limits_divide_by_what_they_count() -> None:
    assert only({"rps": 1}) == 1 * 3600 * 10  # Mistral's 1 request/s over 10 active hours
    assert only({"input_tpm": 90_000}) == pytest.approx(90_000 * 60 * 10 / 900)
    assert only({"output_tpm": 10_000}) == pytest.approx(10_000 * 60 * 10 / 100)
    assert only({"output_tpm": 10_000, "charge_max_output_up_front": True}) == pytest.approx(10_000 * 60 * 10 / 500)
    assert only({"input_tpd": 90_000}) == pytest.approx(100)


def test_an_hour_at_geminis_limit_counts_input_tokens_only() -> None:
    # requests of 20,500 input + 4,250 output tokens for one active hour at Gemini's 250,000 TPM:
    # counted as input + output, 15,000,000 ÷ 24,750 = 606; as input only (Gemini's rule), 731.7
    hour = RequestProfile(20_500.0, 4_250.0, 24_750.0, 1.0, 20.0, 10.0)
    (old,) = limit_capacities(spec({"tpm": 250_000}), hour)
    (new,) = limit_capacities(spec({"input_tpm": 250_000}), hour)
    assert round(old.requests_per_day) == 606
    assert round(new.requests_per_day, 1) == 731.7
    assert "input tokens/request" in new.how
