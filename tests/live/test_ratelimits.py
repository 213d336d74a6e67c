"""Reading providers' rate-limit headers: Go durations, Retry-After, windows, burst vs exhausted."""

from __future__ import annotations

import datetime as dt
import email.utils
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.live.ratelimits import (
    BURST_MAX_WAIT_S,
    GROQ,
    MAX_RESET_S,
    MAX_RETRY_AFTER_S,
    OPENAI,
    RateLimitSnapshot,
    ThrottleKind,
    classify_429,
    dialect_for,
    parse_duration,
    parse_rate_limits,
    parse_retry_after,
    retry_after_from_headers,
)

NOW = dt.datetime(2026, 10, 21, 7, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("120ms", 0.12),
        ("12ms", 0.012),
        ("1h2m3s", 3723.0),
        ("50.597142857s", 50.597142857),
        ("1.5h", 5400.0),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("0s", 0.0),
        ("0", 0.0),
        (" 7.66s ", 7.66),
    ],
)
def test_documented_durations(text: str, seconds: float) -> None:
    parsed = parse_duration(text)
    assert parsed is not None
    assert math.isclose(parsed, seconds, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize(
    "text", ["", "5", "30.5", "-1s", "+1s", "1m 2s", "1.2.3s", "1x", "s", "m5", "1d", "NaN", "infs", "1e3s"]
)
def test_non_durations_are_refused(text: str) -> None:
    assert parse_duration(text) is None


# A Go duration is a sequence of <number><unit> parts; Go itself writes them largest unit first,
# but ParseDuration accepts any order and repeats, and so must we.
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
parts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=999_999),
        st.integers(min_value=0, max_value=6),
        st.sampled_from(sorted(_UNIT_S)),
    ),
    min_size=1,
    max_size=5,
)


@given(parts)
def test_duration_round_trip(generated: list[tuple[int, int, int, str]]) -> None:
    """A duration written from random parts parses back to the sum of its parts."""
    text, expected = "", 0.0
    for whole, fraction, digits, unit in generated:
        decimals = str(fraction).zfill(6)[:digits]
        number = f"{whole}.{decimals}" if digits else str(whole)
        text += f"{number}{unit}"
        expected += float(number) * _UNIT_S[unit]
    parsed = parse_duration(text)
    assert parsed is not None
    assert math.isclose(parsed, expected, rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(min_value=0, max_value=40 * 86_400 * 10**9))
def test_go_layout_round_trip(nanoseconds: int) -> None:
    """Go's own layout of any duration (``1h0m0s``, ``2m59.56s``, ``7.66s``; hours, minutes,
    then seconds with up to nine decimals) parses back to it, to the nanosecond."""
    hours, rest = divmod(nanoseconds, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    whole, fraction = divmod(rest, 10**9)
    secs = f"{whole}.{fraction:09d}".rstrip("0").rstrip(".")
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{secs}s"
    parsed = parse_duration(text)
    assert parsed is not None
    assert math.isclose(parsed, nanoseconds / 1e9, rel_tol=1e-12, abs_tol=1e-9)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("30", NOW).seconds == 30.0
    assert parse_retry_after("1.5", NOW).seconds == 1.5
    assert parse_retry_after("30", NOW).note is None
    date = parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", NOW)
    assert date.seconds == 28 * 60.0
    assert date.note is None
    milli = parse_retry_after("1500", NOW, milliseconds=True)
    assert milli.seconds == 1.5


@pytest.mark.parametrize(
    ("value", "seconds", "said"),
    [
        ("-5", 0.0, "negative"),
        ("Wed, 21 Oct 2026 06:00:00 GMT", 0.0, "in the past"),
        ("1e9", MAX_RETRY_AFTER_S, "exceeds a day"),
        ("Thu, 21 Oct 2027 07:00:00 GMT", MAX_RETRY_AFTER_S, "exceeds a day"),
        ("nan", None, "not a number"),
        ("inf", None, "infinite"),
        ("soon", None, "neither seconds nor an HTTP-date"),
        ("", None, "neither seconds nor an HTTP-date"),
    ],
)
def test_absurd_retry_after_is_clamped_or_ignored_and_said(value: str, seconds: float | None, said: str) -> None:
    reading = parse_retry_after(value, NOW)
    assert reading.seconds == seconds
    assert reading.note is not None
    assert said in reading.note


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_retry_after_always_within_bounds(value: float) -> None:
    """Whatever number a server sends, the wait is None or in [0, a day], with a note iff changed."""
    reading = parse_retry_after(repr(value), NOW)
    if reading.seconds is None:
        assert reading.note is not None
        assert not math.isfinite(value)
    else:
        assert 0.0 <= reading.seconds <= MAX_RETRY_AFTER_S
        assert (reading.note is None) == (reading.seconds == value)


@given(st.integers(min_value=-10 * 86_400, max_value=10 * 86_400))
def test_retry_after_dates_within_bounds(offset_s: int) -> None:
    when = email.utils.format_datetime(NOW + dt.timedelta(seconds=offset_s), usegmt=True)
    reading = parse_retry_after(when, NOW)
    assert reading.seconds == min(max(offset_s, 0), MAX_RETRY_AFTER_S)
    assert (reading.note is None) == (0 <= offset_s <= MAX_RETRY_AFTER_S)


def test_retry_after_ms_is_preferred_and_a_bad_one_falls_back() -> None:
    both = retry_after_from_headers({"Retry-After": "2", "retry-after-ms": "1250"}, NOW)
    assert both is not None
    assert both.seconds == 1.25
    bad_ms = retry_after_from_headers({"retry-after": "2", "retry-after-ms": "soon"}, NOW)
    assert bad_ms is not None
    assert bad_ms.seconds == 2.0
    assert retry_after_from_headers({"content-type": "application/json"}, NOW) is None


OPENAI_HEADERS = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "160000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "159976",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "9ms",
}
GROQ_HEADERS = {  # Groq's documented example values (console.groq.com/docs/rate-limits)
    "retry-after": "2",
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "18000",
    "x-ratelimit-remaining-requests": "14370",
    "x-ratelimit-remaining-tokens": "17997",
    "x-ratelimit-reset-requests": "2m59.56s",
    "x-ratelimit-reset-tokens": "7.66s",
}


def test_openai_headers_are_per_minute() -> None:
    snap = parse_rate_limits(OPENAI_HEADERS, OPENAI)
    requests = snap.get("requests", "minute")
    tokens = snap.get("tokens", "minute")
    assert requests is not None
    assert tokens is not None
    assert (requests.limit, requests.remaining, requests.reset_s, requests.window) == (5000, 4999, 0.012, "rpm")
    assert (tokens.limit, tokens.remaining, tokens.reset_s, tokens.window) == (160000, 159976, 0.009, "tpm")
    assert snap.notes == ()


def test_groq_requests_are_per_day_and_tokens_per_minute() -> None:
    snap = parse_rate_limits({k.upper(): v for k, v in GROQ_HEADERS.items()}, dialect_for("groq"))
    rpd = snap.get("requests", "day")
    tpm = snap.get("tokens", "minute")
    assert rpd is not None
    assert tpm is not None
    assert (rpd.window, rpd.limit, rpd.remaining, rpd.reset_s) == ("rpd", 14400, 14370, 179.56)
    assert (tpm.window, tpm.limit, tpm.remaining, tpm.reset_s) == ("tpm", 18000, 17997, 7.66)
    assert snap.get("requests", "minute") is None


def test_suffixed_day_headers_win_over_the_dialect() -> None:
    """Cerebras (and the project's emulator) name the period; resets may be plain seconds."""
    snap = parse_rate_limits(
        {
            "x-ratelimit-limit-requests-day": "14400",
            "x-ratelimit-remaining-requests-day": "0",
            "x-ratelimit-reset-requests-day": "33011.382867",
            "x-ratelimit-limit-tokens-minute": "60000",
            "x-ratelimit-remaining-tokens-minute": "59000",
            "x-ratelimit-reset-tokens-minute": "11.38",
        },
        GROQ,
    )
    day = snap.get("requests", "day")
    assert day is not None
    assert day.exhausted
    assert day.reset_s == 33011.382867
    assert snap.exhausted == (day,)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-ratelimit-remaining-requests", "-3"),
        ("x-ratelimit-remaining-requests", "lots"),
        ("x-ratelimit-limit-tokens", "nan"),
        ("x-ratelimit-reset-tokens", "-2s"),
        ("x-ratelimit-reset-tokens", "9999h"),
        ("x-ratelimit-reset-tokens", "soon"),
    ],
)
def test_bad_header_values_are_ignored_with_a_note(name: str, value: str) -> None:
    snap = parse_rate_limits({**OPENAI_HEADERS, name: value}, OPENAI)
    field = name.split("-")[2]
    measure = name.split("-")[3]
    reading = snap.get(measure, "minute")
    assert reading is not None
    assert getattr(reading, "reset_s" if field == "reset" else field) is None
    assert len(snap.notes) == 1
    assert name in snap.notes[0]


def test_reset_bound_is_a_month() -> None:
    ok = parse_rate_limits({"x-ratelimit-reset-requests-month": f"{MAX_RESET_S:.0f}"}).get("requests", "month")
    assert ok is not None
    assert ok.reset_s == MAX_RESET_S
    assert parse_rate_limits({"x-ratelimit-reset-requests-month": f"{MAX_RESET_S + 1:.0f}"}).readings == ()


def _groq_429(remaining_requests: str, remaining_tokens: str) -> RateLimitSnapshot:
    return parse_rate_limits(
        {
            **GROQ_HEADERS,
            "x-ratelimit-remaining-requests": remaining_requests,
            "x-ratelimit-remaining-tokens": remaining_tokens,
        },
        GROQ,
    )


def test_groq_tpm_429_is_a_burst() -> None:
    body = (
        '{"error":{"message":"Rate limit reached for model `llama-3.1-8b-instant` in organization `org_x` on '
        'tokens per minute (TPM): Limit 6000, Used 5900, Requested 400. Please try again in 3.5s.",'
        '"type":"tokens","code":"rate_limit_exceeded"}}'
    )
    throttle = classify_429(_groq_429("14000", "100"), 2.0, body)
    assert throttle.kind is ThrottleKind.BURST
    assert throttle.wait_s == 3.5  # the message's wait outlasts Retry-After's 2 s
    assert "per minute" in throttle.reason
    spent = classify_429(_groq_429("14000", "0"), 2.0, body)
    assert spent.kind is ThrottleKind.BURST
    assert spent.wait_s == 7.66  # nothing left: wait for the TPM window's reset


def test_groq_rpd_429_is_exhausted_and_waits_for_the_reset() -> None:
    body = '{"error":{"message":"Rate limit reached ... on requests per day (RPD): Limit 14400, Used 14400"}}'
    throttle = classify_429(_groq_429("0", "17000"), 2.0, body)
    assert throttle.kind is ThrottleKind.EXHAUSTED
    assert throttle.wait_s == 179.56


def test_headers_alone_tell_a_spent_day_from_a_spent_minute() -> None:
    assert classify_429(_groq_429("0", "17000"), None).kind is ThrottleKind.EXHAUSTED
    burst = classify_429(_groq_429("14000", "0"), None)
    assert burst.kind is ThrottleKind.BURST
    assert burst.wait_s == 7.66
    # The same headers read as OpenAI's: the spent requests window is a minute's.
    openai = parse_rate_limits({**GROQ_HEADERS, "x-ratelimit-remaining-requests": "0"}, OPENAI)
    assert classify_429(openai, None).kind is ThrottleKind.BURST


def test_openai_insufficient_quota_is_exhausted() -> None:
    body = (
        '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.",'
        '"type":"insufficient_quota","code":"insufficient_quota"}}'
    )
    throttle = classify_429(parse_rate_limits(OPENAI_HEADERS), None, body)
    assert throttle.kind is ThrottleKind.EXHAUSTED
    assert throttle.wait_s is None


def test_gemini_per_day_quota_id_is_exhausted_per_minute_is_burst() -> None:
    day = (
        '[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED",'
        '"details":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}}]'
    )
    minute = day.replace("PerDay", "PerMinute")
    assert classify_429(RateLimitSnapshot(), None, day).kind is ThrottleKind.EXHAUSTED
    assert classify_429(RateLimitSnapshot(), None, minute).kind is ThrottleKind.BURST


def test_a_bare_429_is_a_burst_unless_the_wait_is_long() -> None:
    bare = classify_429(RateLimitSnapshot(), None, "")
    assert bare.kind is ThrottleKind.BURST
    assert bare.wait_s is None
    assert classify_429(RateLimitSnapshot(), 30.0).kind is ThrottleKind.BURST
    long = classify_429(RateLimitSnapshot(), BURST_MAX_WAIT_S + 1)
    assert long.kind is ThrottleKind.EXHAUSTED
    assert long.wait_s == BURST_MAX_WAIT_S + 1


def test_a_json_key_names_no_window() -> None:
    """The emulator's 429 body carries ``"daily": false``; its message names the minute's
    token window: a burst, not an exhausted daily quota."""
    body = (
        '{"error": {"message": "Rate limit reached for model `m` on tokens/min (tpm): Limit 6000, Used 4316, '
        'Requested 2057.", "type": "tokens", "code": "rate_limit_exceeded", "limit": "tpm", "daily": false}}'
    )
    assert classify_429(RateLimitSnapshot(), 1.8, body).kind is ThrottleKind.BURST
    assert classify_429(RateLimitSnapshot(), 1.8, body.replace("tokens/min (tpm)", "tokens per day (TPD)")).kind is (
        ThrottleKind.EXHAUSTED
    )
