"""Turns waiting for quota: one FIFO queue, one timer.

When the router finds no destination with room, the turn joins this queue (a turn arriving
while others wait queues behind them: first come, first served). The queue keeps a single
timer for the earliest moment its head may be admitted — the earliest time any quota window
frees, or the head's deadline — rather than waking every waiting turn: at each wake it admits
heads in order until one does not fit, expires heads past their deadline, and sets the timer
again. A freed concurrency slot or refunded tokens kick it at once.

Sans-I/O: the queue never sleeps. Whatever moves its timer earlier answers an
:class:`~capacity.policy.actions.ArmTimer` for the driver to arm; a later timer supersedes
nothing (the earlier one still fires first), and a superseded timer that fires is ignored by
its version. The driver calls :meth:`QuotaWaitQueue.on_timer` when an armed timer fires and
resumes the tickets it answers, in order.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass

from capacity.policy.actions import Admit, ArmTimer, Ticket
from capacity.policy.observer import NULL_OBSERVER, PolicyObserver
from capacity.policy.prompt_cache import PrefixHint
from capacity.policy.router import Routed, Router

__all__ = ["QuotaWaitQueue", "Waiter"]


@dataclass(slots=True)
class Waiter:
    """A turn in the queue: its ticket and the request it needs admitted."""

    ticket: Ticket
    tokens_in: int
    max_output_tokens: int
    deadline: float
    prefix: PrefixHint | None = None
    """Where the conversation's prompt was last sent (prompt caching, session affinity)."""


class QuotaWaitQueue:
    """FIFO of turns waiting for quota, served by one timer."""

    def __init__(self, router: Router, observer: PolicyObserver = NULL_OBSERVER) -> None:
        self.router = router
        self.observer = observer
        self.waiting: deque[Waiter] = deque()
        self._timer_at = math.inf
        self._version = 0

    def __len__(self) -> int:
        return len(self.waiting)

    def join(
        self,
        now: float,
        ticket: Ticket,
        tokens_in: int,
        max_output_tokens: int,
        deadline: float,
        first_free: float,
        prefix: PrefixHint | None = None,
    ) -> ArmTimer | None:
        """Queue a turn (its ticket resolves to a :class:`Routed`, or ``None`` past ``deadline``).

        ``first_free`` is the router's lower bound of when any destination may take it, s;
        ``prefix`` where the conversation's prompt was last sent.
        Returns a timer to arm, if the queue's timer must move earlier.
        """
        self.waiting.append(Waiter(ticket, tokens_in, max_output_tokens, deadline, prefix))
        arm = self._schedule(now, min(first_free, deadline)) if len(self.waiting) == 1 else None
        self.observer.queue_length(now, len(self.waiting))
        return arm

    def kick(self, now: float) -> ArmTimer | None:
        """Something freed (a slot, refunded tokens): look at the head now."""
        return self._schedule(now, now) if self.waiting else None

    def on_timer(self, now: float, version: int) -> tuple[list[Ticket], ArmTimer | None]:
        """An armed timer fired: admit heads in order, expire those past their deadline, each
        admission answered at once by the router's own ledger (the simulator; a live run on the
        in-memory ledger). See :meth:`serve`."""
        serving = self.serve(now, version)
        route = self.router.route
        try:
            admit = next(serving)
            while True:
                admit.answer = route(now, admit.tokens_in, admit.max_output_tokens, admit.prefix)
                admit = serving.send(now)
        except StopIteration as done:
            result: tuple[list[Ticket], ArmTimer | None] = done.value
            return result

    def serve(self, now: float, version: int) -> Generator[Admit, float, tuple[list[Ticket], ArmTimer | None]]:
        """An armed timer fired: admit heads in order, expire those past their deadline.

        Yields an :class:`~capacity.policy.actions.Admit` per head tried (a shared ledger answers
        after a round trip; the generator is resumed with the run time then) and returns the
        tickets resolved (to resume in this order) and the next timer to arm. A superseded timer
        (an older ``version``) does nothing. A driver runs one ``serve`` at a time.
        """
        if version != self._version:
            return [], None
        self._timer_at = math.inf
        resolved: list[Ticket] = []
        arm: ArmTimer | None = None
        while self.waiting:
            head = self.waiting[0]
            if head.deadline <= now:
                self.waiting.popleft()
                head.ticket.value = None
                resolved.append(head.ticket)
                continue
            admit = Admit(head.tokens_in, head.max_output_tokens, head.prefix)
            now = yield admit
            routed = admit.answer
            if isinstance(routed, Routed):
                self.waiting.popleft()
                head.ticket.value = routed
                resolved.append(head.ticket)
                continue
            arm = self._schedule(now, min(routed, head.deadline))
            break
        self.observer.queue_length(now, len(self.waiting))
        return resolved, arm

    def _schedule(self, now: float, at: float) -> ArmTimer | None:
        at = max(at, now)
        if at >= self._timer_at:
            return None
        self._timer_at = at
        self._version += 1
        return ArmTimer(at, self._version)
