"""In-flight de-duplication across ``capacity serve`` instances sharing Redis.

Within one instance an identical request already on its way is waited for in memory
(:class:`~capacity.policy.dedup.InFlight`). Across instances, the first to ask *leads*: it takes
a lock key (``SET NX`` with a lease, :data:`LEASE_S`) and, when its answer comes, writes it to a
result key (kept :data:`RESULT_TTL_S`) and drops the lock. An instance that finds the lock taken
*follows*: it reads the result key and the lock together every :data:`POLL_S` (one ``MGET``
round trip, both keys under one hash tag) until the answer is there — answered, de-duplicated —
or the lock is gone without one (the leader failed, was refused or abandoned), or its lease has
run out: then the follower makes its own call. A follower never waits longer than the lease.

Only an answer is shared: a failure tells another instance nothing it must repeat, and its own
call may fare better. A Redis out of reach makes every instance a leader (no de-duplication, no
wait). Keys: ``{namespace}:flight:{{KEY}}:lock`` and ``...:result``, where ``KEY`` is the
request's cache key (:meth:`ClientRequest.cache_key
<capacity.live.serve.outcomes.ClientRequest.cache_key>`, a SHA-256 of the group, messages and
``max_tokens``).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import redis.asyncio as aioredis

from capacity.live.chat import ChatOutcome
from capacity.live.redis_ledger import REDIS_DOWN
from capacity.live.serve.outcomes import decoded, encoded

__all__ = ["LEASE_S", "POLL_S", "RESULT_TTL_S", "SharedFlights"]

LEASE_S = 30.0
"""Longest a leader holds the lock, wall s: a follower waits at most this long (a leader that
died frees it then)."""

RESULT_TTL_S = 10.0
"""How long a leader's answer stays for its followers, wall s (later askers find the response
cache)."""

POLL_S = 0.01
"""Wall seconds between a follower's reads of the result."""

# drop the lock only if it is still this leader's (its lease may have run out and another leads)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""


class SharedFlights:
    """Leaders and followers of identical requests across instances (see the module docstring).

    Args:
        client: an asyncio Redis client shared with the ledger.
        namespace: the instances' namespace (the same on every instance).
        lease_s: the lock's lease and a follower's longest wait, wall s.
        poll_s: wall seconds between a follower's reads.
    """

    def __init__(
        self, client: aioredis.Redis, namespace: str, *, lease_s: float = LEASE_S, poll_s: float = POLL_S
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._token = secrets.token_hex(8)  # this instance's mark on the locks it holds
        self._release = client.register_script(_RELEASE)

    def _keys(self, key: str) -> tuple[str, str]:
        base = f"{self.namespace}:flight:{{{key}}}"
        return f"{base}:lock", f"{base}:result"

    async def lead(self, key: str) -> bool:
        """Take the lead for ``key``: True if no other instance is asking (or Redis is out of
        reach), False if one is (follow it with :meth:`follow`)."""
        lock, _ = self._keys(key)
        try:
            taken = await self.client.set(lock, self._token, nx=True, px=round(self.lease_s * 1000))
        except REDIS_DOWN:
            return True
        return bool(taken)

    async def follow(self, key: str) -> ChatOutcome | None:
        """The leader's answer to ``key`` once it comes; None if the leader let go without one
        (it failed or was abandoned), its lease ran out, or Redis went away: call yourself."""
        lock, result = self._keys(key)
        deadline = time.monotonic() + self.lease_s
        while True:
            try:
                payload, held = await self.client.mget([result, lock])
            except REDIS_DOWN:
                return None
            if payload is not None:
                return decoded(payload if isinstance(payload, bytes) else str(payload).encode())
            if held is None or time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self.poll_s)

    async def land(self, key: str, answer: ChatOutcome | None) -> None:
        """The lead request for ``key`` has ended: leave its ``answer`` for the followers (None:
        it failed or was abandoned — they call themselves) and let go of the lock."""
        lock, result = self._keys(key)
        try:
            if answer is not None:
                await self.client.set(result, encoded(answer), px=round(RESULT_TTL_S * 1000))
            await self._release(keys=[lock], args=[self._token])
        except REDIS_DOWN:
            return
