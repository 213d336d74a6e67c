"""The turn pipeline: what happens to every turn of every interview, written once.

A candidate's *session* is a run of interviews separated by a gap. An interview walks its
script turn by turn; before a turn the candidate may speak (think time, and their answer
joins the conversation). A turn that needs a model goes through:

1. **template** — answered from a fixed text, no request (the greeting);
2. **response cache** — an exact-key hit answers at once (a candidate's resume analysis on
   their later interviews; a catalogue question);
3. **in-flight de-duplication** — an identical request already on its way: wait for it;
4. **route** — the router admits the request on a destination whose quota has room
   (reserving input + ``max_tokens``); if none has, the turn *queues* for quota (FIFO, one
   timer: :mod:`capacity.policy.waitqueue`), *degrades* to a template answer or *fails*, as
   ``routing.on_exhausted`` says;
5. **send** — one call to a provider model or to the least-loaded server of a GPU pool; a
   provider that answered the conversation's previous request within its prompt cache's idle
   lifetime serves the previous prompt from cache (:mod:`capacity.policy.prompt_cache`), and
   with session affinity the router tries it first;
6. **retry** — a failed call (5xx, timeout, 429) is retried with exponential backoff and
   jitter while attempts remain and the turn's deadline allows, the failed destination cooling
   down meanwhile (until the provider's ``Retry-After``, when it sent one); past the deadline
   the turn degrades or fails (``routing.on_deadline``). A refusal of the *destination* (a live
   endpoint's 401, 403, 404 or 410: a bad key, an unknown or withdrawn model) takes it out of
   rotation for the rest of the run and the turn is sent to the next destination at once — not
   counted as a retry; a refusal of the *request* (any other 4xx: malformed, too long) is
   not retried.

An interview with a failed turn is abandoned (failed); one with a degraded turn finishes
degraded. With *gated admission* an interview is not started while turns wait for quota or
one failed a moment ago (it counts as failed, "turned away"), so the quota goes to
interviews that can finish.

Sans-I/O (the pattern of h11): :meth:`TurnPipeline.session` is a generator that yields
:mod:`~capacity.policy.actions` and is resumed with the run time, s. It never sleeps, never
does I/O and never reads a clock; the SimPy driver (:mod:`capacity.sim`) and the live
driver (:mod:`capacity.live`) run the very same code. Everything a report needs is announced
to a :class:`~capacity.policy.observer.PolicyObserver`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from capacity.policy.actions import Action, Admit, ArmTimer, Call, Lookup, Park, Resolve, Settle, Sleep, Store, Ticket
from capacity.policy.banks import QuestionBank
from capacity.policy.cache import MISS, ResponseCache
from capacity.policy.dedup import InFlight
from capacity.policy.deferral import DeferredStages
from capacity.policy.observer import PolicyObserver
from capacity.policy.outcomes import (
    CACHE,
    COMPLETED,
    DEDUPLICATED,
    DEGRADED,
    FAILED,
    INTERVIEW_DEGRADED,
    INTERVIEW_FAILED,
    PROVIDER,
    TEMPLATE,
)
from capacity.policy.prompt_cache import PrefixTracker
from capacity.policy.router import RetryPolicy, Routed, Router
from capacity.policy.waitqueue import QuotaWaitQueue
from capacity.units import ErrorKind, Served
from capacity.workload.distributions import BlockStream
from capacity.workload.keyed import CallKey
from capacity.workload.script import CompiledScript, Turn

__all__ = [
    "RETRYABLE",
    "UNUSABLE_STATUSES",
    "CandidateBehaviour",
    "Pipeline",
    "PipelineSettings",
    "TurnPipeline",
    "refuses_destination",
]

RETRYABLE = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.SERVER_ERROR,
        ErrorKind.TIMEOUT,
        ErrorKind.CONNECTION,
        ErrorKind.MALFORMED,
    }
)
"""Failures worth another attempt (with backoff, counted against ``routing.max_retries``); a
client error (4xx) is not — unless it refuses the destination (:data:`UNUSABLE_STATUSES`), which
is taken out of rotation and the turn sent elsewhere at once."""

UNUSABLE_STATUSES = frozenset({401, 403, 404, 410})
"""HTTP statuses of a 4xx that is about the destination, not the request: 401 and 403 (a bad,
missing or unauthorised key), 404 (an unknown or withdrawn model), 410 (gone). Every request
would meet it there, and none elsewhere; the other 4xx (400, 413, 422 …: malformed, too long)
are the request's, and another provider would most likely refuse it too."""


def refuses_destination(failure: str | None, status: int | None) -> bool:
    """Whether a call that failed with ``failure`` (an :class:`~capacity.units.ErrorKind` value)
    and HTTP ``status`` (None: no response) says its destination is unusable, rather than the
    request bad (:data:`UNUSABLE_STATUSES`). The simulator's calls carry no status: never."""
    return failure == ErrorKind.CLIENT_ERROR and status in UNUSABLE_STATUSES

Pipeline = Generator[Action, float, Any]
"""A session as the driver sees it: yields actions, is resumed with the run time (s); what it
returns at the end is not the driver's business."""


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """The scenario's routing rules, as the pipeline applies them (times in s)."""

    turn_deadline_s: float
    on_exhausted: Literal["queue", "degrade", "fail"]
    past_deadline: Served  # DEGRADED or FAILED
    cooldown_s: float
    gated: bool
    admission_cooldown_s: float
    deduplicate: bool
    gap_between_interviews_s: float
    turn_groups: tuple[int, ...] = ()
    """Each turn's model group (its index in the router's groups); empty: every turn in group 0."""


class CandidateBehaviour:
    """The candidates' side of the script, drawn from seeded streams (one draw per use).

    ``think`` and ``answer`` (think time, s; answer length, tokens) share the people stream;
    ``outputs[i]`` draws turn *i*'s output tokens; ``catalogue[i]`` draws the prompt id of a
    catalogue-cached turn (Zipf over the catalogue), ``None`` for other turns.
    """

    def __init__(
        self,
        script: CompiledScript,
        people: np.random.Generator,
        tokens: np.random.Generator,
        catalogue: np.random.Generator,
    ) -> None:
        self.think = BlockStream(script.think_time_s, people)
        self.answer = BlockStream(script.answer_tokens, people)
        self.outputs = [BlockStream(t.output_tokens, tokens) for t in script.turns]
        self.catalogue = [_catalogue_stream(t, catalogue) for t in script.turns]


def _catalogue_stream(turn: Turn, rng: np.random.Generator) -> Callable[[], int] | None:
    """Zipf-distributed prompt ids of a catalogue-cached turn, drawn in blocks of 4,096."""
    if turn.cache.key != "catalogue" or turn.cache.catalogue_size is None:
        return None
    n = turn.cache.catalogue_size
    weights = 1.0 / np.arange(1, n + 1) ** turn.cache.zipf_exponent
    cdf = np.cumsum(weights / weights.sum())
    buffer: list[int] = []

    def draw() -> int:
        if not buffer:
            buffer.extend(np.searchsorted(cdf, rng.random(4096), side="right").tolist()[::-1])
        return min(buffer.pop(), n - 1)

    return draw


class TurnPipeline:
    """The whole turn pipeline over one router, queue, cache and de-duplication table."""

    def __init__(
        self,
        script: CompiledScript,
        behaviour: CandidateBehaviour,
        router: Router,
        queue: QuotaWaitQueue,
        cache: ResponseCache | None,
        retry: RetryPolicy,
        retry_rng: np.random.Generator,
        settings: PipelineSettings,
        observer: PolicyObserver,
    ) -> None:
        self.script = script
        self.behaviour = behaviour
        self.router = router
        self.queue = queue
        self.cache = cache
        self.in_flight: InFlight[Ticket] = InFlight()
        self.retry = retry
        self.retry_rng = retry_rng
        self.settings = settings
        self.observer = observer
        self.last_failed_turn_s = -math.inf
        self.interviews_started = 0  # numbers each interview (its conversation, for prefix caches)
        self.interviews_of: dict[int, int] = {}  # interviews begun per candidate (numbers each call's key)
        self.prefixes = PrefixTracker()  # where each interview's prompt was last sent (prompt caching)
        self.turn_groups = settings.turn_groups or (0,) * len(script.turns)
        self.shared_cache = False
        """The response cache is shared by router processes (Redis): look up and store by
        yielding :class:`Lookup` and :class:`Store` to the driver; ``cache`` then only says
        the cache is on (its TTL and size are the shared one's)."""
        self.deferred: DeferredStages | None = None  # deferred stages' bookings (policy.deferral)
        self.banks: dict[int, QuestionBank] = {}  # banked turns' banks, by turn index (policy.banks)

    # sessions and interviews ---------------------------------------------------------------
    def session(self, now: float, candidate: int, interviews: int) -> Pipeline:
        """A candidate's ``interviews`` interviews, one after another, starting at ``now``.

        A session of one interview is that interview's generator itself (one level of
        generator delegation less on every resumption: the simulator's hot path)."""
        if interviews == 1:
            return self.interview(now, candidate)
        return self._interviews(now, candidate, interviews)

    def _interviews(self, now: float, candidate: int, interviews: int) -> Pipeline:
        gap = self.settings.gap_between_interviews_s
        for j in range(interviews):
            now = yield from self.interview(now, candidate)
            if j < interviews - 1 and gap > 0:
                now = yield Sleep(gap)

    def saturated(self, now: float) -> bool:
        """Gated admission: turns are waiting for quota, or one failed a moment ago."""
        return len(self.queue) > 0 or now - self.last_failed_turn_s < self.settings.admission_cooldown_s

    def interview(self, now: float, candidate: int) -> Generator[Action, float, float]:
        """One interview of ``candidate`` from ``now``; returns the run time it ended."""
        obs, behaviour = self.observer, self.behaviour
        start = now
        number = self.interviews_of.get(candidate, 0)  # the candidate's interview number, turned away or not
        self.interviews_of[candidate] = number + 1
        if self.settings.gated and self.saturated(now):
            obs.turned_away(now)
            return now
        obs.interview_started(now)
        conversation = self.interviews_started
        self.interviews_started += 1
        history = 0.0
        degraded = False
        tokens = 0
        calls = 0
        slot = self.deferred.take(candidate) if self.deferred is not None else {}
        for turn in self.script.turns:
            if turn.candidate_speaks_before:
                now = yield Sleep(behaviour.think.next())
                history += behaviour.answer.next()
            tokens_out = min(round(behaviour.outputs[turn.index].next()), turn.max_output_tokens)
            if turn.template:
                obs.turn(now, TEMPLATE, 0.0)
            elif turn.ahead and self._answered_ahead(now, turn, candidate, slot):
                pass
            else:
                tokens_in = turn.fixed_input_tokens + (round(history) if turn.reads_history else 0)
                served, now = yield from self._answer_turn(
                    now, turn, candidate, tokens_in, tokens_out, conversation, number
                )
                if served is FAILED:
                    self.last_failed_turn_s = now
                    self.prefixes.forget(conversation)
                    obs.interview_ended(now, INTERVIEW_FAILED, now - start, tokens, calls)
                    return now
                degraded = degraded or served is DEGRADED
                if served is PROVIDER:
                    tokens += tokens_in + tokens_out
                    calls += 1
            if turn.adds_to_history:
                history += tokens_out
        self.prefixes.forget(conversation)
        obs.interview_ended(now, INTERVIEW_DEGRADED if degraded else COMPLETED, now - start, tokens, calls)
        return now

    # one turn -------------------------------------------------------------------------------
    def _answered_ahead(self, now: float, turn: Turn, candidate: int, slot: dict[int, float]) -> bool:
        """A banked turn takes a variant; a deferred one its result if ready (else: a live call)."""
        bank = self.banks.get(turn.index)
        if bank is not None:
            bank.draw(candidate)
            self.observer.turn(now, Served.BANK, 0.0, candidate_waits=turn.candidate_waits)
            return True
        if self.deferred is not None and self.deferred.ready(slot, turn, now):
            self.observer.turn(now, Served.DEFERRED, 0.0, candidate_waits=turn.candidate_waits)
            return True
        return False

    def call_ahead(
        self,
        now: float,
        turn: Turn,
        candidate: int,
        tokens_in: int,
        tokens_out: int,
        conversation: int,
        deadline: float,
    ) -> Generator[Action, float, tuple[Served, float, float]]:
        """A request made ahead of its interview (a deferred stage off-peak): routed like a turn,
        retried until ``deadline`` (s), but never queued for quota; same returns as :meth:`_call`.
        Its calls' keys carry interview number -1: made ahead of any interview."""
        result = yield from self._call(
            now, turn, candidate, tokens_in, tokens_out, conversation, -1, deadline=deadline, may_queue=False
        )
        self.prefixes.forget(conversation)
        return result

    def cache_key(self, turn: Turn, candidate: int) -> Hashable | None:
        """The response-cache key of ``turn`` for ``candidate`` (``None``: not cacheable)."""
        if self.cache is None or turn.cache.key == "none":
            return None
        if turn.cache.key == "candidate":
            return (turn.stage, candidate)
        draw = self.behaviour.catalogue[turn.index]
        assert draw is not None
        return (turn.stage, draw())

    def _answer_turn(
        self,
        needed: float,
        turn: Turn,
        candidate: int,
        tokens_in: int,
        tokens_out: int,
        conversation: int,
        interview: int,
    ) -> Generator[Action, float, tuple[Served, float]]:
        """Cache → de-duplication → call; returns how the turn was served and the time it ended
        (``interview``: the candidate's interview number, for the calls' keys)."""
        obs = self.observer
        now = needed
        key = self.cache_key(turn, candidate)
        leading = False
        if key is not None:
            assert self.cache is not None
            if self.shared_cache:
                lookup = Lookup(key)
                now = yield lookup
                hit = lookup.hit
            else:
                hit = self.cache.get(key, now) is not MISS
            obs.cache_lookup(hit)
            if hit:
                obs.turn(needed, CACHE, now - needed, candidate_waits=turn.candidate_waits)
                return CACHE, now
            if self.settings.deduplicate and key in self.in_flight:
                ticket = Ticket()
                self.in_flight.follow(key, ticket)
                now = yield Park(ticket)
                if ticket.value:
                    obs.turn(needed, DEDUPLICATED, now - needed, candidate_waits=turn.candidate_waits)
                    return DEDUPLICATED, now
            leading = self.settings.deduplicate and self.in_flight.lead(key)
        served, wait, now = yield from self._call(
            needed, turn, candidate, tokens_in, tokens_out, conversation, interview
        )
        if key is not None:
            assert self.cache is not None
            if served is PROVIDER:
                if self.shared_cache:
                    now = yield Store(key)
                else:
                    self.cache.put(key, now)
            if leading:
                followers = self.in_flight.finish(key)
                if followers:
                    for ticket in followers:
                        ticket.value = served is PROVIDER
                    now = yield Resolve(followers)
        obs.turn(needed, served, now - needed, wait, candidate_waits=turn.candidate_waits)
        return served, now

    def _call(
        self,
        needed: float,
        turn: Turn,
        candidate: int,
        tokens_in: int,
        tokens_out: int,
        conversation: int,
        interview: int,
        deadline: float | None = None,
        may_queue: bool = True,
    ) -> Generator[Action, float, tuple[Served, float, float]]:
        """Route (reserving input + the turn's ``max_tokens``), wait for quota, send, retry.

        Returns how the turn was served, the time it waited for quota (s) and the time it ended.
        ``deadline`` (s; default: the turn's deadline) bounds retries; ``may_queue`` false: no
        quota is a failure, never a wait in the quota-wait queue.
        """
        settings = self.settings
        max_output_tokens = turn.max_output_tokens
        group = self.turn_groups[turn.index]
        line = self.queue.lines[group]
        now = needed
        deadline = needed + settings.turn_deadline_s if deadline is None else deadline
        attempt = 0  # calls made for this turn (the next call's key)
        retries = 0  # retries spent (a destination taken out of rotation spends none)
        wait = 0.0
        while True:
            routed: Routed | float = math.inf
            if not line:  # a turn arriving while others of its group wait for quota queues behind them
                admit = Admit(tokens_in, max_output_tokens, self.prefixes.hint(conversation), group)
                now = yield admit
                routed = admit.answer
            if not isinstance(routed, Routed):
                if self.router.out_of_rotation(group):  # every destination refused us for good: nothing to wait for
                    return settings.past_deadline, wait, now
                if not may_queue:
                    return FAILED, wait, now
                if settings.on_exhausted == "degrade":
                    return DEGRADED, wait, now
                if settings.on_exhausted == "fail":
                    return FAILED, wait, now
                joined = now
                ticket = Ticket()
                arm = self.queue.join(
                    now, ticket, tokens_in, max_output_tokens, deadline, routed, self.prefixes.hint(conversation), group
                )
                if arm is not None:
                    now = yield arm
                now = yield Park(ticket)
                wait += now - joined
                granted: Routed | None = ticket.value
                if granted is None:
                    return settings.past_deadline, wait, now
                routed = granted
            key = (candidate, interview, turn.index, attempt)
            failure, unusable, now = yield from self._send(
                now, routed, tokens_in, tokens_out, max_output_tokens, turn.stage, candidate, conversation, key, group
            )
            if failure is None:
                return PROVIDER, wait, now
            attempt += 1
            if unusable:  # the destination's fault, not the request's: the next destination, at once
                if now >= deadline:
                    return settings.past_deadline, wait, now
                continue
            if retries >= self.retry.max_retries or failure not in RETRYABLE:
                return settings.past_deadline, wait, now
            delay = self.retry.delay_s(retries, self.retry_rng)
            retries += 1
            if now + delay >= deadline:
                return settings.past_deadline, wait, now
            now = yield Sleep(delay)

    def _send(
        self,
        now: float,
        routed: Routed,
        tokens_in: int,
        tokens_out: int,
        max_output_tokens: int,
        stage: str,
        candidate: int,
        conversation: int,
        key: CallKey,
        group: int = 0,
    ) -> Generator[Action, float, tuple[str | None, bool, float]]:
        """One call (identity ``key``) to a provider model or a GPU pool's server (the
        conversation's, or the least loaded): how it failed (``None``: it answered), whether the
        failure refused the destination itself (:func:`refuses_destination`: it is then held for
        the rest of the run, :meth:`Router.retire <capacity.policy.router.Router.retire>`) and
        the time it ended."""
        obs, router = self.observer, self.router
        dest = routed.destination
        obs.call_sent(now, dest)
        if dest.replicas is not None:  # a GPU pool: no quota, it queues at the server
            server = dest.replicas.choose(conversation)
            dest.replicas.dispatched(server, conversation)
            call = Call(routed, tokens_in, tokens_out, max_output_tokens, server, stage, candidate, conversation, key)
            now = yield call
            if call.failure is None:
                now = yield Settle(routed, tokens_in, call.tokens_out, call.latency_s)
                obs.call_done(dest, tokens_in, call.tokens_out, call.ttft_s, 0.0)
                return None, False, now
            now = yield Settle(routed, tokens_in, 0, None)  # a live server failed (the simulated ones never do)
            unusable = refuses_destination(call.failure, call.status)
            if unusable:
                router.retire(dest)
            else:
                router.cool_down(now, routed, self.settings.cooldown_s, group)
            obs.call_failed(dest, call.failure, call.detail)
            return call.failure, unusable, now
        assert dest.quota is not None
        cap = dest.quota.output_cap(max_output_tokens)
        tokens_out = min(tokens_out, dest.quota.output_cap(tokens_out))
        call = Call(routed, tokens_in, tokens_out, cap, -1, stage, candidate, conversation, key)
        sent = now
        now = yield call
        unusable = False
        if call.failure is None:
            settled = Settle(routed, tokens_in, call.tokens_out, call.latency_s)
            now = yield settled
            cached = call.cached_tokens
            price = dest.price_usd(tokens_in, call.tokens_out, cached)
            obs.call_done(dest, tokens_in, call.tokens_out, call.ttft_s, price)
            if dest.prompt_cache is not None:  # saved against no prompt caching (a cache write may cost more)
                obs.prompt_cache_read(dest, cached, dest.price_usd(tokens_in, call.tokens_out, None) - price)
            self.prefixes.seen(conversation, dest, sent, tokens_in)  # the provider read the prompt on arrival
        else:
            settled = Settle(routed, tokens_in, 0, None)
            now = yield settled
            unusable = refuses_destination(call.failure, call.status)
            if unusable:  # a bad key, a withdrawn model: no request will get through there
                router.retire(dest)
            elif call.retry_after_s is not None:  # the provider said when: honour it
                router.hold(dest, now + call.retry_after_s)
            else:
                router.cool_down(now, routed, self.settings.cooldown_s, group)
            obs.call_failed(dest, call.failure, call.detail)
        # what the response freed (a slot, refunded tokens) may admit waiting turns: wake the queue
        arm: ArmTimer | None = self.queue.kick(now) if settled.freed else None
        if arm is not None:
            now = yield arm
        return call.failure, unusable, now
