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

Where the counts come from: the ledger that admits. The in-memory ledger's own windows (one
instance); with the Redis ledger, the windows Redis counts for every instance sharing it
(:func:`~capacity.live.redis_usage.read_use`, read for each answer), so two instances answering
at one instant send the same figures. When that read fails (Redis out of reach) the headers
give the limits alone: what is left is then unknown, and is not guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from capacity.live.headers import format_duration, ratelimit_header
from capacity.live.redis_usage import WindowUse
from capacity.policy.destination import Destination
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

SharedUse = Mapping[int, Sequence[Sequence[WindowUse]]]
"""Per destination (by index), per account, each window's use as Redis counts it."""


class GroupLimits:
    """The rate-limit headers of a model group's ``destinations``.

    ``shared`` is whether the ledger is Redis's: the figures then come from its counts (the
    ``use`` given to :meth:`headers`), else from the in-memory windows. Run time runs
    ``time_scale`` run seconds per wall second; resets are written in wall time.
    """

    def __init__(self, destinations: Sequence[Destination], shared: bool, time_scale: float = 1.0) -> None:
        self.destinations = list(destinations)
        self.shared = shared
        self.time_scale = time_scale

    def headers(self, now: float, use: SharedUse | None = None) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers of the group at run time ``now`` (s); with the Redis
        ledger, ``use`` is what Redis counts (None: unknown, and only the limits are sent)."""
        out: dict[str, str] = {}
        for measure, period in REPORTED:
            field = _FIELD[(measure.value, period.value)]
            limit = remaining = 0.0
            full_at = now
            stated, known = False, True
            for dest in self.destinations:
                if dest.quota is None:
                    continue
                dest.quota.limits_in_force(now)
                for k, account in enumerate(dest.quota.accounts):
                    window = next((w for w in account.windows[: dest.quota.own_windows] if w.name == field), None)
                    if window is None:
                        continue
                    stated = True
                    limit += window.limit
                    if self.shared:
                        if use is None:
                            known = False
                            continue
                        counted = next(u for u in use[dest.index][k] if u.name == field and not u.pooled)
                        remaining += counted.remaining
                        if counted.used > 0:
                            full_at = max(full_at, counted.whole_at)
                    else:
                        used = window.used(now)
                        remaining += max(0.0, window.limit - used)
                        if used > 0:
                            full_at = max(full_at, window.free_at(now, window.limit))
            if not stated:
                continue
            name = measure.value
            out[ratelimit_header("limit", name, period.value)] = str(math.floor(limit + 1e-9))
            if not known:
                continue
            out[ratelimit_header("remaining", name, period.value)] = str(math.floor(remaining + 1e-9))
            if math.isfinite(full_at):
                out[ratelimit_header("reset", name, period.value)] = format_duration((full_at - now) / self.time_scale)
        return out
