"""A self-hosted GPU pool as a simulation station.

Each server of the pool is a clock-injected continuous-batching model from
:mod:`capacity.gpu` (it knows the time of its next state change and advances analytically up
to any time it is given). The station keeps one SimPy timer per server, at that server's next
state change, and sends each request to the server with the fewest requests queued or
running (join the shortest queue, as a load balancer in front of vLLM replicas would).
"""

from __future__ import annotations

import math

import simpy

from capacity.gpu.server import BatchingServer, Completion


class GpuStation:
    """The servers of one pool, driven by the SimPy clock."""

    def __init__(self, env: simpy.Environment, servers: list[BatchingServer]) -> None:
        self.env = env
        self.servers = servers
        self.pending: dict[int, simpy.Event] = {}
        self._next_id = 0
        self._timer_at = [math.inf] * len(servers)
        self._version = [0] * len(servers)

    def submit(self, prompt_tokens: int, output_tokens: int) -> simpy.Event:
        """Send one request; the event's value is its :class:`Completion`."""
        k = min(range(len(self.servers)), key=lambda i: self.servers[i].queued + self.servers[i].running)
        request_id = self._next_id
        self._next_id += 1
        event = self.env.event()
        self.pending[request_id] = event
        self.servers[k].submit(self.env.now, request_id, prompt_tokens, output_tokens)
        self._collect(k)
        self._reschedule(k)
        return event

    def _collect(self, k: int) -> None:
        completions: list[Completion] = self.servers[k].advance(self.env.now)
        for done in completions:
            self.pending.pop(done.request_id).succeed(done)

    def _reschedule(self, k: int) -> None:
        at = self.servers[k].next_event_time()
        if at == self._timer_at[k]:
            return
        self._version[k] += 1
        self._timer_at[k] = at
        if math.isinf(at):
            return
        version = self._version[k]
        timer = self.env.timeout(max(0.0, at - self.env.now))
        timer.callbacks.append(lambda _e: self._wake(k, version))

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
