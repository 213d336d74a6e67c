"""Rate-limit headers of OpenAI-compatible APIs: names and the duration format.

OpenAI and Groq describe each limit with three headers per measure —
``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests`` and
``x-ratelimit-reset-requests`` (and the same for ``tokens``) — where *reset* is the time until
the limit is back to its full allowance, written as a Go ``time.Duration`` string:
``2m59.56s``, ``7.66s``, ``6m0s``, ``12ms`` (console.groq.com/docs/rate-limits; OpenAI's
rate-limit guide). On a 429, ``retry-after`` gives whole seconds to wait; OpenAI's clients
also read ``retry-after-ms`` (milliseconds) first when it is present.

OpenAI's unsuffixed headers describe the per-minute limits; for the longer ones this package
appends the period, as Cerebras does for its day limits (``x-ratelimit-limit-requests-day``):
``-hour``, ``-day``, ``-month``.
"""

from __future__ import annotations

import math
import re

__all__ = ["format_duration", "ratelimit_header"]

_UNITS_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")


def format_duration(seconds: float) -> str:
    """A Go-style duration for ``seconds`` ≥ 0, rounded *up* to the millisecond below one
    second (``12ms``) and to the hundredth of a second above (``2m59.56s``, ``1h0m0s``), so a
    client that waits that long finds the limit reset. Raises ``ValueError`` if negative or
    not finite."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be finite and ≥ 0, got {seconds}")
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000 - 1e-6))}ms"
    centis = math.ceil(seconds * 100 - 1e-6)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs = f"{rest / 100:.2f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def ratelimit_header(field: str, measure: str, period: str) -> str:
    """The header name for ``field`` (``limit``, ``remaining``, ``reset``) of a limit counting
    ``measure`` (``requests``, ``tokens``, ``input_tokens`` as ``input-tokens``, …) per ``period``
    (``minute`` gives OpenAI's unsuffixed name; ``second``, ``hour``, ``day``, ``month``, ``once``
    add a suffix)."""
    suffix = "" if period == "minute" else f"-{period}"
    return f"x-ratelimit-{field}-{measure.replace('_', '-')}{suffix}"
