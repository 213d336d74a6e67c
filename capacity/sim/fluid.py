"""The fluid fast mode (``--fidelity fluid``): per-minute aggregated flows through the same quota
ledger and routing rules as the exact engine, for what-ifs in seconds.

The exact engine (:mod:`capacity.sim.model`) runs every turn of every interview through the
policy core, one request at a time. The fluid engine keeps the same population — the sessions
of :func:`~capacity.workload.calendar.plan_arrivals`, from the same calendar, seed and stream —
but moves time in steps of one minute and admits each minute's requests *together*:

* each interview walks the compiled script; as it starts, it draws every turn's output (capped
  at the turn's ``max_tokens``) and the candidate's answers from the script's distributions, so
  each turn's prompt is its fixed part plus the conversation so far, as in the exact engine;
  think time between turns is drawn from the script's distribution, in blocks;
* in each minute the turns that need a model are lined up in the order the router meets them
  (each at its own instant: its need, or the end of its backoff) and offered to the destinations
  in the routing strategy's order; each account of a destination admits a request if, at its
  instant, each of its windows has room for it after the requests admitted before it — the very
  :class:`~capacity.policy.windows.QuotaWindow` objects of the exact engine (rolling windows,
  fixed windows with their resets and time zones, token buckets, account-wide allowances,
  dated limit changes, withdrawn free tiers), whose room grows within the step as a bucket
  refills, a rolling minute lets old charges go or a fixed window resets. So, as in the exact
  engine, under a token budget that refills by a few hundred tokens a minute only the smallest
  requests get through, and the rest go on to the next destination. A window of under a minute
  (per second) and a concurrency slot turn over many times within the step: they admit the
  share of the minute's arrivals that Erlang's loss formula gives; windows of a minute or less
  check the reservation (input + ``max_tokens``) and keep what the call uses; the turns left over
  wait in the quota-wait queue and take what the windows free by the end of the minute (sent
  halfway between their arrival and the earlier of their deadline and the minute's end);
* while a window refuses, a minute is met in ``parts`` passes over its successive parts (three by
  default, :data:`DEFAULT_PARTS`; one where none refused), so that a turn that follows another at
  once is met in the part it falls in (or the next one) rather than at the next minute; the
  windows are charged as the step ends, each pass's admissions checked against those of the
  passes before it at every later instant;
* a turn refused everywhere waits for the next minute's step while its deadline allows
  (``on_exhausted: queue``), or degrades or fails as ``routing.on_exhausted`` and
  ``routing.on_deadline`` say; a call fails with the provider's error rate (every call during a
  scheduled outage) and is retried with backoff while attempts and the deadline allow; a failed
  call pauses its destination for ``routing.cooldown_s`` (:mod:`capacity.sim.fluid_cooldown`);
* a call takes the destination's mean TTFT + its output tokens ÷ the mean decode speed; the
  response cache keeps a candidate's resume analysis for ``cache.ttl_s``.

What it cannot model, and so leaves empty rather than invent: turn latency, TTFT and queue-wait
distributions (their :class:`~capacity.result.Quantiles` have ``count`` 0; interview durations
are kept, from the drawn think times, mean service times and the waits below), latency-driven
or headroom routing, GPU pools, router replicas on local ledgers, gated admission, catalogue
caches, a cached prompt's shorter TTFT (:mod:`~capacity.sim.fluid_prompt_cache` prices prompt
caching). Such a scenario is refused with a :class:`~capacity.errors.UsageError`. Where it errs:
a turn that follows the previous one at once (no candidate speaking between them) and falls in the
part of the minute being met is met only as the next part (in the last part: the next step) starts,
together with the others (its deadline runs from then: it has not waited yet) — after a minute in
which no window refused anything it is sent, if admitted, when it was needed (nothing stood in its
way), so where no quota binds interviews last what they last in the exact engine; where a window
refuses, it is sent late (up to a part's length: interviews run 4–6% long on A's and B's first
day) — and a turn waits for quota in whole minutes.
Agreement with the exact engine is a test (``tests/sim/test_fluid.py``) and a benchmark
(``bench/fluid_vs_exact.py``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.metrics.recorder import Recorder
from capacity.policy.build import build_core, seed_streams
from capacity.policy.windows import QuotaWindow
from capacity.result import RunResult
from capacity.sim.fluid_cooldown import CoolDowns
from capacity.sim.fluid_draws import InterviewDraws
from capacity.sim.fluid_prompt_cache import PromptPrefixes
from capacity.sim.fluid_quota import (
    MEASURES,
    DestinationCosts,
    FloatArray,
    IntArray,
    StepLog,
    admit_account,
    charge_logs,
    earliest_fit,
    record_slots,
    strategy_order,
    unsupported,
)
from capacity.sim.model import DRAIN_S, ProgressCallback
from capacity.units import DAY_S, HOUR_S, MINUTE_S, Outcome, Served
from capacity.workload.calendar import days_spanned, need_interviews_per_day, plan_arrivals, run_start

DEFAULT_PARTS = 3
"""Passes over each minute while a window refuses (20 s parts, within the 30 s turn deadline). On A's first day
one part misses the exact engine's carried interviews by 3.9% and a destination by 12.5%, three by 0.9% and
7.6% in 1.9 times the CPU time, six by 1.6% and 4.9% but B's early calls by 3.3% (README, "Fluid mode")."""


class FluidSimulation:
    """One fluid run of one scenario: build with a configuration, then :meth:`run`.

    ``parts``: how many passes meet each minute while quotas bind, over its successive parts (1: the
    whole minute at once; :data:`DEFAULT_PARTS`; 6: ten-second parts; README, "Fluid mode"). Raises
    :class:`~capacity.errors.UsageError` for a scenario it does not model (:func:`unsupported`) or
    ``parts`` under 1.
    """

    def __init__(
        self,
        config: Configuration,
        *,
        seed: int | None = None,
        days: int | None = None,
        max_interviews: int | None = None,
        parts: int = DEFAULT_PARTS,
    ) -> None:
        why = unsupported(config)
        if parts < 1:
            raise UsageError(f"fluid mode: parts must be at least 1, not {parts}")
        self.parts = parts
        if why is not None:
            raise UsageError(f"{config.scenario.name}: {why}")
        sc = config.scenario
        self.config = config
        self.seed = sc.seed if seed is None else seed
        self.days = (
            min(days or sc.demand.days, sc.demand.days) if sc.demand.kind == "total" else (days or sc.demand.days)
        )
        streams = seed_streams(self.seed)
        self.rng = streams.people
        self.failures = streams.service
        self.run_start = run_start(sc.calendar)
        self.end_s = self.days * DAY_S + DRAIN_S
        self.recorder = Recorder(self.end_s)
        core = build_core(config, self.run_start, streams, self.recorder)
        self.recorder.bind(core.destinations, core.replica_destinations)
        self.destinations = core.destinations
        self.router = core.router
        self.script = core.script
        span = self.script.expected_interview_duration_s() + sc.candidates.gap_between_interviews_s
        sessions = plan_arrivals(sc, streams.sessions, span, self.days, max_interviews)
        self.sessions = sessions
        self.requested = sessions.total_interviews
        self.max_interviews = max_interviews
        self.result_days = self.days if max_interviews is None else days_spanned(sessions.start_s)

        turns = self.script.turns
        expected = self.script.expected_tokens()
        self.tokens_in = np.array([t.input_tokens for t in expected])
        self.tokens_out = np.array([t.output_tokens for t in expected])
        self.draws = InterviewDraws(self.script, streams.tokens, self.rng)
        self.prefixes = PromptPrefixes(len(sessions))
        self.template = np.array([t.template for t in turns])
        self.speaks = self.draws.speaks
        self.waits = np.array([t.candidate_waits for t in turns])
        cache_on = sc.cache.enabled
        self.cached_turn = np.array([cache_on and t.cache.key == "candidate" for t in turns])
        self.costs = [
            DestinationCosts(d, config, self.tokens_in, self.tokens_out, self.draws.max_out, self.draws.fixed_in)
            for d in self.destinations
        ]
        self.weights = np.array([d.weight for d in self.destinations], dtype=float)
        routing = sc.routing
        self.deadline_s = routing.turn_deadline_s
        self.on_exhausted = routing.on_exhausted
        self.past_deadline = Served.DEGRADED if routing.on_deadline == "degrade" else Served.FAILED
        self.max_retries = routing.max_retries
        self.backoff = (routing.backoff_base_s, routing.backoff_max_s)
        self.gap_s = sc.candidates.gap_between_interviews_s
        self.cool = CoolDowns(len(self.destinations), routing.cooldown_s)
        self.ttl_s = sc.cache.ttl_s

        # one row per session: where it is in its script, and since when
        n = len(sessions)
        self.left = sessions.interviews.astype(np.int64)  # interviews still to start or finish
        self.turn = np.zeros(n, dtype=np.int64)  # the turn due next (0: a new interview)
        self.started = np.zeros(n, dtype=bool)  # the current interview has begun
        self.need_s = sessions.start_s.astype(float).copy()  # when the due turn was needed, s
        self.attempt = np.zeros(n, dtype=np.int64)
        self.waited = np.zeros(n, dtype=bool)  # the due turn waited for quota: sent when admitted
        self.fails = np.zeros(n, dtype=bool)  # the due turn's call, once admitted, fails
        self.ready_s = self.need_s.copy()  # when the due turn may be sent: its need, or its retry after a backoff, s
        self.due_s = self.need_s + self.deadline_s  # when the due turn's deadline passes, s
        self._met_late_free = False  # the minute before the one being met refused nothing
        self._floor = 0  # the earliest minute new work may be filed under
        self.met_late_s = np.full(n, math.inf)  # a turn met late after a free minute: when it was needed, s
        self._lo = 0.0  # the start of the part of the step being met, s
        self._tight = True  # a window refused a request in the minute met last (or none was met yet)
        self.degraded = np.zeros(n, dtype=bool)
        self.interview_start_s = np.zeros(n)
        self.interview_tokens = np.zeros(n)
        self.interview_calls = np.zeros(n, dtype=np.int64)
        candidates = int(sessions.candidate.max()) + 1 if n else 0
        self.cache_until = np.full(candidates, -math.inf)  # the resume analysis cached until, s
        # each session's current (or next) interview, drawn before it starts: every turn's prompt and output, tokens
        self.req_in, self.req_out = np.zeros((n, len(turns))), np.zeros((n, len(turns)))
        self.buckets: dict[int, list[IntArray]] = {}
        self.offered: dict[int, tuple[float, float, float]] = {}  # short windows', slots' minute: offered, admitted
        self.held: dict[QuotaWindow, StepLog] = {}  # what the step's passes admitted, charged as it ends
        self.req_in[:], self.req_out[:] = self.draws.draw(n)
        self._schedule(np.arange(n, dtype=np.int64), self.need_s)

    # ------------------------------------------------------------------------------------
    def _schedule(self, rows: IntArray, at_s: FloatArray) -> None:
        """File sessions ``rows`` under the minute of their next event ``at_s`` (s), or the next step's."""
        if not len(rows):
            return
        # work that falls in the minute being stepped waits for the next step, keeping its need
        # time: the next step lines it up with that minute's turns in the order they were needed
        minutes = np.maximum((np.asarray(at_s) // MINUTE_S).astype(np.int64), self._floor)
        order = np.argsort(minutes, kind="stable")
        rows, minutes = rows[order], minutes[order]
        edges = np.flatnonzero(np.diff(minutes)) + 1
        for chunk, m in zip(np.split(rows, edges), minutes[np.concatenate(([0], edges))], strict=True):
            self.buckets.setdefault(int(m), []).append(chunk)

    def _route(self, now: float, rows: IntArray, queued: bool = False) -> tuple[list[tuple[int, IntArray]], IntArray]:
        """Admit the FIFO line ``rows`` (sessions whose due turn needs a model) on the destinations
        (``queued``: turns waiting in the quota-wait queue, which lose nothing to short windows);
        returns the admitted rows per destination index and the rows refused everywhere."""
        admitted: list[tuple[int, IntArray]] = []
        refused: list[IntArray] = []
        strategy = self.config.scenario.routing.strategy
        for order, part in strategy_order(strategy, self.destinations, self.weights, self.tokens_in, self.tokens_out,
                                          len(rows)):
            line = rows[part]
            for dest in order:
                if not len(line):
                    break
                costs = self.costs[dest.index]
                quota = costs.quota
                if now >= quota.withdrawn_at_s:
                    continue
                # no request fits before full_until: skip the destination if the whole line comes before it
                if costs.full_until > now and (now + MINUTE_S if queued else self._instants(now, line).max()) \
                        < costs.full_until:
                    continue
                quota.limits_in_force(now)
                turns = self.turn[line]
                fits = self.req_in[line, turns] <= costs.max_input
                if not fits.all():
                    self.recorder.over_input_cap(now, dest)
                if not queued:  # a destination cooling down after a failed call: what arrives meanwhile passes over it
                    fits &= ~self.cool.cooling(dest.index, self._instants(now, line))
                if not fits.any():
                    continue
                candidates, others = line[fits], line[~fits]
                taken, line = self._admit(now, costs, candidates, queued)
                self._tight = self._tight or len(line) > 0
                if len(taken):
                    admitted.append((dest.index, taken))
                if len(others):  # what is left goes on to the next destination, in FIFO order
                    line = self._in_order(np.concatenate([line, others]), now, queued)
            refused.append(line)
        out = np.concatenate(refused) if refused else np.zeros(0, dtype=np.int64)
        return admitted, out[np.argsort(self.need_s[out], kind="stable")]

    def _in_order(self, rows: IntArray, now: float, queued: bool) -> IntArray:
        """``rows`` in the order the router meets them in the step from ``now``: by the instant each
        is tried (its need, or the end of its backoff; a turn that waited, at once), then by need;
        the quota-wait queue (``queued``) in the order the turns were needed (FIFO)."""
        need = self.need_s[rows]
        if queued:
            return rows[np.argsort(need, kind="stable")]
        return rows[np.lexsort((need, np.maximum(self.ready_s[rows], self._lo)))]

    def _admit(self, now: float, costs: DestinationCosts, line: IntArray, queued: bool) -> tuple[IntArray, IntArray]:
        """Admit what each account has room for, account after account; returns the rows admitted
        and the rows left, each in line order. A turn is tried at its own instant in the step (its
        need, or the end of its backoff); a waiting turn (``queued``) by the end of the step."""
        quota = costs.quota
        turns = self.turn[line]
        amounts, used = costs.charges(turns, *costs.sizes(turns, self.req_in[line, turns], self.req_out[line, turns]))
        end = now + MINUTE_S * (1 - 1e-9)
        instants = self._instants(now, line)
        times = np.full(len(line), end) if queued else instants
        left = np.arange(len(line))
        picked: list[IntArray] = []
        service = costs.mean_service_s
        offered = None if queued else self.offered
        rate = costs.failure_rate(now)
        index = costs.dest.index

        def veto(selected: IntArray) -> IntArray:
            """Draw which admitted calls fail (:meth:`CoolDowns.pass_over`: a failure pauses the destination)."""
            fails = self.failures.random(len(selected)) < rate if rate > 0 else np.zeros(len(selected), dtype=bool)
            keep = self.cool.pass_over(index, instants[left[selected]], fails, costs.ttft_s, queued)
            self.fails[line[left[selected[keep]]]] = fails[keep]
            return selected[keep]

        for account in quota.accounts:
            if not len(left):
                break
            selected, charged = admit_account(
                account, now, times[left], amounts[:, left], used[:, left], service, self.recorder, offered, veto,
                self.held, self.cool.open_share(index, now),
            )
            if not len(selected):
                continue
            # a waiting turn is charged as the step starts (its instant is only a bound on the room it may use)
            at = (np.full(len(selected), now) if queued else times[left[selected]]).tolist()
            for w, window in enumerate(account.windows):
                # the reserved output tokens not generated come back at once (a call ends within seconds)
                net = np.minimum(charged[w], used[MEASURES.index(window.measure), left[selected]]) \
                    if account.refundable else charged[w]
                self.held[window].add(at, net.tolist())  # admit_account opened the window's log
            picked.append(left[selected])
            left = np.delete(left, selected)
        if not picked:
            until = earliest_fit(now, costs)
            # a dated limit change may make room from a day's start: known no further than this step's end
            costs.full_until = until if costs.cacheable_full else min(until, now + MINUTE_S)
        taken = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
        return line[taken], line[left]

    def _instants(self, now: float, rows: IntArray) -> FloatArray:
        """The instant each of ``rows`` is tried (and sent) in the step from ``now``: its need, or the
        end of its backoff, within the step (a turn that waited since an earlier step: at its start)."""
        return np.asarray(np.clip(self.ready_s[rows], max(now, self._lo), now + MINUTE_S * (1 - 1e-9)))

    # ------------------------------------------------------------------------------------
    def _step(self, minute: int, rows: IntArray) -> IntArray:
        """One pass over work due in ``minute``: new interviews, templates, cache hits, admissions at each
        turn's own instant; returns the turns no destination admitted (:meth:`_wait` serves them)."""
        rec = self.recorder
        now = minute * MINUTE_S
        # a turn that followed the previous one at once, within the part of the minute met before, is met
        # only now, and its deadline runs from now; it is sent now at the earliest — or, if no window refused
        # anything in the minute before, when it was needed (nothing stood in its way then)
        lo = self._lo
        late = rows[(self.ready_s[rows] < lo) & ~self.waited[rows] & (self.attempt[rows] == 0)]
        if self._met_late_free:
            self.met_late_s[late] = self.ready_s[late]
        self.ready_s[late] = lo
        self.due_s[late] = self.ready_s[late] + self.deadline_s
        rows = rows[np.argsort(self.need_s[rows], kind="stable")]
        fresh = rows[~self.started[rows]]
        for r in fresh.tolist():  # a new interview begins
            rec.interview_started(float(self.need_s[r]))
        self.started[fresh] = True
        self.interview_start_s[fresh] = self.need_s[fresh]
        self.degraded[fresh] = False
        self.interview_tokens[fresh] = 0.0
        self.interview_calls[fresh] = 0
        turns = self.turn[rows]
        template = self.template[turns]
        rec.served[Served.TEMPLATE] += int(template.sum())
        self._advance(rows[template], self.need_s[rows[template]])
        rows = rows[~template]
        turns = self.turn[rows]
        first = self.attempt[rows] == 0
        lookup = self.cached_turn[turns] & first & ~self.waited[rows]  # not a queued turn's re-check
        looked = rows[lookup]
        hit = self.cache_until[self.sessions.candidate[looked]] > self.need_s[looked]
        rec.cache_lookups += len(looked)
        rec.cache_hits += int(hit.sum())
        rec.served[Served.CACHE] += int(hit.sum())
        self._advance(looked[hit], self.need_s[looked[hit]])
        rows = self._in_order(np.setdiff1d(rows, looked[hit], assume_unique=True), now, False)
        admitted, refused = self._route(now, rows)
        for index, taken in admitted:
            self._send(now, self.costs[index], taken)
        return refused

    def _wait(self, minute: int, rows: IntArray) -> None:
        """Turns refused everywhere in ``minute``'s passes (FIFO): they wait, and take what the windows
        free by the end of the minute; the rest wait for the next step, degrade or fail."""
        now = minute * MINUTE_S
        if self.on_exhausted == "queue" and len(rows):
            admitted, rows = self._route(now, rows, queued=True)
            end = now + MINUTE_S
            for index, taken in admitted:
                # served from the queue as the windows free, at an instant not followed: taken halfway between
                # the turn's arrival and the earlier of its deadline and the minute's end
                ready = np.maximum(self.ready_s[taken], now)
                self.ready_s[taken] = ready + (np.minimum(self.due_s[taken], end) - ready) / 2
                self._send(now, self.costs[index], taken)
        self._refused(now, rows)

    def _send(self, now: float, costs: DestinationCosts, rows: IntArray) -> None:
        """Calls admitted on one destination: tally them, fail some, answer the rest."""
        rec = self.recorder
        dest = costs.dest
        n = len(rows)
        # admitted on arrival: sent when ready (needed, or its backoff over); after waiting for quota: now
        # met late after a minute no window refused anything in: sent when it was needed
        ready = self.ready_s[rows]
        sent = np.where(self.waited[rows], np.maximum(ready, now), np.minimum(ready, self.met_late_s[rows]))
        rec.api_calls += n
        tally = rec.tally[dest.index]
        tally.requests += n
        hours = np.minimum((sent // HOUR_S).astype(np.int64), rec.hours - 1)
        for hour, count in zip(*np.unique(hours, return_counts=True), strict=True):
            tally.hourly[int(hour)] += int(count)
        rec.calls.values[min(int(now // MINUTE_S), len(rec.calls.values) - 1)] += n
        failed = self.fails[rows]
        turns = self.turn[rows]
        ok, ok_turns = rows[~failed], turns[~failed]
        tokens_in = self.req_in[ok, ok_turns]
        tokens_out = np.minimum(self.req_out[ok, ok_turns], costs.out_cap[ok_turns])
        end = sent[~failed] + costs.ttft_s + tokens_out / costs.speed
        tally.completed += len(ok)
        tally.tokens_in += round(float(tokens_in.sum()))
        tally.tokens_out += round(float(tokens_out.sum()))
        d_in, d_out = costs.sizes(ok_turns, tokens_in, tokens_out)
        read = None if dest.prompt_cache is None else self.prefixes.answered(dest, ok, sent[~failed], tokens_in)
        price = costs.price(ok_turns, d_in, d_out, np.zeros(len(ok)) if read is None else read)
        if read is not None:  # and what that saved against no prompt caching (nothing on a free tier)
            saved = float((costs.price(ok_turns, d_in, d_out, None) - price).sum())
            rec.prompt_cache_read(dest, round(float(read.sum())), saved)
        tally.cost_usd += float(np.maximum(price, 0.0).sum())
        rec.served[Served.PROVIDER] += len(ok)
        self.interview_tokens[ok] += tokens_in + tokens_out
        self.interview_calls[ok] += 1
        cached = self.cached_turn[ok_turns]
        self.cache_until[self.sessions.candidate[ok[cached]]] = end[cached] + self.ttl_s
        self._advance(ok, end)
        bad = rows[failed]
        if len(bad):
            tally.errors["5xx"] = tally.errors.get("5xx", 0) + len(bad)
            failed_at = sent[failed] + costs.ttft_s
            base, cap = self.backoff
            delay = np.minimum(cap, base * 2.0 ** self.attempt[bad]) * (0.5 + 0.5 * self.rng.random(len(bad)))
            retry = (self.attempt[bad] < self.max_retries) & (failed_at + delay < self.due_s[bad])
            again = bad[retry]
            self.attempt[again] += 1
            self.met_late_s[again] = math.inf  # a retry is sent after its backoff
            self.ready_s[again] = (failed_at + delay)[retry]
            # a retry is checked for quota at its own instant, not queued behind the turn's first need
            self._schedule(again, (failed_at + delay)[retry])
            self._give_up(bad[~retry], failed_at[~retry], self.past_deadline)

    def _refused(self, now: float, rows: IntArray) -> None:
        """Turns no destination admitted this minute: wait for the next step, degrade or fail."""
        if not len(rows):
            return
        nxt = now + MINUTE_S
        if self.on_exhausted == "queue":
            wait = self.due_s[rows] >= nxt
            self.waited[rows[wait]] = True
            self._schedule(rows[wait], np.full(int(wait.sum()), nxt))
            self.recorder.queued.add(now, int(wait.sum()))
            late = rows[~wait]
            self._give_up(late, self.due_s[late], self.past_deadline)
            return
        outcome = Served.DEGRADED if self.on_exhausted == "degrade" else Served.FAILED
        self._give_up(rows, np.maximum(self.need_s[rows], now), outcome)

    def _give_up(self, rows: IntArray, at_s: FloatArray, served: Served) -> None:
        """Turns that end unanswered at ``at_s``: degraded (the interview goes on) or failed (it ends)."""
        if not len(rows):
            return
        rec = self.recorder
        rec.served[served] += len(rows)
        if served is Served.DEGRADED:
            self.degraded[rows] = True
            self._advance(rows, at_s)
            return
        for t in at_s.tolist():
            rec.failed_turns.add(t)
        self._end_interviews(rows, at_s, Outcome.FAILED)

    def _advance(self, rows: IntArray, at_s: FloatArray) -> None:
        """Turns answered at ``at_s``: on to the next turn (after the candidate speaks), or the end."""
        if not len(rows):
            return
        at_s = np.asarray(at_s, dtype=float)
        nxt = self.turn[rows] + 1
        last = nxt >= len(self.template)
        done = rows[last]
        if len(done):
            outcomes = np.where(self.degraded[done], 1, 0)
            self._end_interviews(done, at_s[last], None, outcomes)
        go, at_go, nxt = rows[~last], at_s[~last], nxt[~last]
        self.turn[go] = nxt
        self.attempt[go] = 0
        self.waited[go] = False
        speaks = self.speaks[nxt]
        think = self.script.think_time_s.sample_block(self.rng, int(speaks.sum())) if speaks.any() else None
        need = at_go.copy()
        if think is not None:
            need[speaks] += think
        self.need_s[go] = need
        self.met_late_s[go] = math.inf
        self.ready_s[go] = need
        self.due_s[go] = need + self.deadline_s
        self._schedule(go, need)

    def _end_interviews(
        self, rows: IntArray, at_s: FloatArray, outcome: Outcome | None, degraded: IntArray | None = None
    ) -> None:
        """Interviews ending at ``at_s`` (``outcome``, or completed/degraded by ``degraded``); the
        session's next interview starts after the gap."""
        rec = self.recorder
        for i, (r, t) in enumerate(zip(rows.tolist(), at_s.tolist(), strict=True)):
            kind = outcome if outcome is not None else (Outcome.DEGRADED if degraded is not None and degraded[i]
                                                        else Outcome.COMPLETED)
            tokens = round(float(self.interview_tokens[r]))
            rec.interview_ended(t, kind, t - float(self.interview_start_s[r]), tokens, int(self.interview_calls[r]))
        self.left[rows] -= 1
        more = rows[self.left[rows] > 0]
        at_more = np.asarray(at_s)[self.left[rows] > 0] + self.gap_s
        self.turn[more] = 0
        self.attempt[more] = 0
        self.waited[more] = False
        self.started[more] = False
        self.need_s[more] = at_more
        self.met_late_s[more] = math.inf
        self.prefixes.forget(more)
        self.ready_s[more] = at_more
        self.due_s[more] = at_more + self.deadline_s
        if len(more):  # their next interview, drawn whole
            self.req_in[more], self.req_out[more] = self.draws.draw(len(more))
        self._schedule(more, at_more)

    def _minute(self, minute: int) -> None:
        """The step of ``minute``, met in ``parts`` passes over its successive parts: each pass meets
        the work due by its part's end, each turn at its own instant; a turn that follows another at once
        (or a retry) and falls in a later part of the minute is met in that part, one falling in the part
        being met is met as the next part starts (in the last part: as the next step starts). Then the
        turns refused everywhere wait (FIFO) for what the windows free by the minute's end."""
        now = minute * MINUTE_S
        self.cool.forget(now)
        refused: list[IntArray] = []
        pool: list[IntArray] = []
        # where no window refused anything in the minute before, the order of a minute's requests changes
        # nothing: it is met in one pass
        parts = self.parts if self._tight else 1
        self._met_late_free = not self._tight
        self._tight = False
        for part in range(parts):
            last = part == parts - 1
            self._lo = now + part * MINUTE_S / parts
            self._floor = minute + 1 if last else minute  # where the work this pass gives rise to is filed
            pool += self.buckets.pop(minute, [])
            if not pool:
                continue
            rows = np.concatenate(pool) if len(pool) > 1 else pool[0]
            if last:
                due, pool = rows, []
            else:
                early = self.ready_s[rows] < self._lo + MINUTE_S / parts
                due, pool = rows[early], [rows[~early]]
            if len(due):
                refused.append(self._step(minute, due))
        if refused:
            waiting = np.concatenate(refused)
            self._wait(minute, waiting[np.argsort(self.need_s[waiting], kind="stable")])
        charge_logs(self.held, now, self.recorder)
        record_slots(self.costs, self.offered, now, self.recorder)

    # ------------------------------------------------------------------------------------
    def run(self, progress: ProgressCallback | None = None) -> RunResult:
        """Step minute by minute until every interview has ended or the horizon (demand days + a drain day)."""
        began = time.perf_counter()
        last_minute = int(self.end_s // MINUTE_S)
        reported = 0.0
        minute = min(self.buckets, default=last_minute)
        horizon = self.end_s
        while self.buckets:
            minute = min(self.buckets)
            if minute >= last_minute:
                break
            self._minute(minute)
            if progress is not None and minute * MINUTE_S - reported >= HOUR_S:
                reported = minute * MINUTE_S
                progress(reported, self.end_s)
        if not self.buckets:
            horizon = min(self.end_s, (minute + 1) * MINUTE_S)
        if progress is not None:
            progress(horizon, horizon)
        rec = self.recorder
        rec.unfinished(self.requested - sum(rec.outcomes.values()))
        rec.horizon_s = horizon
        sc = self.config.scenario
        result = rec.result(
            scenario=sc.name, mode="simulated", seed=self.seed, days=self.result_days, run_start=self.run_start,
            need_interviews_per_day=self.requested / self.result_days
            if self.days < sc.demand.days or self.max_interviews is not None
            else need_interviews_per_day(sc),
            sla_p95_turn_latency_s=sc.sla.p95_turn_latency_s,
            sla_ttft_s=sc.sla.ttft_s,
            wall_time_s=time.perf_counter() - began,
        )  # the router's checks are not counted request by request here: None, not 0
        return result.model_copy(update={"fidelity": "fluid", "destinations": [
            d.model_copy(update={"router_refusals": None}) for d in result.destinations]})


def simulate_fluid(
    config: Configuration,
    *,
    seed: int | None = None,
    days: int | None = None,
    max_interviews: int | None = None,
    progress: ProgressCallback | None = None,
    parts: int = DEFAULT_PARTS,
) -> RunResult:
    """One fluid run of ``config`` (:class:`FluidSimulation`, each minute met in ``parts`` passes while a
    window refuses); raises UsageError for a scenario it does not model or ``parts`` under 1."""
    return FluidSimulation(config, seed=seed, days=days, max_interviews=max_interviews, parts=parts).run(progress)
