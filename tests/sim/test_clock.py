"""The simulator's clock (capacity/sim/clock.py) processes events in SimPy's order, bit for bit.

SimPy is the oracle: random networks of processes — timeouts (ties included, zero delays
included), processes started by processes and by timers, events succeeded by one process and
waited on by another, the run cut into slices — are played on ``simpy.Environment`` and on
:class:`~capacity.sim.clock.Clock`, and every resumption's (time, label, value) must agree.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.sim.clock import Clock, Event, _pop, _push

DELAYS = st.sampled_from([0.0, 0.1, 0.3, 1.0, 1.0, 2.5, 1 / 3])
"""Few distinct delays, so that events often fall due at the same instant."""

STEP = st.one_of(
    st.tuples(st.just("sleep"), DELAYS),
    st.tuples(st.just("spawn"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.integers(0, 3)),
    st.tuples(st.just("succeed"), st.integers(0, 3)),
    st.tuples(st.just("timer"), DELAYS, st.integers(0, 5)),
)
SCRIPTS = st.lists(st.lists(STEP, max_size=6), min_size=1, max_size=6)


class _Oracle:
    """SimPy behind the clock's interface."""

    def __init__(self) -> None:
        self.env = simpy.Environment()

    @property
    def now(self) -> float:
        return float(self.env.now)

    def timeout(self, delay: float) -> Any:
        return self.env.timeout(delay)

    def event(self) -> Any:
        return self.env.event()

    def process(self, generator: Generator[Any, Any, None]) -> None:
        self.env.process(generator)

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        self.env.timeout(delay).callbacks.append(lambda _e: action())

    def run(self, until: float) -> None:
        self.env.run(until=until)


def play(clock: Any, scripts: list[list[tuple[Any, ...]]], slices: list[float]) -> list[tuple[float, str, Any]]:
    """Run the scripts' network on ``clock``; the log of every step taken, in order."""
    log: list[tuple[float, str, Any]] = []
    events: dict[int, Any] = {}
    waited: set[int] = set()
    succeeded: set[int] = set()
    started = [0]

    def slot(k: int) -> Any:
        if k not in events:
            events[k] = clock.event()
        return events[k]

    def start(script: int) -> None:
        started[0] += 1
        if started[0] <= 40:  # a bounded network: scripts start one another
            clock.process(run(script, f"p{started[0]}/s{script}"))

    def ring(who: str, at: int, script: int) -> None:
        log.append((clock.now, f"{who} timer {at}", script))
        start(script)

    def run(script: int, name: str) -> Generator[Any, Any, None]:
        log.append((clock.now, name + " starts", None))
        for n, step in enumerate(scripts[script % len(scripts)]):
            kind = step[0]
            if kind == "sleep":
                value = yield clock.timeout(step[1])
                log.append((clock.now, f"{name} slept {n}", value))
            elif kind == "spawn":
                start(step[1])
            elif kind == "wait" and step[1] not in waited:  # one waiter an event (the clock's rule)
                waited.add(step[1])
                value = yield slot(step[1])
                log.append((clock.now, f"{name} woke {n}", value))
            elif kind == "succeed" and step[1] not in succeeded:
                succeeded.add(step[1])
                slot(step[1]).succeed(f"{name}:{n}")
            elif kind == "timer":
                clock.call_later(step[1], lambda s=step[2], at=n, who=name: ring(who, at, s))
        log.append((clock.now, name + " ends", None))

    start(0)
    for until in slices:
        clock.run(until)
        log.append((clock.now, "slice", None))
    return log


@settings(max_examples=300, deadline=None)
@given(scripts=SCRIPTS, cuts=st.lists(st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.5, 7.0]), max_size=3))
def test_clock_keeps_simpys_order(scripts: list[list[tuple[Any, ...]]], cuts: list[float]) -> None:
    slices = [*sorted(set(cuts)), 50.0]
    assert play(Clock(), scripts, slices) == play(_Oracle(), scripts, slices)


def test_a_process_starts_before_the_events_already_due_now() -> None:
    """SimPy's Initialize is urgent: a process started at t runs before a timeout due at t that
    was scheduled earlier, and timeouts due together run in the order they were made."""
    clock = Clock()
    seen: list[str] = []

    def child() -> Generator[Event, Any, None]:
        seen.append(f"child at {clock.now}")
        yield clock.timeout(0.0)
        seen.append("child after a zero timeout")

    def parent() -> Generator[Event, Any, None]:
        clock.call_later(1.0, lambda: seen.append("timer made first"))
        yield clock.timeout(1.0)
        seen.append("parent at 1.0")
        clock.process(child())

    clock.process(parent())
    clock.run(5.0)
    assert seen == ["timer made first", "parent at 1.0", "child at 1.0", "child after a zero timeout"]
    assert clock.now == 5.0


def test_run_stops_before_events_due_at_its_end() -> None:
    clock = Clock()
    fired: list[float] = []
    clock.call_later(2.0, lambda: fired.append(clock.now))
    clock.run(2.0)
    assert (fired, clock.now, clock.peek()) == ([], 2.0, 2.0)
    clock.run(3.0)
    assert (fired, clock.peek()) == ([2.0], float("inf"))


def test_misuse_is_refused() -> None:
    clock = Clock()
    with pytest.raises(ValueError, match="negative delay"):
        clock.timeout(-1.0)
    event = clock.event().succeed(1)
    with pytest.raises(RuntimeError, match="succeeds once"):
        event.succeed(2)
    clock.run(1.0)
    with pytest.raises(ValueError, match="later than now"):
        clock.run(1.0)


@given(
    ops=st.lists(
        st.one_of(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.integers(0, 1)), st.none()),
        max_size=200,
    )
)
def test_the_compiled_heap_pops_as_heapq_does(ops: list[tuple[float, int] | None]) -> None:
    # pushes (due, priority) with a growing sequence, and pops (None), on both heaps
    clock, mine, reference = Clock(), [], []
    popped, expected = [], []
    for sequence, op in enumerate(ops):
        if op is None:
            if reference:
                popped.append(_pop(mine).order)
                expected.append(heapq.heappop(reference)[1])
            continue
        event = Event(clock)
        event.due, event.order = op[0], op[1] << 56 | sequence
        _push(mine, event)
        heapq.heappush(reference, (event.due, event.order))
    while reference:
        popped.append(_pop(mine).order)
        expected.append(heapq.heappop(reference)[1])
    assert popped == expected
    assert not mine
