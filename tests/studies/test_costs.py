"""The one monthly-cost basis: the scenario's interview at list price, over its interviewing days a month."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from capacity.config.loader import Configuration
from capacity.plan import plan as make_plan
from capacity.studies.costs import (
    REFERENCE_APIS,
    list_prices,
    monthly_usd,
    paid_option,
    reference_options,
    tokens_per_interview,
    usd_per_interview,
)


def _gpt35(config: Configuration) -> tuple[float, float]:
    spec = config.provider("openai").model("gpt-3.5-turbo-0125")
    assert spec is not None
    assert spec.prices is not None
    return spec.prices.usd_per_mtok_in, spec.prices.usd_per_mtok_out


def test_an_interview_costs_its_plan_tokens_at_list_price(config_a: Configuration, config_b: Configuration) -> None:
    for config in (config_a, config_b):
        w = make_plan(config).workload
        assert tokens_per_interview(config) == (w.input_tokens_per_interview, w.output_tokens_per_interview)
        usd_in, usd_out = _gpt35(config)
        expected = (w.input_tokens_per_interview * usd_in + w.output_tokens_per_interview * usd_out) / 1e6
        assert usd_per_interview(config, "openai", "gpt-3.5-turbo-0125") == pytest.approx(expected, rel=1e-12)
    # B runs a candidate's ten interviews back to back: the resume analysis is cached after the first
    assert tokens_per_interview(config_b)[0] < tokens_per_interview(config_a)[0]
    assert usd_per_interview(config_a, "openai", "no-such-model") is None
    assert usd_per_interview(config_a, "no-such-provider", "m") is None


def test_option_one_costs_the_same_wherever_it_is_priced(
    config_b: Configuration, load_scenario: Callable[..., Configuration]
) -> None:
    """The seed's Option 1 — 48,000 of B's interviews a day on GPT-3.5 Turbo — on the one basis."""
    per = usd_per_interview(config_b, "openai", "gpt-3.5-turbo-0125")
    assert per is not None
    month = monthly_usd(config_b, "openai", "gpt-3.5-turbo-0125", 48_000)
    assert month == pytest.approx(48_000 * 22 * per)  # 22 interviewing days, not 30 calendar days
    assert month == pytest.approx(29_908, abs=1)  # 47,971 in + 2,891 out at $0.50 / $1.50 per 1M
    # B-gpu and B-hybrid serve B's interview: the same price, whichever scenario the page reads
    for name in ("B-gpu", "B-hybrid"):
        assert monthly_usd(load_scenario(name), "openai", "gpt-3.5-turbo-0125", 48_000) == pytest.approx(month)
    option = paid_option(config_b, "openai", "gpt-3.5-turbo-0125", 48_000 * 22)
    assert option is not None
    assert option.monthly_usd == pytest.approx(month)
    assert option.note == f"${per:.4f}/interview at list price"


def test_the_reference_apis_are_priced_and_labelled(config_b: Configuration) -> None:
    options = reference_options(config_b, 10_000)
    assert len(options) == len(REFERENCE_APIS)
    assert [o.label for o in options] == [
        "OpenAI API (paid): gpt-4o-mini",
        "Groq (paid, developer tier): llama-3.1-8b-instant",
        "OpenAI API (paid): gpt-3.5-turbo-0125",
    ]
    for option, (provider, model) in zip(options, REFERENCE_APIS, strict=True):
        assert option.kind == "paid_api"
        assert option.upfront_usd == 0
        assert option.monthly_usd == pytest.approx(10_000 * (usd_per_interview(config_b, provider, model) or 0))


def test_list_prices_name_the_priced_destinations(config_a: Configuration) -> None:
    prices = list_prices(config_a)
    labels = {d.label for d in config_a.scenario.routing.destinations}
    assert set(prices) <= labels
    assert prices  # some free tiers have a paid list price
    assert all(usd_in >= 0 and usd_out >= 0 for usd_in, usd_out in prices.values())
