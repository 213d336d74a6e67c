"""One wake of the quota-wait queue is one policy, whichever driver runs it: ``on_timer`` (the
simulator, the in-memory ledger) and the ``serve`` generator (a live run's shared ledger) admit
the same heads, expire the same ones and set the same next timer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from test_router_cache import dest

from capacity.policy.actions import ArmTimer, Ticket
from capacity.policy.router import Routed, Router
from capacity.policy.waitqueue import QuotaWaitQueue

Answer = tuple[list[Ticket], ArmTimer | None]
Wake = tuple[list[tuple[int, str | None]], tuple[float, int] | None]


def _queue() -> tuple[QuotaWaitQueue, list[Ticket], int]:
    """Four turns waiting on a destination of 2 requests a minute, already spent at 0 s: the first
    turn's deadline passes before the wake at 60 s, the next two fit then, the fourth does not."""
    router = Router([dest(0, "a", rpm=2)], "fill_first", np.random.default_rng(0))
    assert isinstance(router.route(0.0, 10, 10), Routed) and isinstance(router.route(0.0, 10, 10), Routed)
    queue = QuotaWaitQueue(router)
    tickets = [Ticket() for _ in range(4)]
    arm = None
    for i, (ticket, deadline) in enumerate(zip(tickets, [30.0, 500.0, 500.0, 500.0], strict=True)):
        joined = queue.join(1.0 + i, ticket, 10, 10, deadline, first_free=60.0)
        arm = arm or joined
    assert arm is not None and arm.at == 30.0  # the first head's deadline comes first
    return queue, tickets, arm.version


def _outcome(tickets: list[Ticket], answer: Answer) -> Wake:
    """(which tickets, to which destination) in resolution order, and the next timer (at, version)."""
    resolved, arm = answer
    named = [(tickets.index(t), t.value.destination.name if isinstance(t.value, Routed) else None) for t in resolved]
    return named, None if arm is None else (arm.at, arm.version)


def _by_hand(queue: QuotaWaitQueue, now: float, version: int, route: Callable[..., Routed | float]) -> Answer:
    """Drive ``serve`` as the live driver does, each admission answered by ``route``."""
    serving = queue.serve(now, version)
    try:
        admit = next(serving)
        while True:
            admit.answer = route(now, admit.tokens_in, admit.max_output_tokens, admit.prefix, admit.group)
            admit = serving.send(now)
    except StopIteration as done:
        answer: Answer = done.value
        return answer


def test_on_timer_and_serve_answer_a_wake_alike() -> None:
    outcomes = []
    for drive in ("on_timer", "serve"):
        queue, tickets, version = _queue()
        first = queue.on_timer(30.0, version)  # the first head's deadline: it expires, nothing fits yet
        assert _outcome(tickets, first)[0] == [(0, None)]
        arm = first[1]
        assert arm is not None and arm.at == 60.0  # when the spent minute frees
        if drive == "on_timer":
            answer = queue.on_timer(60.0, arm.version)
        else:
            answer = _by_hand(queue, 60.0, arm.version, queue.router.route)
        outcomes.append(_outcome(tickets, answer))
        assert len(queue) == 1
    assert outcomes[0] == outcomes[1]
    resolved, arm = outcomes[0]
    assert resolved == [(1, "a"), (2, "a")]  # two heads in arrival order, then the third is refused
    assert arm is not None and arm[0] == 120.0  # the minute those two admissions spend frees


def test_a_superseded_timer_does_nothing_on_either_path() -> None:
    queue, tickets, version = _queue()
    queue.kick(5.0)  # moves the timer earlier: version superseded
    assert queue.on_timer(30.0, version) == ([], None)
    assert _by_hand(queue, 30.0, version, queue.router.route) == ([], None)
    assert len(queue) == 4 and all(t.value is None for t in tickets)
