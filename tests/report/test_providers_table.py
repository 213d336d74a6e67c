"""The providers table's limits column: every kind of limit, in the table's words and order."""

from __future__ import annotations

from capacity.config.providers import Limits
from capacity.report.providers_table import limits_text
from capacity.units import LIMIT_KINDS


def test_every_limit_kind_is_shown_once_in_its_short_words_credit_last() -> None:
    every = Limits.model_validate({k.field: 1_000 for k in LIMIT_KINDS} | {"credit_renews": "monthly"})
    assert limits_text(every) == (
        "1,000 req/s · 1,000 req/min · 1,000 req/hour · 1,000 req/day · 1,000 req/month · 1,000 tokens/min · "
        "1,000 input tokens/min · 1,000 output tokens/min · 1,000 tokens/hour · 1,000 tokens/day · "
        "1,000 input tokens/day · 1,000 tokens/month · 1,000 neurons/day · 1,000 in flight · "
        "1,000 input tokens/request max · 1,000 output tokens/request max · $1,000.00 credit a month"
    )


def test_a_one_time_credit_and_up_front_charging_are_said() -> None:
    limits = Limits.model_validate({"rpd": 200, "credit_usd": 5, "charge_max_output_up_front": True})
    assert limits_text(limits) == "200 req/day · $5.00 credit once · max output charged up front"
    assert limits_text(Limits()) == "none stated"
