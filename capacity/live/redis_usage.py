"""What a Redis quota ledger has counted: each window's use now and when it is whole again.

:class:`~capacity.live.redis_ledger.RedisQuotaLedger` admits and settles; the service built on
it also has to *say* how much is left — ``capacity serve``'s ``x-ratelimit-*`` headers, its
quota-use gauges and its dashboard — and with several instances sharing one Redis only Redis
knows. :func:`read_use` reads a destination's windows for every account in one round trip
(``lua/usage.lua``), changing nothing: the arithmetic is the admission script's, applied to a
copy (a rolling log's entries older than the window left out, an ended fixed period read as
empty, a token bucket refilled to now), so every instance reading at one instant reads the same
figures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from capacity.live.redis_ledger import RedisQuotaLedger, lua
from capacity.units import Measure

__all__ = ["WindowUse", "read_use"]



@functools.cache
def _script_text() -> str:
    return lua("common") + "\n" + lua("usage")


@dataclass(frozen=True)
class WindowUse:
    """One quota window of one account as Redis counts it.

    ``name`` is the window's field (``rpm``, ``tpd``, …), ``measure`` what it counts, ``limit``
    its allowance and ``used`` what is counted in it now (requests, tokens, neurons or dollars);
    ``whole_at`` the run time its whole allowance is free again, s (now when nothing is used);
    ``pooled`` marks an account-wide allowance shared by the provider's models.
    """

    name: str
    measure: Measure
    limit: float
    used: float
    whole_at: float
    pooled: bool

    @property
    def remaining(self) -> float:
        """What is left of the allowance now (≥ 0)."""
        return max(0.0, self.limit - self.used)


async def read_use(ledger: RedisQuotaLedger) -> tuple[float, list[list[WindowUse]]]:
    """Run time now on Redis's clock (or the ledger's injected clock), s, and per account (in
    order) the use of each of ``ledger``'s windows (its own, then the account-wide allowances).

    Raises the Redis client's errors (``capacity.live.redis_ledger.REDIS_DOWN`` when Redis is
    out of reach): the caller decides what an unknown count means.
    """
    script = ledger.client.register_script(_script_text())
    injected = "" if ledger.clock is None else repr(float(ledger.clock()))
    args = [injected, repr(ledger.run_start.timestamp()), str(ledger.accounts), str(len(ledger.forms))]
    estimate = ledger.now()
    for form in ledger.forms:
        args += form.args(estimate)
    reply = await script(keys=ledger.keys, args=args)
    numbers = [float(x) for x in reply]
    now, figures = numbers[0], iter(numbers[1:])
    accounts = []
    for _ in range(ledger.accounts):
        accounts.append([
            WindowUse(f.name, f.window.measure, f.window.limit, next(figures), next(figures), f.pool)
            for f in ledger.forms
        ])
    return now, accounts
