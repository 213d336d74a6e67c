"""Units, shared enums, small constants and the vocabulary of quota limits.

Time inside the model is always seconds (``float``) since the start of the run; a run's
start is a UTC datetime in the scenario. Tokens are integers, money is US dollars.

:data:`LIMIT_KINDS` is the one table of the limits a provider may state (one row per limit
field of ``providers.yaml``): what each counts (its :class:`Measure`), over what period (its
:class:`Period`), and the words tables and figures show it with. The quota ledger, the
static plan, the providers table and the quota figure all iterate over it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

Seconds: TypeAlias = float
Tokens: TypeAlias = int
USD: TypeAlias = float

MINUTE_S: Seconds = 60.0
HOUR_S: Seconds = 3600.0
DAY_S: Seconds = 86400.0
DAYS_PER_MONTH: float = 30.0
MTOK: float = 1_000_000.0


class Outcome(StrEnum):
    """How an interview ended."""

    COMPLETED = "completed"
    DEGRADED = "degraded"  # finished, but at least one turn was served by a fallback template
    FAILED = "failed"  # a turn could not be served; the interview was abandoned
    UNFINISHED = "unfinished"  # still running (or not yet started) when the horizon ended


class Served(StrEnum):
    """Where one logical request of an interview was answered."""

    TEMPLATE = "template"
    CACHE = "cache"
    DEDUPLICATED = "deduplicated"
    PROVIDER = "provider"
    DEGRADED = "degraded"
    FAILED = "failed"
    DEFERRED = "deferred"  # a result made ahead, between booking and interview, ready in time
    BANK = "bank"  # a variant from a bank written once per role


class ErrorKind(StrEnum):
    """Kinds of provider-side failure a request can meet."""

    RATE_LIMITED = "429"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    """The connection was refused, reset or closed before the answer ended (live mode)."""
    MALFORMED = "malformed"
    """The answer broke the protocol: invalid JSON, a malformed or truncated event stream (live mode)."""
    CLIENT_ERROR = "4xx"
    """The endpoint refused the request itself (bad key, unknown model, too long); a retry cannot help."""


class Measure(StrEnum):
    """What a limit counts."""

    REQUESTS = "requests"
    TOKENS = "tokens"  # input + output tokens of a request
    INPUT_TOKENS = "input_tokens"  # prompt tokens only (Gemini's TPM, Anthropic's ITPM)
    OUTPUT_TOKENS = "output_tokens"  # completion tokens only (Anthropic's OTPM), reserved as max_tokens
    NEURONS = "neurons"  # Cloudflare Workers AI's unit, priced per million input and output tokens
    USD = "usd"  # dollars of credit, spent at the model's list prices


class Period(StrEnum):
    """Over how long a quota window counts; its length is :attr:`length_s`.

    The value is also the name of the period's reset rule in ``providers.yaml``
    (``resets: {second: …, minute: …, hour: …, day: …, month: …}``); a one-time allowance never resets.
    """

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    ONCE = "once"

    @property
    def length_s(self) -> Seconds:
        """The window's length, s: a month is :data:`DAYS_PER_MONTH` days; ``inf`` for once."""
        return _PERIOD_S[self]


MONTH_S: Seconds = DAYS_PER_MONTH * DAY_S
_PERIOD_S: dict[Period, Seconds] = {
    Period.SECOND: 1.0,
    Period.MINUTE: MINUTE_S,
    Period.HOUR: HOUR_S,
    Period.DAY: DAY_S,
    Period.MONTH: MONTH_S,
    Period.ONCE: math.inf,
}


@dataclass(frozen=True, slots=True)
class LimitKind:
    """One kind of limit a provider states, with the words it is shown with."""

    field: str
    """Its field in ``providers.yaml`` (``ModelSpec.limits``) and the name of its quota window."""
    measure: Measure
    """What it counts."""
    period: Period | None
    """The window it counts over; None: not a window (requests in flight, or one request's tokens).
    ``credit_usd`` is one-time here; ``credit_renews: monthly`` makes it monthly (``Limits.stated``)."""
    unit: str
    """Its unit in words, for prose, axes and tables of results (``requests/min``)."""
    short: str
    """The same, compact, after a number (``15 req/min``)."""
    tag: str
    """A tag of at most four characters for a heatmap cell (``rpm``)."""


CONCURRENT_REQUESTS = "concurrent_requests"
"""The field of the concurrency limit: requests in flight at once, freed when a response ends."""

LIMIT_KINDS: tuple[LimitKind, ...] = (
    LimitKind("rps", Measure.REQUESTS, Period.SECOND, "requests/s", "req/s", "rps"),
    LimitKind("rpm", Measure.REQUESTS, Period.MINUTE, "requests/min", "req/min", "rpm"),
    LimitKind("rph", Measure.REQUESTS, Period.HOUR, "requests/hour", "req/hour", "rph"),
    LimitKind("rpd", Measure.REQUESTS, Period.DAY, "requests/day", "req/day", "rpd"),
    LimitKind("requests_per_month", Measure.REQUESTS, Period.MONTH, "requests/month", "req/month", "rpmo"),
    LimitKind("tpm", Measure.TOKENS, Period.MINUTE, "tokens/min", "tokens/min", "tpm"),
    LimitKind("input_tpm", Measure.INPUT_TOKENS, Period.MINUTE, "input tokens/min", "input tokens/min", "itpm"),
    LimitKind("output_tpm", Measure.OUTPUT_TOKENS, Period.MINUTE, "output tokens/min", "output tokens/min", "otpm"),
    LimitKind("tokens_per_hour", Measure.TOKENS, Period.HOUR, "tokens/hour", "tokens/hour", "tph"),
    LimitKind("tpd", Measure.TOKENS, Period.DAY, "tokens/day", "tokens/day", "tpd"),
    LimitKind("input_tpd", Measure.INPUT_TOKENS, Period.DAY, "input tokens/day", "input tokens/day", "itpd"),
    LimitKind("tokens_per_month", Measure.TOKENS, Period.MONTH, "tokens/month", "tokens/month", "tpmo"),
    LimitKind("neurons_per_day", Measure.NEURONS, Period.DAY, "neurons/day", "neurons/day", "neur"),
    LimitKind("credit_usd", Measure.USD, Period.ONCE, "USD credit", "credit", "$"),
    LimitKind(CONCURRENT_REQUESTS, Measure.REQUESTS, None, "concurrent", "in flight", "conc"),
    LimitKind(
        "max_input_tokens_per_request",
        Measure.TOKENS,
        None,
        "input tokens/request max",
        "input tokens/request max",
        "inmx",
    ),
    LimitKind(
        "max_output_tokens_per_request",
        Measure.TOKENS,
        None,
        "output tokens/request max",
        "output tokens/request max",
        "oumx",
    ),
)
"""Every limit a model may state, in the order of ``providers.yaml``'s ``limits`` fields (the
order of a destination's quota windows). The windows first: per second, minute, hour, day and
month, requests then tokens (all tokens, then input-only, then output-only), then neurons and
credit; then the bounds that are not windows."""

LIMIT_KIND: dict[str, LimitKind] = {kind.field: kind for kind in LIMIT_KINDS}
""":data:`LIMIT_KINDS` by field name."""


def limit_unit(name: str) -> str:
    """How the window or limit called ``name`` reads (``tpd`` → ``tokens/day``); unknown names as is."""
    kind = LIMIT_KIND.get(name)
    return name if kind is None else kind.unit


def duration_text(seconds: float) -> str:
    """A duration as people read it, the same wherever it is shown: two decimals under 10 s
    (``0.84 s``), one under 100 s (``31.8 s``), minutes under 100 min (``13.9 min``), hours beyond
    (``2.3 h``); ``–`` for NaN (not modelled)."""
    if math.isnan(seconds):
        return "–"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 100:
        return f"{seconds:.1f} s"
    if seconds < 100 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"
