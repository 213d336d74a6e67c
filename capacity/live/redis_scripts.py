"""The Redis side of the quota ledger: the Lua scripts, the client, and each window's script form.

:mod:`capacity.live.redis_ledger` keeps a destination's quota windows in Redis through the scripts
under ``lua/``; this module loads them (``lua/common.lua`` in front of each ledger script), makes
the asyncio client with the timeouts an outage is noticed by, and describes each window as the
scripts read it (:class:`WindowForm`).
"""

from __future__ import annotations

import importlib.resources
import math
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from capacity.errors import ModelError
from capacity.policy.resets import ResetSchedule
from capacity.policy.windows import FixedWindow, QuotaWindow, RollingWindow, TokenBucket
from capacity.units import Measure

__all__ = ["MEASURES", "REDIS_DOWN", "WindowForm", "connect", "lua"]

REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
"""The errors that mean Redis is unreachable (not a bug in a script)."""

MEASURES = (
    Measure.REQUESTS,
    Measure.TOKENS,
    Measure.NEURONS,
    Measure.USD,
    Measure.INPUT_TOKENS,
    Measure.OUTPUT_TOKENS,
)
"""The scripts' measure codes 1-6, in this order (``MEASURES`` in ``lua/common.lua``)."""

def lua(name: str) -> str:
    """The text of ``lua/<name>.lua``, with ``lua/common.lua`` in front for the ledger scripts."""
    folder = importlib.resources.files("capacity.live").joinpath("lua")
    text = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    if name in ("admit", "recover", "settle"):
        text = folder.joinpath("common.lua").read_text(encoding="utf-8") + "\n" + text
    return text


def connect(
    url: str, *, timeout_s: float = 0.5, max_connections: int = 64, pool_wait_s: float = 10.0
) -> aioredis.Redis:
    """An asyncio Redis client for the ledger and cache: ``timeout_s`` to connect and per reply,
    one immediate retry (a pooled connection left over from before a restart fails once), no
    backoff — so an outage is noticed in about ``timeout_s``, not after seconds of retries.

    At most ``max_connections`` connections; a request finding them all busy waits for one (up
    to ``pool_wait_s``) rather than failing — under load a router has more admissions in flight
    than connections, and a full pool is not a lost Redis. Raises ``ValueError`` for a URL that
    is not ``redis://``, ``rediss://`` or ``unix://``."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_wait_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
    )
    client: aioredis.Redis = aioredis.Redis.from_pool(pool)
    return client


def arg(x: float) -> str:
    return repr(float(x))  # shortest exact decimal: the script reads back the very same double


def text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)



class WindowForm:
    """One quota window as the scripts see it: kind, measure code, limit and three parameters.

    Rolling: (length s, 0, 0). Token bucket: (refill rate per s, length s, 0). Fixed: the
    period containing a time and the next one (start, end, next end), from the window's
    reset schedule, remembered until the time leaves the period.
    """

    __slots__ = ("_period", "kind", "measure", "name", "params", "pool", "schedule", "window")

    def __init__(self, window: QuotaWindow, pool: bool = False) -> None:
        self.window = window  # its limit is read at each call: dated changes set it
        self.pool = pool  # an account-wide allowance, shared with the provider's other models
        self.name = window.name
        self.measure = MEASURES.index(window.measure) + 1
        self._period = (math.inf, -math.inf, -math.inf)
        self.schedule: ResetSchedule | None = None
        if isinstance(window, RollingWindow):
            self.kind, self.params = "R", (window.length_s, 0.0, 0.0)
        elif isinstance(window, TokenBucket):
            self.kind, self.params = "B", (window.rate, window.length_s, 0.0)
        elif isinstance(window, FixedWindow):
            self.kind, self.params, self.schedule = "F", (0.0, 0.0, 0.0), window.schedule
        else:
            raise ModelError(f"window {window.name!r} ({type(window).__name__}) has no Redis form")

    def periods(self, now: float) -> tuple[float, float, float]:
        """(start, end, next end) of the fixed period containing ``now`` and of the next, run s."""
        start, end, after = self._period
        if not start <= now < end and self.schedule is not None:
            start, end = self.schedule.bounds(now)
            after = self.schedule.bounds(end)[1] if math.isfinite(end) else math.inf
            self._period = (start, end, after)
        return self._period

    def args(self, now: float, charged_in: float | None = None) -> list[str]:
        """The six script arguments at ``now``; for a settlement, a fixed window's period start
        of the admission (``charged_in``) instead of its periods."""
        if self.kind == "F":
            params = (charged_in, 0.0, 0.0) if charged_in is not None else self.periods(now)
        elif self.kind == "B":
            bucket = self.window
            assert isinstance(bucket, TokenBucket)
            params = (bucket.rate, bucket.length_s, 0.0)  # a dated limit change moves the rate
        else:
            params = self.params
        kind = self.kind.lower() if self.pool else self.kind
        return [kind, str(self.measure), arg(self.window.limit), *(arg(p) for p in params)]
