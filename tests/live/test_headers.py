"""The Go-style durations of x-ratelimit-reset-* headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.live.headers import format_duration, parse_duration, ratelimit_header


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.012, "12ms"), (0.0001, "1ms"), (7.66, "7.66s"), (179.56, "2m59.56s"), (360, "6m0s"),
     (3600, "1h0m0s"), (86_399.999, "24h0m0s"), (1.0, "1s")],
)
def test_durations_are_written_like_groqs_and_openais(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2m59.56s", 179.56), ("7.66s", 7.66), ("12ms", 0.012), ("6m0s", 360.0), ("1h0m0s", 3600.0), ("30", 30.0),
     ("0.5", 0.5), ("1h2m", 3720.0)],
)
def test_durations_are_read_back(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5s", "-3", "nan", "1s junk"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@given(st.floats(0, 10 * 86_400, allow_nan=False))
def test_a_written_duration_never_understates_the_wait(seconds: float) -> None:
    read = parse_duration(format_duration(seconds))
    assert seconds - 1e-9 <= read <= seconds + (0.001 if seconds < 1 else 0.01) + 1e-9


def test_header_names_follow_openai_for_the_minute_and_add_the_period_otherwise() -> None:
    assert ratelimit_header("remaining", "requests", "minute") == "x-ratelimit-remaining-requests"
    assert ratelimit_header("reset", "tokens", "day") == "x-ratelimit-reset-tokens-day"
