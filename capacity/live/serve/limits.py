"""Rate-limit headers for the service's clients: the model group's allowance, what is left, when whole.

Clients of OpenAI and Groq back off on ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``
(per minute, unsuffixed) and — Cerebras's form, which :mod:`capacity.live.headers` writes — the
same with ``-day`` for the daily windows. ``capacity serve`` sends them on every answer, 200 and
429 alike, for the model group as a whole: what the group can take is the sum over its
destinations and their accounts, so

* ``limit`` is the sum of each account's limit of that window;
* ``remaining`` the sum of what is left of each (floored at 0);
* ``reset`` the time until every one of them is whole again (Go duration, wall time).

A header sums the destinations that state that window (the model's own limit, per account); a
destination stating none is bounded by other limits (Mistral's per-second requests, a credit,
an account-wide allowance) and is left out of it; a window no destination states is not sent.

Where the counts come from: the in-memory ledger's own windows (exact: it is what admits); with
the Redis ledger, each account's figures as its provider last reported them in its own
rate-limit headers (the provider counts every instance's requests), a figure whose reset has
passed read as whole again, an account not yet heard from as whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from capacity.live.headers import format_duration, ratelimit_header
from capacity.live.ratelimits import RateLimitSnapshot
from capacity.policy.router import Destination
from capacity.units import LIMIT_KINDS, Measure, Period

__all__ = ["REPORTED", "GroupLimits"]

REPORTED: tuple[tuple[Measure, Period], ...] = (
    (Measure.REQUESTS, Period.MINUTE),
    (Measure.TOKENS, Period.MINUTE),
    (Measure.REQUESTS, Period.DAY),
    (Measure.TOKENS, Period.DAY),
)
"""The windows the headers describe: requests and tokens, per minute and per day."""

_FIELD = {(k.measure.value, k.period.value): k.field for k in LIMIT_KINDS if k.period is not None}


@dataclass
class _Heard:
    """An account's window as its provider last reported it, at run time ``at`` (s)."""

    remaining: float
    full_at: float


class GroupLimits:
    """The rate-limit headers of a model group's ``destinations``.

    ``shared`` is whether the ledger is Redis's: the figures then come from the providers'
    reports (:meth:`heard`), else from the in-memory windows. Run time runs ``time_scale`` run
    seconds per wall second; resets are written in wall time.
    """

    def __init__(self, destinations: Sequence[Destination], shared: bool, time_scale: float = 1.0) -> None:
        self.destinations = list(destinations)
        self.shared = shared
        self.time_scale = time_scale
        self._heard: dict[tuple[int, int, str], _Heard] = {}

    def heard(self, destination: int, account: int, snapshot: RateLimitSnapshot, now: float) -> None:
        """Keep what a provider said of an account's windows in an answer at run time ``now`` (s)."""
        for reading in snapshot.readings:
            field = _FIELD.get((reading.measure, reading.period))
            if field is None or reading.remaining is None:
                continue
            full_at = now + reading.reset_s * self.time_scale if reading.reset_s is not None else math.inf
            self._heard[(destination, account, field)] = _Heard(reading.remaining, full_at)

    def headers(self, now: float) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers of the group at run time ``now`` (s)."""
        out: dict[str, str] = {}
        for measure, period in REPORTED:
            field = _FIELD[(measure.value, period.value)]
            limit = remaining = 0.0
            full_at = now
            stated = False
            for dest in self.destinations:
                if dest.quota is None:
                    continue
                for k, account in enumerate(dest.quota.accounts):
                    window = next((w for w in account.windows[: dest.quota.own_windows] if w.name == field), None)
                    if window is None:
                        continue
                    stated = True
                    limit += window.limit
                    if self.shared:
                        heard = self._heard.get((dest.index, k, field))
                        if heard is None or heard.full_at <= now:
                            remaining += window.limit
                        else:
                            remaining += min(window.limit, heard.remaining)
                            full_at = max(full_at, heard.full_at)
                    else:
                        used = window.used(now)
                        remaining += max(0.0, window.limit - used)
                        if used > 0:
                            full_at = max(full_at, window.free_at(now, window.limit))
            if not stated:
                continue
            name = measure.value
            out[ratelimit_header("limit", name, period.value)] = str(math.floor(limit + 1e-9))
            out[ratelimit_header("remaining", name, period.value)] = str(math.floor(remaining + 1e-9))
            if math.isfinite(full_at):
                out[ratelimit_header("reset", name, period.value)] = format_duration((full_at - now) / self.time_scale)
        return out
