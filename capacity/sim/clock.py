"""The simulator's clock: SimPy's event order, kept by a compiled heap.

A discrete-event simulation is a list of *events*, each due at a simulated time (s), processed
in time order; processing one may schedule others. The simulator drives its sessions as
SimPy-style *processes* — generators that yield the event they wait for (a provider's answer,
a think time, a GPU completion, a wake from the quota-wait queue) and are resumed with its
value when it is processed.

:class:`Clock` keeps exactly SimPy's order (``simpy.Environment``, version 4): events are
processed by (time, priority, scheduling order), a process's first step is *urgent* (it runs
before the ordinary events due at the same instant, even those scheduled earlier), timeouts and
succeeded events are *normal*, and an event's time is ``now + delay`` in floating point, as
SimPy computes it. ``run(until)`` processes the events due strictly before ``until`` and leaves
the clock there, as SimPy's does. So a run driven by this clock gives SimPy's numbers bit for
bit (``tests/sim/test_clock.py`` replays random process networks on both and compares each
event's time and order); it is SimPy's scheduler without the interpreter's cost, the part
that led the compiled engine's profile (17% of samples, and ``heappop`` 7.5%, on B-paid).

What is left out of SimPy, as the simulator does not use it: an event has at most one waiter
(a process or a function), events never fail, processes are not interrupted and do not wait
on one another, and no condition events (``all_of``/``any_of``). SimPy stays the reference:
the tests' oracle for this order, and the naive model of ``bench/naive_sim.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Final, final

URGENT: Final = 0
"""Priority of a process's first step (SimPy's ``URGENT``)."""
NORMAL: Final = 1
"""Priority of timeouts and succeeded events (SimPy's ``NORMAL``)."""

_PRIORITY_SHIFT: Final = 56
"""An event's ``order`` is ``priority << 56 | sequence``: one integer compares as (priority, sequence)."""

_PENDING: Final = 0
_SCHEDULED: Final = 1
_PROCESSED: Final = 2


class Event:
    """Something due at a simulated time; processing it resumes its one waiter.

    ``value`` is what the waiting process receives (None for a timeout). Once scheduled, ``due``
    is its time (s) and ``order`` its priority and sequence (``priority << 56 | sequence``): the
    clock's heap holds the events themselves, ordered by (due, order) (:func:`_push`,
    :func:`_pop`), so nothing is allocated per event for the heap.
    """

    __slots__ = ("clock", "due", "order", "state", "value", "waiter")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.value: Any = None
        self.waiter: Process | None = None
        self.state = _PENDING
        self.due = 0.0
        self.order = 0

    @property
    def processed(self) -> bool:
        """Whether the clock has processed it (its waiter, if any, was resumed)."""
        return self.state == _PROCESSED

    def succeed(self, value: Any = None) -> Event:
        """Make it due now with ``value`` (processed after the events already due now).

        Raises RuntimeError if it was already scheduled.
        """
        if self.state != _PENDING:
            raise RuntimeError("an event succeeds once")
        self.value = value
        self.clock.schedule(self, NORMAL, 0.0)
        return self

    def fire(self) -> None:
        """Process it: resume the process waiting on it."""
        self.state = _PROCESSED
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.resume(self)


@final
class Timer(Event):
    """An event that calls a function when processed (a GPU server's next step, the quota-wait
    queue's wake), in place of resuming a process."""

    __slots__ = ("action",)

    def __init__(self, clock: Clock, action: Callable[[], None]) -> None:
        super().__init__(clock)
        self.action = action

    def fire(self) -> None:
        self.state = _PROCESSED
        self.action()


@final
class Process:
    """A generator driven by the clock: it yields the :class:`Event` it waits for and is
    resumed with that event's ``value``; it ends when the generator returns."""

    __slots__ = ("generator",)

    def __init__(self, clock: Clock, generator: Generator[Event, Any, None]) -> None:
        self.generator = generator
        start = Event(clock)
        start.waiter = self
        clock.schedule(start, URGENT, 0.0)

    def resume(self, event: Event) -> None:
        """Send ``event``'s value into the generator until it waits on an event not yet processed."""
        generator = self.generator
        while True:
            try:
                event = generator.send(event.value)
            except StopIteration:
                return
            if event.state != _PROCESSED:
                if event.waiter is not None:
                    raise RuntimeError("an event has one waiter")
                event.waiter = self
                return


def _push(heap: list[Event], event: Event) -> None:
    """Add ``event`` to the binary heap ``heap`` (``heapq.heappush``'s sift, compiled: the
    comparisons are direct reads of ``due`` and ``order``, not Python rich comparisons)."""
    heap.append(event)
    due, order = event.due, event.order
    pos = len(heap) - 1
    while pos > 0:
        parent_pos = (pos - 1) >> 1
        parent = heap[parent_pos]
        if due < parent.due or (due == parent.due and order < parent.order):
            heap[pos] = parent
            pos = parent_pos
        else:
            break
    heap[pos] = event


def _pop(heap: list[Event]) -> Event:
    """Remove and return the earliest event of the non-empty binary heap ``heap``. Events' keys
    (due, order) are unique, so every correct heap pops them in the same order as ``heapq``."""
    last = heap.pop()
    if not heap:
        return last
    first = heap[0]
    due, order = last.due, last.order
    n = len(heap)
    pos = 0
    child_pos = 1
    while child_pos < n:
        child = heap[child_pos]
        right_pos = child_pos + 1
        if right_pos < n:
            right = heap[right_pos]
            if right.due < child.due or (right.due == child.due and right.order < child.order):
                child_pos, child = right_pos, right
        if child.due < due or (child.due == due and child.order < order):
            heap[pos] = child
            pos = child_pos
            child_pos = 2 * pos + 1
        else:
            break
    heap[pos] = last
    return first


@final
class Clock:
    """Simulated time, s, and the events due, in SimPy's order (the module docstring)."""

    __slots__ = ("_queue", "_sequence", "now")

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[Event] = []
        self._sequence = 0

    def schedule(self, event: Event, priority: int, delay: float) -> None:
        """Make ``event`` due ``delay`` s from now (SimPy's ``Environment.schedule``)."""
        self._sequence += 1
        event.state = _SCHEDULED
        event.due = self.now + delay
        event.order = (priority << _PRIORITY_SHIFT) | self._sequence
        _push(self._queue, event)

    def timeout(self, delay: float) -> Event:
        """An event due ``delay`` s from now. Raises ValueError for a negative delay."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        event = Event(self)
        self.schedule(event, NORMAL, delay)
        return event

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Call ``action`` when ``delay`` s have passed (in the order a SimPy timeout with that
        callback would be). Raises ValueError for a negative delay."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        self.schedule(Timer(self, action), NORMAL, delay)

    def event(self) -> Event:
        """An event not yet due: :meth:`Event.succeed` makes it due."""
        return Event(self)

    def process(self, generator: Generator[Event, Any, None]) -> Process:
        """Start ``generator`` as a process: its first step is due now, before the events already
        due now (SimPy's ``Initialize``)."""
        return Process(self, generator)

    def peek(self) -> float:
        """When the next event is due, s (infinity when none is)."""
        return self._queue[0].due if self._queue else float("inf")

    def run(self, until: float) -> None:
        """Process every event due before ``until`` (s), then set the clock to ``until``.

        Raises ValueError unless ``until`` is later than now.
        """
        if until <= self.now:
            raise ValueError(f"until ({until}) must be later than now ({self.now})")
        at = self.now + (until - self.now)  # SimPy schedules its stop event so
        queue = self._queue
        while queue and queue[0].due < at:
            event = _pop(queue)
            self.now = event.due
            event.fire()
        self.now = at
