"""What providers say about their rate limits, read from a response: pure functions, no I/O.

An OpenAI-compatible endpoint reports the state of its quota windows in response headers,
three per limit — ``x-ratelimit-limit-<measure>``, ``x-ratelimit-remaining-<measure>`` and
``x-ratelimit-reset-<measure>`` — where *measure* is ``requests`` or ``tokens`` and *reset*
is the time until the window is back to its full allowance, written as a Go
``time.Duration`` (``2m59.56s``, ``7.66s``, ``6m0s``, ``12ms``; console.groq.com/docs/rate-limits,
platform.openai.com/docs/guides/rate-limits). Which window an *unsuffixed* header describes
depends on the provider (docs/facts/rate-limit-semantics.md):

* OpenAI: requests and tokens per **minute**;
* Groq: requests per **day** (RPD), tokens per **minute** (TPM) — "always refers to" in
  Groq's documentation;
* Cerebras (and this project's emulator) name the period in a suffix:
  ``x-ratelimit-remaining-requests-day``, ``x-ratelimit-reset-tokens-minute``, with resets in
  plain seconds (``33011.38``).

A :class:`HeaderDialect` says which period the unsuffixed headers mean; a suffix always wins.

On a 429 the provider adds ``Retry-After`` (RFC 9110: delta-seconds or an HTTP-date; OpenAI
also sends ``retry-after-ms``). A value that cannot be meant — negative, not a number, more
than a day — is clamped or ignored, and the reading says so (:class:`RetryAfter`).

Finally :func:`classify_429` tells a **burst** refusal (a per-second or per-minute window is
full: retry within about a minute) from an **exhausted** quota (a per-hour, per-day or
per-month allowance, or a billing quota, is spent: retrying before its reset only collects
more 429s), from the headers and the error body's code and message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from capacity.units import DAY_S, MINUTE_S

__all__ = [
    "BURST_MAX_WAIT_S",
    "DIALECTS",
    "GROQ",
    "MAX_RESET_S",
    "MAX_RETRY_AFTER_S",
    "OPENAI",
    "HeaderDialect",
    "LimitReading",
    "Period",
    "RateLimitSnapshot",
    "RetryAfter",
    "Throttle",
    "ThrottleKind",
    "classify_429",
    "dialect_for",
    "parse_duration",
    "parse_rate_limits",
    "parse_retry_after",
    "retry_after_from_headers",
]

Period = Literal["second", "minute", "hour", "day", "month"]
"""The length of a quota window as providers name it."""

MAX_RETRY_AFTER_S = DAY_S
"""The longest ``Retry-After`` taken at its word (s); longer values are clamped to it."""

MAX_RESET_S = 31 * DAY_S
"""The longest reset time a rate-limit header may give (s): a calendar month. Longer is ignored."""

BURST_MAX_WAIT_S = 2 * MINUTE_S
"""A 429 whose wait is longer than this (s) is no burst: a per-minute window frees within 60 s."""

_PERIODS: tuple[Period, ...] = ("second", "minute", "hour", "day", "month")
_PERIOD_NAMED: dict[str, Period] = {period: period for period in _PERIODS}
_LONG_PERIODS: frozenset[Period] = frozenset({"hour", "day", "month"})

_UNIT_S = {  # exact, so "9ms" is the float nearest 0.009, not 9 × 0.001
    "h": Decimal(3600), "m": Decimal(60), "s": Decimal(1), "ms": Decimal("1e-3"),
    "us": Decimal("1e-6"), "µs": Decimal("1e-6"), "μs": Decimal("1e-6"), "ns": Decimal("1e-9"),
}
_DURATION_PART = r"(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|h|m|s)"
_DURATION = re.compile(rf"(?:{_DURATION_PART})+")
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_HEADER = re.compile(r"x-ratelimit-(limit|remaining|reset)-([a-z_]+?)(?:-(second|minute|hour|day|month))?")
_TRY_AGAIN = re.compile(rf"try again in ({_DURATION_PART}(?:{_DURATION_PART})*)", re.IGNORECASE)

# Words of an error body that name the window a 429 came from. Groq: "on requests per day
# (RPD)", "on tokens per minute (TPM)"; Gemini's quota ids: "GenerateRequestsPerDayPerProject…";
# OpenAI: code "insufficient_quota" (the billing quota, not a window).
_LONG_WORDS = re.compile(
    r"per[ _-]?(?:hour|day|month)|\b(?:RPH|RPD|TPH|TPD)\b|daily|monthly|insufficient_quota|"
    r"Per(?:Hour|Day|Month)",
    re.IGNORECASE,
)
_SHORT_WORDS = re.compile(
    r"per[ _-]?(?:second|minute)|\b(?:RPS|RPM|TPM|ITPM|OTPM)\b|Per(?:Second|Minute)", re.IGNORECASE
)


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (``2m59.56s`` → 179.56, ``120ms`` → 0.12, ``1h2m3s`` →
    3723.0), or None when ``text`` is not one (signs, spaces, bare numbers and unknown units
    are refused). Units: ``h``, ``m``, ``s``, ``ms``, ``us``/``µs``, ``ns``; every part may
    carry a decimal fraction, as Go's ``time.ParseDuration`` allows."""
    text = text.strip()
    if text == "0":  # Go's one unitless duration
        return 0.0
    if not _DURATION.fullmatch(text):
        return None
    return float(sum((Decimal(number) * _UNIT_S[unit] for number, unit in _PART.findall(text)), Decimal(0)))


def _parse_reset(text: str) -> float | None:
    """A reset time (s): a Go duration, or plain seconds (Cerebras); None if neither."""
    seconds = parse_duration(text)
    if seconds is not None:
        return seconds
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def _shown(text: str) -> str:
    """A header value as quoted in a note: bounded, so a hostile header cannot flood a log."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


@dataclass(frozen=True)
class RetryAfter:
    """A ``Retry-After`` as read: ``seconds`` to wait (0 ≤ s ≤ :data:`MAX_RETRY_AFTER_S`), or
    None when the value was ignored; ``note`` says what was clamped or ignored and why."""

    seconds: float | None
    note: str | None = None


def _clamped(seconds: float, raw: str, what: str, *, date: bool = False) -> RetryAfter:
    if math.isnan(seconds):
        return RetryAfter(None, f"{what} {_shown(raw)} is not a number: ignored")
    if seconds < 0:
        return RetryAfter(0.0, f"{what} {_shown(raw)} is {'in the past' if date else 'negative'}: clamped to 0 s")
    if seconds > MAX_RETRY_AFTER_S:
        return RetryAfter(
            MAX_RETRY_AFTER_S, f"{what} {_shown(raw)} exceeds a day: clamped to {MAX_RETRY_AFTER_S:.0f} s"
        )
    return RetryAfter(seconds)


def parse_retry_after(value: str, now: dt.datetime, *, milliseconds: bool = False) -> RetryAfter:
    """Read a ``Retry-After`` value: delta-seconds (``30``, ``1.5``) or an HTTP-date
    (``Wed, 21 Oct 2026 07:28:00 GMT``, counted from ``now``, an aware UTC datetime). With
    ``milliseconds`` the value is OpenAI's ``retry-after-ms``. Negative waits and dates in the
    past clamp to 0 s, waits over a day to a day, NaN/infinite/unparseable values are ignored;
    each of those says so in the result's ``note``. Raises nothing."""
    raw = value.strip()
    what = "retry-after-ms" if milliseconds else "Retry-After"
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None:
        if math.isinf(number):
            return RetryAfter(None, f"{what} {_shown(raw)} is infinite: ignored")
        return _clamped(number / 1000.0 if milliseconds else number, raw, what)
    if milliseconds:
        return RetryAfter(None, f"{what} {_shown(raw)} is not a number: ignored")
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return RetryAfter(None, f"{what} {_shown(raw)} is neither seconds nor an HTTP-date: ignored")
    if when.tzinfo is None:  # "-0000" in RFC 5322 means UTC with no claim about local time
        when = when.replace(tzinfo=dt.UTC)
    return _clamped((when - now).total_seconds(), raw, what, date=True)


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def retry_after_from_headers(headers: Mapping[str, str], now: dt.datetime) -> RetryAfter | None:
    """The wait a response asks for: ``retry-after-ms`` if present and readable (OpenAI; more
    precise), else ``Retry-After``; None when neither header is there. ``now`` as in
    :func:`parse_retry_after`."""
    lowered = _lowered(headers)
    if "retry-after-ms" in lowered:
        reading = parse_retry_after(lowered["retry-after-ms"], now, milliseconds=True)
        if reading.seconds is not None or "retry-after" not in lowered:
            return reading
    if "retry-after" in lowered:
        return parse_retry_after(lowered["retry-after"], now)
    return None


@dataclass(frozen=True)
class HeaderDialect:
    """Which window a provider's *unsuffixed* ``x-ratelimit-*-<measure>`` headers describe."""

    name: str
    requests: Period = "minute"
    tokens: Period = "minute"

    def period_of(self, measure: str) -> Period:
        """The period of an unsuffixed header counting ``measure``."""
        if measure == "requests":
            return self.requests
        return self.tokens if measure.startswith("tokens") else "minute"


OPENAI = HeaderDialect("openai")
"""OpenAI's reading, the default for OpenAI-compatible servers: both per minute."""

GROQ = HeaderDialect("groq", requests="day", tokens="minute")
"""Groq: requests per day (RPD), tokens per minute (TPM) (console.groq.com/docs/rate-limits)."""

DIALECTS: dict[str, HeaderDialect] = {"openai": OPENAI, "groq": GROQ}
"""Header dialects by provider name (providers.yaml ``name``); any other provider reads as OpenAI."""


def dialect_for(provider: str) -> HeaderDialect:
    """The header dialect of the provider called ``provider`` (OpenAI's when not listed)."""
    return DIALECTS.get(provider, OPENAI)


_WINDOW_NAMES: dict[tuple[str, Period], str] = {
    ("requests", "minute"): "rpm",
    ("requests", "hour"): "rph",
    ("requests", "day"): "rpd",
    ("requests", "month"): "requests_per_month",
    ("tokens", "minute"): "tpm",
    ("tokens", "hour"): "tokens_per_hour",
    ("tokens", "day"): "tpd",
    ("tokens", "month"): "tokens_per_month",
    ("neurons", "day"): "neurons_per_day",
}


@dataclass(frozen=True)
class LimitReading:
    """One quota window as the provider reported it: its ``limit`` and ``remaining`` allowance
    (in ``measure`` units: requests, tokens — floats, so a neuron or dollar allowance fits)
    and ``reset_s``, the time until it is full again (s). A field the provider did not send,
    or sent unreadable, is None."""

    measure: str
    period: Period
    limit: float | None = None
    remaining: float | None = None
    reset_s: float | None = None

    @property
    def window(self) -> str | None:
        """The providers.yaml limit this reading is about (``rpm``, ``rpd``, ``tpm``, …), if any."""
        return _WINDOW_NAMES.get((self.measure, self.period))

    @property
    def exhausted(self) -> bool:
        """Whether nothing is left in this window."""
        return self.remaining is not None and self.remaining <= 0

    @property
    def long(self) -> bool:
        """Whether the window is an hour or longer (its exhaustion is no burst)."""
        return self.period in _LONG_PERIODS


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The quota windows one response reported, in header order, and ``notes`` on values that
    were ignored (negative, not a number, a reset over :data:`MAX_RESET_S`)."""

    readings: tuple[LimitReading, ...] = ()
    notes: tuple[str, ...] = ()

    def get(self, measure: str, period: Period) -> LimitReading | None:
        """The reading of the ``measure`` window of ``period``, or None."""
        return next((r for r in self.readings if r.measure == measure and r.period == period), None)

    @property
    def exhausted(self) -> tuple[LimitReading, ...]:
        """The windows with nothing left, longest period first."""
        spent = [r for r in self.readings if r.exhausted]
        return tuple(sorted(spent, key=lambda r: -_PERIODS.index(r.period)))


def parse_rate_limits(headers: Mapping[str, str], dialect: HeaderDialect = OPENAI) -> RateLimitSnapshot:
    """Read every ``x-ratelimit-{limit,remaining,reset}-<measure>[-<period>]`` header of a
    response (names case-insensitive) into a :class:`RateLimitSnapshot`; unsuffixed names take
    their period from ``dialect``. Counts must be finite and ≥ 0, resets a Go duration or
    plain seconds in [0, :data:`MAX_RESET_S`]; anything else is left out with a note. Raises nothing."""
    fields: dict[tuple[str, Period], dict[str, float]] = {}
    notes: list[str] = []
    for name, raw in _lowered(headers).items():
        match = _HEADER.fullmatch(name)
        if match is None:
            continue
        field, measure, suffix = match.groups()
        period = _PERIOD_NAMED[suffix] if suffix else dialect.period_of(measure)
        value: float | None
        if field == "reset":
            value = _parse_reset(raw)
            if value is not None and not 0 <= value <= MAX_RESET_S:
                notes.append(f"{name}: {_shown(raw)} is outside 0 s to 31 days: ignored")
                continue
        else:
            try:
                value = float(raw)
            except ValueError:
                value = None
            if value is not None and not (math.isfinite(value) and value >= 0):
                value = None
        if value is None:
            notes.append(f"{name}: {_shown(raw)} is not a valid value: ignored")
            continue
        fields.setdefault((measure, period), {})[field] = value
    readings = tuple(
        LimitReading(
            measure, period, limit=got.get("limit"), remaining=got.get("remaining"), reset_s=got.get("reset")
        )
        for (measure, period), got in fields.items()
    )
    return RateLimitSnapshot(readings, tuple(notes))


class ThrottleKind(StrEnum):
    """Why a provider refused a request with 429."""

    BURST = "burst"  # a per-second or per-minute window is full: retry within about a minute
    EXHAUSTED = "exhausted"  # an hourly/daily/monthly allowance or a billing quota is spent: wait for its reset


@dataclass(frozen=True)
class Throttle:
    """A classified 429: its ``kind``, ``wait_s`` — the soonest a retry can succeed (s), the
    longest of ``Retry-After``, the spent window's reset and the body's "try again in", or
    None when the provider gave none — and ``reason``, the evidence in words."""

    kind: ThrottleKind
    wait_s: float | None
    reason: str


def _hinted_wait(body: str) -> float | None:
    """The wait an error message names ("Please try again in 50.597s": Groq), s."""
    match = _TRY_AGAIN.search(body)
    return parse_duration(match.group(1)) if match else None


def _error_words(body: str) -> str:
    """The words of an error body: a JSON document's string values (not its keys), else the text."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    words: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            words.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return " ".join(words)


def classify_429(snapshot: RateLimitSnapshot, retry_after_s: float | None, body: str = "") -> Throttle:
    """Tell a burst 429 from an exhausted quota, from the strongest evidence present:

    1. the error body (its code and message, ``body`` as received) naming a window of an hour
       or longer, or OpenAI's ``insufficient_quota`` → exhausted;
    2. a header window of an hour or longer with nothing remaining → exhausted;
    3. the body naming a per-second or per-minute window → burst;
    4. a per-second or per-minute header window with nothing remaining → burst;
    5. a wait (``retry_after_s``, the body's "try again in") over :data:`BURST_MAX_WAIT_S` → exhausted;
    6. otherwise burst — a bare 429 is most often a short window (OpenAI quantises a
       per-minute limit to per-second; Anthropic states the same).

    Evidence of exhaustion wins over evidence of a burst: retrying a spent daily quota early
    only draws more refusals, while waiting out a burst costs at most its reset. A JSON body is
    read by its string values only: a key such as the emulator's ``"daily": false`` names no
    window."""
    body = _error_words(body[:4096])
    spent = snapshot.exhausted
    waits = [w for w in (retry_after_s, _hinted_wait(body)) if w is not None]

    def throttle(kind: ThrottleKind, reason: str, reading: LimitReading | None = None) -> Throttle:
        candidates = [*waits, *([reading.reset_s] if reading is not None and reading.reset_s is not None else [])]
        return Throttle(kind, max(candidates) if candidates else None, reason)

    long_spent = next((r for r in spent if r.long), None)
    short_spent = next((r for r in spent if not r.long), None)
    if (words := _LONG_WORDS.search(body)) is not None:
        return throttle(ThrottleKind.EXHAUSTED, f"the error names a long quota ({words.group(0)!r})", long_spent)
    if long_spent is not None:
        return throttle(
            ThrottleKind.EXHAUSTED, f"no {long_spent.measure} left in the {long_spent.period}'s window", long_spent
        )
    if (words := _SHORT_WORDS.search(body)) is not None:
        return throttle(ThrottleKind.BURST, f"the error names a short window ({words.group(0)!r})", short_spent)
    if short_spent is not None:
        return throttle(
            ThrottleKind.BURST, f"no {short_spent.measure} left in the {short_spent.period}'s window", short_spent
        )
    if waits and max(waits) > BURST_MAX_WAIT_S:
        return throttle(ThrottleKind.EXHAUSTED, f"a wait of {max(waits):.0f} s is longer than any burst")
    return throttle(ThrottleKind.BURST, "no sign of a long quota")
