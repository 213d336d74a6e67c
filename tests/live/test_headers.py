"""The Go-style durations of x-ratelimit-reset-* headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.live.headers import format_duration, ratelimit_header
from capacity.live.ratelimits import parse_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.012, "12ms"), (0.0001, "1ms"), (7.66, "7.66s"), (179.56, "2m59.56s"), (360, "6m0s"),
     (3600, "1h0m0s"), (86_399.999, "24h0m0s"), (1.0, "1s")],
)
def test_durations_are_written_like_groqs_and_openais(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.floats(0, 10 * 86_400, allow_nan=False))
def test_a_written_duration_never_understates_the_wait(seconds: float) -> None:
    read = parse_duration(format_duration(seconds))  # the client's reader (capacity.live.ratelimits)
    assert read is not None
    assert seconds - 1e-9 <= read <= seconds + (0.001 if seconds < 1 else 0.01) + 1e-9


def test_header_names_follow_openai_for_the_minute_and_add_the_period_otherwise() -> None:
    assert ratelimit_header("remaining", "requests", "minute") == "x-ratelimit-remaining-requests"
    assert ratelimit_header("reset", "tokens", "day") == "x-ratelimit-reset-tokens-day"
