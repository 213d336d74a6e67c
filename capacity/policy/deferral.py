"""Deferred stages: requests made between a candidate's booking and the interview.

A stage with a ``deferral:`` (:class:`capacity.config.levers.Deferral`) does not wait for the
interview. When the candidate *books* — ``lead_time_s`` before the session's first interview —
its request for each of the session's interviews is made ahead:

* ``via: batch`` — submitted to a provider's batch API (:class:`BatchQueue`). The provider
  promises results within its *completion window*; the model counts a result ready only at the
  end of that window (the guarantee, not the often-quicker typical turnaround:
  ``docs/facts/batch-and-tiers.md`` §1a). A batch holds at most ``max_requests_per_batch``
  requests, and the requests and input tokens *enqueued* (in batches not yet finished) stay within
  the provider's queue limits: a batch that does not fit waits, client-side, for earlier ones to
  finish. The batch pool is separate from the normal rate limits (a batch API that draws on them
  is rejected on load), and the request costs the list price × the batch price factor.
* ``via: off_peak`` — one normal call at booking time through the router, on the normal quotas
  (:meth:`DeferredStages.book` yields the pipeline's own actions). It never waits in the
  quota-wait queue: with no quota free at booking, no request is made.

When the interview reaches the stage, a result ready by then answers it (``Served.DEFERRED``, no
call); otherwise the result is counted *late* and the stage falls back to a live call through the
usual pipeline (cache, de-duplication, route). A late batch result is still paid for.

Sans-I/O like the rest of the core: times are run seconds, handed in; nothing here sleeps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field

from capacity.config.levers import BatchApi
from capacity.config.providers import Prices
from capacity.policy.actions import Action
from capacity.policy.banks import QuestionBank
from capacity.result import LeverStats
from capacity.units import MTOK, Served
from capacity.workload.distributions import BlockStream
from capacity.workload.script import Turn

CallAhead = Callable[[float, Turn, int, int, int, int, float], Generator[Action, float, tuple[Served, float, float]]]
"""The pipeline's :meth:`~capacity.policy.pipeline.TurnPipeline.call_ahead`: (now, turn, candidate,
tokens in, tokens out, conversation, deadline) → how it was served, its quota wait and end time, s."""

__all__ = ["BatchQueue", "DeferredStages", "LeverCounts", "lever_stats"]


@dataclass(frozen=True, slots=True)
class Submitted:
    """One batch as the provider saw it: when it was submitted and finished (s), its size."""

    submitted_s: float
    ready_s: float
    requests: int
    tokens_in: int


class BatchQueue:
    """One model's batch API as a client sees it: batch size, enqueued limits, completion window.

    :meth:`submit` turns requests handed in at ``now`` (input tokens each) into batches: at most
    ``max_requests_per_batch`` each, submitted as soon as the provider's queue has room for their
    requests and input tokens (a batch leaves the queue when it finishes, one completion window
    after it was submitted), and returns each request's ready time, s. Calls come in time order.
    A single batch larger than the enqueued-token limit is submitted when the queue is empty
    (the provider would refuse it; the plan shows the limit).
    """

    def __init__(self, batch: BatchApi, prices: Prices | None) -> None:
        self.batch = batch
        self.prices = prices
        self.running: deque[Submitted] = deque()  # unfinished batches, oldest first
        self.enqueued_requests = 0
        self.enqueued_tokens = 0
        self.clock = 0.0  # batches are submitted in time order
        self.submitted: list[Submitted] = []  # every batch, for tests and counts
        self.cost_usd = 0.0

    def _release(self, now: float) -> None:
        while self.running and self.running[0].ready_s <= now:
            done = self.running.popleft()
            self.enqueued_requests -= done.requests
            self.enqueued_tokens -= done.tokens_in

    def _fits(self, requests: int, tokens: int) -> bool:
        b = self.batch
        if not self.running:
            return True
        if b.max_enqueued_requests is not None and self.enqueued_requests + requests > b.max_enqueued_requests:
            return False
        return b.max_enqueued_tokens is None or self.enqueued_tokens + tokens <= b.max_enqueued_tokens

    def submit(self, now: float, tokens_in: list[int], tokens_out: list[int]) -> list[float]:
        """Submit requests (input and output tokens of each) at ``now``, s; their ready times, s."""
        per_batch = self.batch.max_requests_per_batch or max(1, len(tokens_in))
        ready: list[float] = []
        for first in range(0, len(tokens_in), per_batch):
            chunk = tokens_in[first : first + per_batch]
            t = max(now, self.clock)
            self._release(t)
            while not self._fits(len(chunk), sum(chunk)):
                t = self.running[0].ready_s  # wait for the oldest batch to finish
                self._release(t)
            self.clock = t
            job = Submitted(t, t + self.batch.completion_window_s, len(chunk), sum(chunk))
            self.running.append(job)
            self.submitted.append(job)
            self.enqueued_requests += job.requests
            self.enqueued_tokens += job.tokens_in
            ready += [job.ready_s] * len(chunk)
        if self.prices is not None:
            usd = sum(tokens_in) * self.prices.usd_per_mtok_in + sum(tokens_out) * self.prices.usd_per_mtok_out
            self.cost_usd += usd / MTOK * self.batch.price_factor
        return ready


@dataclass
class LeverCounts:
    """What deferral and banks did in a run (counts of requests; $)."""

    deferred_requests: int = 0
    """Deferred requests made ahead (batch requests submitted, off-peak calls answered)."""
    deferred_off_peak: int = 0
    """Of those, off-peak calls answered (counted in their destinations' requests as well)."""
    deferred_not_made: int = 0
    """Off-peak requests refused at booking (no quota free, or the call failed)."""
    deferred_ready: int = 0
    """Deferred stages answered by a result ready in time."""
    deferred_late: int = 0
    """Deferred stages whose result was not ready (or never made): fell back to a live call."""
    batches: int = 0
    batch_cost_usd: float = 0.0
    max_enqueued_tokens: int = 0
    max_enqueued_requests: int = 0
    bank_requests: int = 0
    bank_cost_usd: float = 0.0
    early_s: list[float] = field(default_factory=list)
    """Deferred results ready in time: how long before the interview needed them, s (a sample)."""


class DeferredStages:
    """The deferred stages of one run: bookings, their results' ready times, and the fallback rule.

    ``pending[candidate]`` holds, per booked interview of that candidate in order, the ready time
    of each deferred turn (by turn index; ``inf``: never made). An interview takes the oldest.
    """

    def __init__(self, turns: tuple[Turn, ...], batch: dict[int, BatchQueue], counts: LeverCounts) -> None:
        self.turns = tuple(t for t in turns if t.deferral is not None)
        self.batch = batch  # the batch API of each deferred turn via batch, by turn index
        self.counts = counts
        self.pending: dict[int, deque[dict[int, float]]] = {}
        self.lead_time_s = max((t.deferral.lead_time_s for t in self.turns if t.deferral), default=0.0)
        self._next_conversation = -1  # off-peak calls get their own (negative) conversation ids

    def book(
        self,
        outputs: Sequence[BlockStream],
        call_ahead: CallAhead,
        now: float,
        candidate: int,
        interviews: int,
        starts_s: float,
    ) -> Generator[Action, float, None]:
        """A candidate books ``interviews`` interviews starting at ``starts_s``; make the deferred requests at ``now``.

        Input tokens are the stage's fixed prompt (it reads no conversation); output tokens are
        drawn from the turn's own stream (``outputs``, by turn index); off-peak requests go through
        ``call_ahead``.
        """
        slots: list[dict[int, float]] = [{} for _ in range(interviews)]
        self.pending.setdefault(candidate, deque()).extend(slots)
        by_batch: dict[int, list[tuple[dict[int, float], Turn, int, int]]] = {}  # by id of the BatchQueue
        for slot in slots:
            for turn in self.turns:
                assert turn.deferral is not None
                tokens_out = min(round(outputs[turn.index].next()), turn.max_output_tokens)
                if turn.deferral.via == "batch":
                    by_batch.setdefault(id(self.batch[turn.index]), []).append(
                        (slot, turn, turn.fixed_input_tokens, tokens_out)
                    )
                    continue
                conversation = self._next_conversation
                self._next_conversation -= 1
                served, _wait, now = yield from call_ahead(
                    now, turn, candidate, turn.fixed_input_tokens, tokens_out, conversation, starts_s
                )
                if served is Served.PROVIDER:
                    slot[turn.index] = now
                    self.counts.deferred_requests += 1
                    self.counts.deferred_off_peak += 1
                else:
                    self.counts.deferred_not_made += 1
        for rows in by_batch.values():
            queue = self.batch[rows[0][1].index]
            ready = queue.submit(now, [r[2] for r in rows], [r[3] for r in rows])
            for (slot, turn, _tin, _tout), at in zip(rows, ready, strict=True):
                slot[turn.index] = at
            c = self.counts
            c.deferred_requests += len(rows)
            c.max_enqueued_tokens = max(c.max_enqueued_tokens, queue.enqueued_tokens)
            c.max_enqueued_requests = max(c.max_enqueued_requests, queue.enqueued_requests)
        if by_batch:
            queues = {id(q): q for q in self.batch.values()}.values()
            self.counts.batches = sum(len(q.submitted) for q in queues)
            self.counts.batch_cost_usd = sum(q.cost_usd for q in queues)

    def take(self, candidate: int) -> dict[int, float]:
        """The ready times of the deferred turns of ``candidate``'s next interview (empty: not booked)."""
        queue = self.pending.get(candidate)
        if not queue:
            return {}
        slot = queue.popleft()
        if not queue:
            del self.pending[candidate]
        return slot

    def ready(self, slot: dict[int, float], turn: Turn, now: float) -> bool:
        """Whether ``turn``'s deferred result is there at ``now``; counts it ready or late."""
        at = slot.get(turn.index, float("inf"))
        if at <= now:
            self.counts.deferred_ready += 1
            if len(self.counts.early_s) < 10_000:
                self.counts.early_s.append(now - at)
            return True
        self.counts.deferred_late += 1
        return False


def lever_stats(counts: LeverCounts, banks: Iterable[QuestionBank]) -> LeverStats:
    """The run's :class:`~capacity.result.LeverStats` from the counts and the banks' use."""
    early = sorted(counts.early_s)
    return LeverStats(
        deferred_requests=counts.deferred_requests,
        deferred_off_peak=counts.deferred_off_peak,
        deferred_not_made=counts.deferred_not_made,
        deferred_ready=counts.deferred_ready,
        deferred_late=counts.deferred_late,
        deferred_early_p50_s=early[len(early) // 2] if early else 0.0,
        batches=counts.batches,
        batch_cost_usd=round(counts.batch_cost_usd, 6),
        max_enqueued_requests=counts.max_enqueued_requests,
        max_enqueued_tokens=counts.max_enqueued_tokens,
        bank_requests=counts.bank_requests,
        bank_cost_usd=round(counts.bank_cost_usd, 6),
        bank_max_uses=max((b.max_uses for b in banks), default=0),
    )
