"""Turns waiting for quota: one FIFO queue, one timer.

When the router finds no destination with room, the turn joins this queue (a turn arriving
while others wait queues behind them: first come, first served). The queue keeps a single
SimPy timer for the earliest moment its head may be admitted — the earliest time any quota
window frees, or the head's deadline — rather than waking every waiting turn: at each wake it
admits heads in order until one does not fit, expires heads past their deadline, and sets
the timer again. A freed concurrency slot or refunded tokens kick it at once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import simpy

from capacity.policy.router import Routed, Router


@dataclass(slots=True)
class Waiter:
    """A turn in the queue."""

    event: simpy.Event
    tokens_in: int
    max_output_tokens: int
    deadline: float


class QuotaQueue:
    """FIFO of turns waiting for quota, served by one timer."""

    def __init__(self, env: simpy.Environment, router: Router, on_length: Any = None) -> None:
        self.env = env
        self.router = router
        self.waiting: deque[Waiter] = deque()
        self._timer_at = math.inf
        self._version = 0
        self._on_length = on_length

    def __len__(self) -> int:
        return len(self.waiting)

    def join(self, tokens_in: int, max_output_tokens: int, deadline: float, first_free: float) -> simpy.Event:
        """Queue a turn; the event's value is a :class:`Routed` or None (deadline passed)."""
        event = self.env.event()
        self.waiting.append(Waiter(event, tokens_in, max_output_tokens, deadline))
        if len(self.waiting) == 1:
            self._schedule(min(first_free, deadline))
        self._report()
        return event

    def kick(self) -> None:
        """Something freed (a slot, refunded tokens): look at the head now."""
        if self.waiting:
            self._schedule(self.env.now)

    def _schedule(self, at: float) -> None:
        at = max(at, self.env.now)
        if at >= self._timer_at:
            return
        self._timer_at = at
        self._version += 1
        version = self._version
        timer = self.env.timeout(at - self.env.now)
        timer.callbacks.append(lambda _e: self._wake(version))

    def _wake(self, version: int) -> None:
        if version != self._version:
            return  # superseded by an earlier timer
        self._timer_at = math.inf
        now = self.env.now
        while self.waiting:
            head = self.waiting[0]
            if head.deadline <= now:
                self.waiting.popleft()
                head.event.succeed(None)
                continue
            routed = self.router.route(now, head.tokens_in, head.max_output_tokens)
            if isinstance(routed, Routed):
                self.waiting.popleft()
                head.event.succeed(routed)
                continue
            self._schedule(min(routed, head.deadline))
            break
        self._report()

    def _report(self) -> None:
        if self._on_length is not None:
            self._on_length(self.env.now, len(self.waiting))
