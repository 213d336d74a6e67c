"""Which server of a pool takes a request: conversation affinity under a load bound, else the shortest queue.

A self-hosted GPU pool (or, in live mode, a set of OpenAI-compatible replicas behind one
destination) has several servers, each with its own prefix cache. An interview re-sends its
whole history every turn, so a turn is cheap only on the server that still holds the
conversation's KV blocks: the one that served its previous turn. Join-the-shortest-queue alone
scatters an interview's turns over the pool, and with ``n`` servers only about one turn in
``n`` lands where its prefix is.

So the choice is *sticky with a bound*. vLLM production-stack's session router keeps a
session on one engine (consistent hashing of its session id); SGLang's cache-aware router sends
a request to the worker holding its prefix unless the load is out of balance, then to the
least loaded; consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, SODA
2018; HAProxy's and Envoy's ``hash_balance_factor``) states the bound relative to the mean:

1. a request of a conversation seen before goes to the server that took its last request,
   unless that server is *overloaded*: it would then hold more than ``load_factor`` times the
   pool's mean of outstanding requests, ``outstanding + 1 > ⌈load_factor · (total + 1) / n⌉``
   (so no server ever exceeds the bound because of affinity);
2. otherwise — a new conversation, an overloaded server, or affinity off (``load_factor``
   None) — it goes to the server with the fewest requests outstanding (sent and not yet
   completed, queued or running), the lowest index on ties, as a least-outstanding-requests
   load balancer in front of vLLM replicas does; the conversation now belongs to that server.

The pool remembers the server of at most ``remembered`` conversations, forgetting the least
recently active first: a conversation idle that long has lost its prefix to eviction anyway.
The driver reports each dispatch and each completion at the moment it happens.
"""

from __future__ import annotations

import math
from collections import OrderedDict

__all__ = ["DEFAULT_LOAD_FACTOR", "ReplicaSet"]

DEFAULT_LOAD_FACTOR = 1.25
"""Affinity holds while a server has at most 25 % more outstanding requests than the pool's mean
(HAProxy's default ``hash-balance-factor`` of 125; Mirrokni et al. study 1 + ε for small ε)."""


class ReplicaSet:
    """Outstanding requests per server of one pool, the conversations' servers, and the choice.

    ``servers`` ≥ 1; ``load_factor`` ≥ 1 or None (no affinity: join the shortest queue);
    ``remembered`` ≥ 1 conversations. Raises ValueError otherwise.
    """

    __slots__ = ("_home", "affinity_kept", "affinity_moved", "load_factor", "outstanding", "remembered")

    def __init__(
        self, servers: int, load_factor: float | None = DEFAULT_LOAD_FACTOR, remembered: int = 65_536
    ) -> None:
        if servers < 1:
            raise ValueError(f"a pool needs at least one server, not {servers}")
        if load_factor is not None and load_factor < 1:
            raise ValueError(f"an affinity load factor below 1 would overload no server at all, not {load_factor}")
        if remembered < 1:
            raise ValueError(f"the pool must remember at least one conversation, not {remembered}")
        self.outstanding = [0] * servers
        self.load_factor = load_factor
        self.remembered = remembered
        self.affinity_kept = 0  # requests sent to their conversation's server
        self.affinity_moved = 0  # requests whose conversation's server was overloaded
        self._home: OrderedDict[int, int] = OrderedDict()  # conversation → server of its last request

    def shortest_queue(self) -> int:
        """The server with the fewest outstanding requests (the lowest index on ties)."""
        counts = self.outstanding
        best = 0
        for i in range(1, len(counts)):  # a loop, not min(key=...): a Python call per server when compiled
            if counts[i] < counts[best]:
                best = i
        return best

    def bound(self) -> int:
        """Most outstanding requests a server may hold after taking one more by affinity:
        ⌈load_factor · (total + 1) / servers⌉ (no bound without affinity)."""
        if self.load_factor is None:
            return 0
        total = 1
        for count in self.outstanding:  # a loop, not sum(): a compiled loop over a short list
            total += count
        return math.ceil(self.load_factor * total / len(self.outstanding) - 1e-9)

    def choose(self, conversation: int | None = None) -> int:
        """The server for the next request of ``conversation`` (None: a request of no conversation).

        Its last server while that one stays within :meth:`bound`, else the shortest queue.
        Choosing changes nothing: :meth:`dispatched` records where the request went.
        """
        if self.load_factor is not None and conversation is not None:
            home = self._home.get(conversation)
            if home is not None and self.outstanding[home] + 1 <= self.bound():
                return home
        return self.shortest_queue()

    def dispatched(self, server: int, conversation: int | None = None) -> None:
        """A request (of ``conversation``, if given) was sent to ``server``: its prefix will be cached there."""
        self.outstanding[server] += 1
        if conversation is None or self.load_factor is None:
            return
        home = self._home.pop(conversation, None)
        if home is not None:
            if home == server:
                self.affinity_kept += 1
            else:
                self.affinity_moved += 1
        self._home[conversation] = server
        if len(self._home) > self.remembered:
            self._home.popitem(last=False)

    def completed(self, server: int) -> None:
        """A request on ``server`` completed (or was abandoned)."""
        self.outstanding[server] -= 1

    def __len__(self) -> int:
        return len(self.outstanding)
