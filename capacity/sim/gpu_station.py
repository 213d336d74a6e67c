"""A self-hosted GPU pool as a simulation station.

Each server of the pool is a clock-injected continuous-batching model from
:mod:`capacity.gpu` (it knows the time of its next state change and advances analytically up
to any time it is given). The station keeps one timer on the simulation's
:class:`~capacity.sim.clock.Clock` per server, at that server's next state change. Which
server takes a request is the policy core's choice (the conversation's server within a load
bound, else the shortest queue: :class:`~capacity.policy.replicas.ReplicaSet`); the station
tells the replica set of each completion at the instant it collects it.
"""

from __future__ import annotations

import math

from mypy_extensions import mypyc_attr

from capacity.gpu.server import BatchingServer, Completion
from capacity.policy.replicas import ReplicaSet
from capacity.sim.clock import Clock, Event


@mypyc_attr(allow_interpreted_subclasses=True)  # tests watch its submissions from a subclass
class GpuStation:
    """The servers of one pool, driven by the simulation's clock."""

    def __init__(self, env: Clock, servers: list[BatchingServer], replicas: ReplicaSet) -> None:
        if len(servers) != len(replicas):
            raise ValueError(f"{len(servers)} servers but {len(replicas)} replicas")
        self.env = env
        self.servers = servers
        self.replicas = replicas
        self.pending: dict[int, tuple[int, Event]] = {}
        self._next_id = 0
        self._timer_at = [math.inf] * len(servers)
        self._version = [0] * len(servers)

    def submit(self, server: int, prompt_tokens: int, output_tokens: int, conversation: int | None = None) -> Event:
        """Send one request of ``conversation`` (an interview; its earlier turns' KV blocks may
        still be cached there) to ``server``; the event's value is its :class:`Completion`."""
        request_id = self._next_id
        self._next_id += 1
        event = self.env.event()
        self.pending[request_id] = (server, event)
        self.servers[server].submit(self.env.now, request_id, prompt_tokens, output_tokens, conversation)
        self._collect(server)
        self._reschedule(server)
        return event

    def _collect(self, k: int) -> None:
        completions: list[Completion] = self.servers[k].advance(self.env.now)
        for done in completions:
            server, event = self.pending.pop(done.request_id)
            self.replicas.completed(server)
            event.succeed(done)

    def _reschedule(self, k: int) -> None:
        at = self.servers[k].next_event_time()
        if at == self._timer_at[k]:
            return
        self._version[k] += 1
        self._timer_at[k] = at
        if math.isinf(at):
            return
        version = self._version[k]
        self.env.call_later(max(0.0, at - self.env.now), lambda: self._wake(k, version))

    def _wake(self, k: int, version: int) -> None:
        if version != self._version[k]:
            return  # superseded
        self._timer_at[k] = math.inf
        self._collect(k)
        self._reschedule(k)

    @property
    def busy(self) -> int:
        """Requests queued or running over the pool."""
        return sum(s.queued + s.running for s in self.servers)
