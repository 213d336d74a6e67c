"""Issue 11, case 7: limit values that change on a date, applied on the run's dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from capacity.config.loader import load_providers
from capacity.config.providers import ModelSpec, Resets
from capacity.policy.ledger import Admission, DestinationQuota, build_windows

SHIPPED = Path(__file__).resolve().parents[2] / "providers.yaml"
LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 100},
}


def gemini_flash_lite() -> ModelSpec:
    spec = next(p for p in load_providers(SHIPPED).providers if p.name == "gemini").model("gemini-2.5-flash-lite")
    assert spec is not None
    return spec


def test_flash_lite_counts_1000_requests_a_day_before_2025_12_06_and_20_from_then() -> None:
    spec = gemini_flash_lite()
    assert spec.limits_on(dt.date(2025, 12, 5)).rpd == 1000
    assert spec.limits_on(dt.date(2025, 12, 6)).rpd == 20
    assert spec.limits_on(dt.date(2026, 1, 5)).rpd == 20
    assert spec.limits_on(dt.date(2026, 1, 5)).rpm == 15  # only the dated value moves


def rpd_window_limit(spec: ModelSpec, start: dt.datetime) -> float:
    return next(w.limit for w in build_windows(spec, start) if w.name == "rpd")


def test_a_run_starting_after_the_cut_lays_20_a_day() -> None:
    spec = gemini_flash_lite()
    assert rpd_window_limit(spec, dt.datetime(2026, 1, 5, tzinfo=dt.UTC)) == 20
    assert rpd_window_limit(spec, dt.datetime(2025, 10, 6, tzinfo=dt.UTC)) == 1000


def test_a_run_crossing_the_cut_admits_1000_then_20_a_day() -> None:
    spec = gemini_flash_lite().model_copy(update={"resets": Resets()})
    start = dt.datetime(2025, 12, 4, tzinfo=dt.UTC)  # daily windows roll here: the cut alone moves them
    quota = DestinationQuota(spec, 1, start)

    def admitted_in_a_day(day: int) -> int:
        t0, n = day * 86_400.0, 0
        for k in range(2_000):  # one request every 40 s: under 15 RPM
            if isinstance(quota.try_admit(t0 + 40.0 * k, 100, 100), Admission):
                n += 1
        return n

    assert admitted_in_a_day(0) == 1000  # 2025-12-04
    assert admitted_in_a_day(2) == 20  # 2025-12-06: the day's allowance is 20 from 00:00 UTC
    assert admitted_in_a_day(4) == 20


def test_a_change_names_only_window_limits_the_model_states_in_date_order() -> None:
    base = {"name": "m", "limits": {"rpd": 100}, "latency": LATENCY}
    with pytest.raises(ValidationError, match="which limits does not state"):
        ModelSpec.model_validate(
            {**base, "limit_changes": [{"effective_from": "2025-12-06", "limits": {"rpm": 5}, "source": "s"}]}
        )
    with pytest.raises(ValidationError, match="unknown or undated limit kind rpx"):
        ModelSpec.model_validate(
            {**base, "limit_changes": [{"effective_from": "2025-12-06", "limits": {"rpx": 5}, "source": "s"}]}
        )
    with pytest.raises(ValidationError, match="date order"):
        ModelSpec.model_validate(
            {
                **base,
                "limit_changes": [
                    {"effective_from": "2025-12-06", "limits": {"rpd": 5}, "source": "s"},
                    {"effective_from": "2025-11-06", "limits": {"rpd": 6}, "source": "s"},
                ],
            }
        )


def test_a_change_with_an_end_reverts_on_that_day() -> None:
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "limits": {"rpd": 100},
            "latency": LATENCY,
            "limit_changes": [
                {"effective_from": "2025-12-01", "effective_until": "2025-12-03", "limits": {"rpd": 5}, "source": "s"}
            ],
        }
    )
    assert [spec.limits_on(dt.date(2025, 12, d)).rpd for d in (1, 2, 3)] == [5, 5, 100]
    assert spec.change_days() == [dt.date(2025, 12, 1), dt.date(2025, 12, 3)]


def test_a_reader_of_the_limits_sees_the_cut_before_any_admission() -> None:
    """Found trying `capacity serve` as a new user: its daily header summed Gemini's 1,000 until
    Gemini was first asked, though 20 were in force. A reader brings the limits to their date."""
    spec = gemini_flash_lite().model_copy(update={"resets": Resets()})
    quota = DestinationQuota(spec, 1, dt.datetime(2025, 12, 4, tzinfo=dt.UTC))
    (account,) = quota.accounts

    def rpd() -> float:
        return next(w.limit for w in account.windows if w.name == "rpd")

    quota.limits_in_force(86_400.0)  # 2025-12-05: not yet
    assert rpd() == 1000
    quota.limits_in_force(2 * 86_400.0)  # 2025-12-06 00:00 UTC, nothing admitted in between
    assert rpd() == 20
