"""A third driver of the turn pipeline, for tests: a float clock and a heap, no SimPy.

It proves the pipeline is sans-I/O (it runs without the simulator) and lets a test script
the providers: ``service(call, now)`` says how the call ends — ``(failure, ttft_s,
latency_s)`` — so a test can make the second call fail, a provider answer in exactly 2 s, and
check every decision of the pipeline against a hand calculation.

Imported by the policy tests as ``floatclock`` (pytest puts this folder on the path).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from capacity.policy.actions import Admit, ArmTimer, Call, Park, Resolve, Settle, Sleep
from capacity.policy.build import Core
from capacity.policy.observer import PolicyObserver
from capacity.policy.pipeline import Pipeline
from capacity.units import Outcome, Served

Service = Callable[[Call, float], tuple[str | None, float, float]]


def instant(call: Call, now: float) -> tuple[str | None, float, float]:
    """Every call answers at once."""
    return None, 0.0, 0.0


class FloatClock:
    """Runs sessions of a :class:`Core` on a float clock; ``service`` decides each call."""

    def __init__(self, core: Core, service: Service = instant) -> None:
        self.core = core
        self.service = service
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.calls: list[tuple[float, Call]] = []  # (sent at, call)
        self.sessions_done = 0

    def at(self, t: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` at run time ``t`` (FIFO among equal times)."""
        heapq.heappush(self._heap, (max(t, self.now), next(self._seq), fn))

    def start(self, t: float, candidate: int, interviews: int = 1) -> None:
        """Start a session of ``candidate`` at ``t``."""
        self.at(t, lambda: self._step(self.core.pipeline.session(self.now, candidate, interviews), None))

    def run(self, until: float = float("inf")) -> None:
        """Process events up to ``until``."""
        while self._heap and self._heap[0][0] <= until:
            self.now, _, fn = heapq.heappop(self._heap)
            fn()

    def _step(self, pipeline: Pipeline, first: float | None) -> None:
        try:
            action = next(pipeline) if first is None else pipeline.send(first)
            while True:
                if isinstance(action, Sleep):
                    self.at(self.now + action.seconds, lambda: self._step(pipeline, self.now))
                    return
                if isinstance(action, Call):
                    self._call(pipeline, action)
                    return
                if isinstance(action, Park):
                    action.ticket.handle = pipeline
                    return
                if isinstance(action, Resolve):
                    for ticket in action.tickets:
                        waiting = ticket.handle
                        self.at(self.now, lambda w=waiting: self._step(w, self.now))
                elif isinstance(action, Admit):
                    action.answer = self.core.router.route(
                        self.now, action.tokens_in, action.max_output_tokens, action.prefix
                    )
                elif isinstance(action, Settle):
                    self.core.router.settle(
                        self.now, action.routed, action.tokens_in, action.tokens_out, action.latency_s
                    )
                else:
                    self._arm(action)
                action = pipeline.send(self.now)
        except StopIteration:
            self.sessions_done += 1

    def _call(self, pipeline: Pipeline, call: Call) -> None:
        self.calls.append((self.now, call))
        failure, ttft, latency = self.service(call, self.now)
        call.failure, call.ttft_s, call.latency_s = failure, ttft, latency
        replicas = call.routed.destination.replicas

        def done() -> None:
            if replicas is not None:
                replicas.completed(call.server)
            self._step(pipeline, self.now)

        self.at(self.now + latency, done)

    def _arm(self, arm: ArmTimer) -> None:
        def fire() -> None:
            resolved, again = self.core.queue.on_timer(self.now, arm.version)
            for ticket in resolved:
                waiting = ticket.handle
                self.at(self.now, lambda w=waiting: self._step(w, self.now))
            if again is not None:
                self._arm(again)

        self.at(arm.at, fire)


class Spy(PolicyObserver):
    """An observer that keeps every event as a tuple, for assertions: each of the observer's
    methods is replaced below by one that appends (its name, its arguments)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def turn(
        self, needed_at: float, served: Served, latency_s: float, wait_s: float = 0.0, candidate_waits: bool = True
    ) -> None:
        """Keep a turn with every argument, defaults included."""
        self.events.append(("turn", needed_at, served, latency_s, wait_s, candidate_waits))

    def of(self, name: str) -> list[tuple[Any, ...]]:
        """The events called ``name``, their arguments after the name."""
        return [e[1:] for e in self.events if e[0] == name]

    def turns(self) -> list[tuple[float, Served, float, float]]:
        """(needed at, served, latency, wait) of every turn, s."""
        return [(e[0], e[1], e[2], e[3]) for e in self.of("turn")]

    def outcomes(self) -> list[Outcome]:
        """How each interview ended, in order."""
        return [e[1] for e in self.of("interview_ended")]


def _keeps(name: str) -> Callable[..., None]:
    def keep(self: Spy, *args: Any, **kwargs: Any) -> None:
        self.events.append((name, *args, *kwargs.values()))

    return keep


for _event in [name for name in vars(PolicyObserver) if not name.startswith("_") and name != "turn"]:
    setattr(Spy, _event, _keeps(_event))
