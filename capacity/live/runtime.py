"""The asyncio driver of the policy core: the same pipeline on the wall clock.

This is the live counterpart of :mod:`capacity.sim.model`. Each candidate's session is one
asyncio task that runs the core's session generator (:mod:`capacity.policy.pipeline`) and
turns each action it yields into asyncio:

* ``Sleep`` → ``asyncio.sleep`` (think time, backoff, the gap between interviews);
* ``Call`` → ``await perform(call)``: a :class:`CallPerformer` sends the request (over HTTP
  to an OpenAI-compatible endpoint in a live run; a fake in tests) and fills in the result;
* ``Park`` → an ``asyncio.Future`` that ``Resolve`` or the quota-wait queue's timer completes;
* ``ArmTimer`` → ``loop.call_at`` whose callback hands the queue its timer;
* ``Admit`` and ``Settle`` → the router's in-memory ledger, at once (one router process); or,
  with a :class:`SharedQuota` (router processes sharing a Redis ledger), one awaited atomic
  round trip each. The quota-wait queue's timer then serves its heads in a task of its own,
  one serving at a time, its admissions awaited likewise.
* ``Lookup`` and ``Store`` (only with a response cache shared by router processes) → one
  awaited round trip each to a :class:`SharedCache`.

Run time is the wall clock since the run's start, multiplied by ``time_scale``: with
``time_scale=60`` a 30-minute interview takes 30 wall seconds, think times and backoffs
shrink alike, and every quota window is counted in run time — which is what a provider
emulator running at the same scale enforces. Against a real provider use ``time_scale=1``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol

from capacity.policy.actions import Admit, ArmTimer, Call, Lookup, Park, Resolve, Settle, Sleep, Store, Ticket
from capacity.policy.build import Core
from capacity.policy.destination import Routed
from capacity.policy.pipeline import Pipeline

__all__ = ["CallPerformer", "LiveDriver", "RunClock", "SharedCache", "SharedQuota"]


class CallPerformer(Protocol):
    """Sends one call and fills in its result fields (``failure``, ``ttft_s``, ``latency_s``,
    ``tokens_out``, ``retry_after_s``, ``payload``); must not raise for provider faults."""

    def __call__(self, call: Call) -> Awaitable[None]:
        """Perform ``call``."""
        ...


class SharedQuota(Protocol):
    """Admission and settlement on a quota ledger shared by router processes (Redis): what the
    router's in-memory ledger answers at once, answered after a round trip."""

    async def admit(self, now: float, tokens_in: int, max_output_tokens: int, group: int = 0) -> Routed | float:
        """Admit the request on the first destination of model group ``group`` in its strategy's
        order with room, or return a lower bound of when one may take it (run s; ``inf``: only a
        freed slot can help)."""
        ...

    async def settle(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        """Reconcile the admission with the tokens really used, free its slot, learn the latency."""
        ...


class SharedCache(Protocol):
    """The response cache shared by router processes (Redis): what the pipeline's in-memory
    cache answers at once, answered after a round trip."""

    async def get(self, key: Hashable) -> bool:
        """Whether a live entry for ``key`` is cached (a hit)."""
        ...

    async def put(self, key: Hashable) -> None:
        """Keep an answer to ``key`` for the cache's TTL."""
        ...


class RunClock:
    """Run time on the event loop's monotonic clock: ``(loop.time() − origin) × time_scale + offset``, s.

    ``offset`` lets a run start at its first session (or a resumed run where its journal left it).
    """

    def __init__(self, time_scale: float = 1.0, offset_s: float = 0.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self.offset_s = offset_s
        self._origin: float | None = None

    def start(self, loop: asyncio.AbstractEventLoop, at: float | None = None) -> None:
        """Run time ``offset_s`` is now, or was at loop time ``at`` (the loop's clock is
        ``time.monotonic``: a provider emulator's clock started then counts the same run time)."""
        self._origin = loop.time() if at is None else at

    def _loop_origin(self) -> float:
        if self._origin is None:
            raise RuntimeError("the run clock has not been started")
        return self._origin

    def now(self) -> float:
        """The current run time, s."""
        return (asyncio.get_running_loop().time() - self._loop_origin()) * self.time_scale + self.offset_s

    def loop_time(self, run_time: float) -> float:
        """The event loop's time at which run time ``run_time`` comes."""
        return self._loop_origin() + (run_time - self.offset_s) / self.time_scale

    async def sleep_until(self, run_time: float) -> None:
        """Sleep until run time ``run_time`` (at once if it has passed)."""
        delay = self.loop_time(run_time) - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def sleep(self, run_seconds: float) -> None:
        """Sleep ``run_seconds`` of run time."""
        if run_seconds > 0:
            await asyncio.sleep(run_seconds / self.time_scale)


class LiveDriver:
    """Runs sessions of one :class:`Core` as asyncio tasks; ``perform`` does the calls and
    ``shared`` (when given) the quota admissions and settlements, ``cache`` (when given) the
    response cache's lookups and stores."""

    def __init__(
        self,
        core: Core,
        perform: CallPerformer,
        clock: RunClock,
        shared: SharedQuota | None = None,
        cache: SharedCache | None = None,
    ) -> None:
        self.core = core
        self.perform = perform
        self.clock = clock
        self.shared = shared
        self.cache = cache
        core.pipeline.shared_cache = cache is not None
        self.sessions_done = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self._fired: list[int] = []  # timer versions waiting for the serving task (shared ledger)
        self._serving: asyncio.Task[None] | None = None

    async def session(
        self, start_s: float, candidate: int, interviews: int, on_step: Callable[[], None] | None = None
    ) -> None:
        """Wait until run time ``start_s``, then run the session to its end."""
        await self.clock.sleep_until(start_s)
        await self.drive(self.core.pipeline.session(self.clock.now(), candidate, interviews), on_step)

    async def drive(self, pipeline: Pipeline, on_step: Callable[[], None] | None = None) -> None:
        """Run one pipeline: perform each action it yields; ``on_step`` is called before each
        resumption (a journal uses it to know which session the next events belong to)."""
        loop = asyncio.get_running_loop()
        clock, router, shared = self.clock, self.core.router, self.shared
        try:
            if on_step is not None:
                on_step()
            action = next(pipeline)
            while True:
                if isinstance(action, Admit):
                    if shared is None:
                        action.answer = router.route(
                            clock.now(), action.tokens_in, action.max_output_tokens, action.prefix, action.group
                        )
                    else:
                        action.answer = await shared.admit(
                            clock.now(), action.tokens_in, action.max_output_tokens, action.group
                        )
                elif isinstance(action, Settle):
                    if shared is None:
                        action.freed = router.settle(
                            clock.now(), action.routed, action.tokens_in, action.tokens_out, action.latency_s
                        )
                    else:
                        await shared.settle(
                            clock.now(), action.routed, action.tokens_in, action.tokens_out, action.latency_s
                        )
                elif isinstance(action, Sleep):
                    await clock.sleep(action.seconds)
                elif isinstance(action, Call):
                    await self.perform(action)
                elif isinstance(action, Park):
                    future: asyncio.Future[None] = loop.create_future()
                    action.ticket.handle = future
                    await future
                elif isinstance(action, Resolve):
                    _resume(action.tickets)
                elif isinstance(action, Lookup):
                    assert self.cache is not None
                    action.hit = await self.cache.get(action.key)
                elif isinstance(action, Store):
                    assert self.cache is not None
                    await self.cache.put(action.key)
                else:
                    self._arm(action)
                if on_step is not None:
                    on_step()
                action = pipeline.send(clock.now())
        except StopIteration:
            self.sessions_done += 1

    def _arm(self, arm: ArmTimer) -> None:
        loop = asyncio.get_running_loop()
        handle = loop.call_at(self.clock.loop_time(arm.at), self._fire, arm.version)
        self._timers.add(handle)

    def _fire(self, version: int) -> None:
        self._timers = {h for h in self._timers if not h.cancelled() and h.when() > asyncio.get_running_loop().time()}
        if self.shared is None:
            resolved, arm = self.core.queue.on_timer(self.clock.now(), version)
            self._served(resolved, arm)
            return
        # a shared ledger answers after a round trip: serve in a task, one serving at a time (two
        # would both try the same head); a timer firing meanwhile is served after it
        self._fired.append(version)
        if self._serving is None or self._serving.done():
            self._serving = asyncio.get_running_loop().create_task(self._serve_fired())

    async def _serve_fired(self) -> None:
        assert self.shared is not None
        clock, shared = self.clock, self.shared
        while self._fired:
            serving = self.core.queue.serve(clock.now(), self._fired.pop(0))
            try:
                admit = next(serving)
                while True:
                    admit.answer = await shared.admit(
                        clock.now(), admit.tokens_in, admit.max_output_tokens, admit.group
                    )
                    admit = serving.send(clock.now())
            except StopIteration as done:
                resolved, arm = done.value
                self._served(resolved, arm)

    def _served(self, resolved: list[Ticket], arm: ArmTimer | None) -> None:
        _resume(resolved)
        if arm is not None:
            self._arm(arm)

    def close(self) -> None:
        """Cancel the queue's pending timers and its serving (at the end of a run, or on Ctrl-C)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._serving is not None:
            self._serving.cancel()


def _resume(tickets: list[Ticket]) -> None:
    """Resume the pipelines parked on ``tickets``, in order."""
    for ticket in tickets:
        if not ticket.handle.done():
            ticket.handle.set_result(None)
