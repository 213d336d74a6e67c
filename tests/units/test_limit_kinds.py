"""The one table of limit kinds: complete against the config model, consistent in its words."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.config.providers import Limits, Resets, UnknownReset
from capacity.units import LIMIT_KIND, LIMIT_KINDS, Measure, Period, duration_text, limit_unit

LIMIT_FIELDS = [name for name, field in Limits.model_fields.items() if field.default is None]
"""The limits of the config model: every optional field (absent = the provider states none)."""


def test_every_limit_field_of_the_config_model_is_in_the_table_exactly_once_in_its_order() -> None:
    table = [kind.field for kind in LIMIT_KINDS]
    assert len(table) == len(set(table))
    assert table == LIMIT_FIELDS
    # what is left of the model qualifies a limit rather than being one
    assert set(Limits.model_fields) - set(table) == {"credit_renews", "charge_max_output_up_front"}
    assert set(LIMIT_KIND) == set(table)


def test_each_window_reads_as_its_measure_per_its_period() -> None:
    per = {Period.SECOND: "/s", Period.MINUTE: "/min", Period.HOUR: "/hour", Period.DAY: "/day", Period.MONTH: "/month"}
    for kind in LIMIT_KINDS:
        if kind.measure is Measure.USD:
            assert kind.unit == "USD credit" and kind.period is Period.ONCE
        elif kind.period is not None:
            words = kind.measure.value.replace("_", " ")
            assert kind.unit == f"{words}{per[kind.period]}", kind.field
            assert kind.short.endswith(per[kind.period]), kind.field
    assert [k.field for k in LIMIT_KINDS if k.period is None] == [
        "concurrent_requests",
        "max_input_tokens_per_request",
        "max_output_tokens_per_request",
    ]


def test_words_and_tags_tell_the_kinds_apart() -> None:
    for words in ([k.unit for k in LIMIT_KINDS], [k.short for k in LIMIT_KINDS], [k.tag for k in LIMIT_KINDS]):
        assert len(words) == len(set(words))
    assert all(1 <= len(k.tag) <= 4 for k in LIMIT_KINDS)


def test_period_lengths_in_seconds() -> None:
    assert [p.length_s for p in Period] == [1.0, 60.0, 3600.0, 86_400.0, 30 * 86_400.0, math.inf]


def test_a_window_name_reads_as_its_unit() -> None:
    assert limit_unit("tpd") == "tokens/day"
    assert limit_unit("concurrent_requests") == "concurrent"
    assert limit_unit("something_else") == "something_else"


values = st.one_of(st.none(), st.integers(min_value=1, max_value=10**9))


@given(st.fixed_dictionaries(dict.fromkeys(LIMIT_FIELDS, values)), st.sampled_from(["never", "monthly"]))
def test_stated_limits_are_the_present_ones_in_table_order(raw: dict[str, int | None], renews: str) -> None:
    limits = Limits.model_validate({**{k: v for k, v in raw.items() if v is not None}, "credit_renews": renews})
    stated = limits.stated()
    assert [s.kind.field for s in stated] == [f for f in LIMIT_FIELDS if raw[f] is not None]
    for s in stated:
        assert s.value == float(raw[s.kind.field] or 0)
        if s.kind.field == "credit_usd":
            assert s.period is (Period.MONTH if renews == "monthly" else Period.ONCE)
        else:
            assert s.period is s.kind.period


def test_resets_name_no_rule_for_a_one_time_allowance() -> None:
    assert isinstance(Resets().rule(Period.DAY), UnknownReset)  # nothing stated: unknown, counted as rolling
    with pytest.raises(ValueError, match="one-time"):
        Resets().rule(Period.ONCE)


def test_a_duration_reads_the_same_wherever_it_is_shown() -> None:
    """Tried as a new user would: B-gpu's p95 time to first token read 13.9 min, 836.6 s, 837 s and 14 min
    on one comparison page; A-gpu's 2.3 s and 2 s. One function writes them all."""
    assert duration_text(0.8432) == "0.84 s"
    assert duration_text(2.3) == "2.30 s"
    assert duration_text(31.805) == "31.8 s"
    assert duration_text(836.6) == "13.9 min"
    assert duration_text(9_000.0) == "2.5 h"
    assert duration_text(math.nan) == "–"
