"""Units, shared enums and small constants.

Time inside the model is always seconds (``float``) since the start of the run; a run's
start is a UTC datetime in the scenario. Tokens are integers, money is US dollars.
"""

from __future__ import annotations

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


LIMIT_UNITS: dict[str, str] = {
    "rpm": "requests/min",
    "rph": "requests/hour",
    "rpd": "requests/day",
    "requests_per_month": "requests/month",
    "tpm": "tokens/min",
    "tokens_per_hour": "tokens/hour",
    "tpd": "tokens/day",
    "tokens_per_month": "tokens/month",
    "neurons_per_day": "neurons/day",
    "credit_usd": "USD credit",
    "concurrent_requests": "concurrent",
}
"""The unit of each quota window of providers.yaml, in words."""
