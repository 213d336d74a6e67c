"""Live mode: the policy core on the wall clock, against real endpoints and shared state.

This room holds the I/O: HTTP (httpx, Starlette, uvicorn) and Redis live here and nowhere
else.

* :mod:`~capacity.live.runtime` — the asyncio driver of the policy core;
* :mod:`~capacity.live.load` — the load driver that replays a scenario's interviews, with
  :mod:`~capacity.live.journal`, its crash-safe journal;
* :mod:`~capacity.live.performer` — where each call goes (endpoints per account or GPU
  server) and the call performer over :mod:`~capacity.live.transport`, the one HTTP seam
  (httpx, streaming, pooled connections; its data in :mod:`~capacity.live.chat`);
* :mod:`~capacity.live.ratelimits` — what providers say about their quotas (rate-limit
  headers, ``Retry-After``, burst or exhausted 429s);
* :mod:`capacity.live.emulator` — the quota-faithful provider emulator (``capacity emulate``),
  with :mod:`~capacity.live.headers`, the rate-limit headers it writes;
* :mod:`~capacity.live.redis_ledger` — a destination's quota ledger in Redis, shared by every
  router process (one atomic Lua script per admission, Redis's clock for window edges, a loss
  policy for when Redis goes away); :mod:`~capacity.live.redis_usage` what it has counted
  (read-only); :mod:`~capacity.live.redis_cache` the response cache there;
  :mod:`~capacity.live.redis_server` a private ``redis-server`` for tests, benchmarks and
  multi-router runs. The Lua scripts are package data under ``lua/``;
* :mod:`~capacity.live.shared` — the router's admissions and settlements on those Redis
  ledgers; :mod:`~capacity.live.fleet` — N router processes carrying one run on them
  (``capacity live --routers N``), their journals merged into one result.
"""

__all__ = [
    "chat",
    "emulator",
    "fleet",
    "headers",
    "journal",
    "load",
    "performer",
    "ratelimits",
    "redis_cache",
    "redis_ledger",
    "redis_server",
    "redis_usage",
    "runtime",
    "shared",
    "transport",
]
