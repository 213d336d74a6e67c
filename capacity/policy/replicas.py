"""Which server of a pool takes a request: join the shortest queue.

A self-hosted GPU pool (or, in live mode, a set of OpenAI-compatible replicas behind one
destination) has several servers. A request goes to the server with the fewest requests
outstanding — sent to it and not yet completed, queued or running — the first such server
on ties, as a least-outstanding-requests load balancer in front of vLLM replicas does. The
driver reports each dispatch and each completion at the moment it happens; the pool keeps
the counts.
"""

from __future__ import annotations

__all__ = ["ReplicaSet"]


class ReplicaSet:
    """Outstanding requests per server of one pool, and the join-the-shortest-queue choice."""

    __slots__ = ("outstanding",)

    def __init__(self, servers: int) -> None:
        if servers < 1:
            raise ValueError(f"a pool needs at least one server, not {servers}")
        self.outstanding = [0] * servers

    def choose(self) -> int:
        """The server with the fewest outstanding requests (the lowest index on ties)."""
        counts = self.outstanding
        return min(range(len(counts)), key=counts.__getitem__)

    def dispatched(self, server: int) -> None:
        """A request was sent to ``server``."""
        self.outstanding[server] += 1

    def completed(self, server: int) -> None:
        """A request on ``server`` completed (or was abandoned)."""
        self.outstanding[server] -= 1

    def __len__(self) -> int:
        return len(self.outstanding)
