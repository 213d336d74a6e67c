"""Live mode: the policy core on the wall clock, against real endpoints and shared state.

``redis_ledger`` keeps a destination's quota ledger in Redis, shared by every router process
(one atomic Lua script per admission, Redis's clock for window edges, a loss policy for when
Redis goes away); ``redis_cache`` keeps the response cache there; ``redis_server`` starts a
private ``redis-server`` for tests, benchmarks and multi-router runs. The Lua scripts are
package data under ``lua/``.
"""

__all__ = ["redis_cache", "redis_ledger", "redis_server"]
