"""The recorder: counts what a run did and assembles the :class:`RunResult`.

Driven by the simulator (SimPy time) or the live runtime (wall-clock time), with the same
calls. Per-request facts go into counters, fixed-bucket histograms and per-minute arrays, so
memory depends on the horizon, not on the number of requests.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

from capacity.metrics.histogram import LogHistogram
from capacity.policy.destination import Destination, Routed
from capacity.policy.observer import PolicyObserver
from capacity.policy.outcomes import (
    CACHE,
    COMPLETED,
    DEDUPLICATED,
    FAILED,
    INTERVIEW_DEGRADED,
    INTERVIEW_FAILED,
    PROVIDER,
)
from capacity.result import (
    CacheStats,
    Cdf,
    DestinationResult,
    HourOfDayLatency,
    InterviewCounts,
    LeverStats,
    PromptCacheStats,
    RequestCounts,
    RunResult,
    TimeSeries,
    WindowUse,
)
from capacity.units import HOUR_S, MINUTE_S, Outcome, Served


class _Series:
    """A per-minute series of a level (forward-filled) or a count (summed).

    A list, not a numpy array: it is written once per request, and indexing a Python list is
    several times cheaper than a numpy scalar's (a month is 44,640 minutes: about 0.4 MB)."""

    def __init__(self, minutes: int, level: bool) -> None:
        self.values = [-1 if level else 0] * minutes
        self.level = level

    def set(self, now: float, value: int) -> None:
        m = min(int(now // MINUTE_S), len(self.values) - 1)
        self.values[m] = value

    def add(self, now: float, amount: int = 1) -> None:
        m = min(int(now // MINUTE_S), len(self.values) - 1)
        self.values[m] += amount

    def tolist(self) -> list[int]:
        if not self.level:
            return list(self.values)
        out, last = [], 0
        for v in self.values:
            last = v if v >= 0 else last
            out.append(last)
        return out


class WindowStats:
    """What one quota window of one account saw: its peak use, when it first refused, and how
    long it was full.

    *Full* is measured in time, not in refusals (one waiting turn is refused again at every
    check, so a count of refusals says nothing a reader can use): a refusal at ``t`` that the
    window says it cannot admit before ``until`` makes the window full over ``[t, until)``;
    overlapping stretches merge, and an admission on the window ends the stretch at once (it
    had room). A concurrency limit answers ``until = inf`` — only a freed slot helps — so its
    stretch ends when a slot frees (:meth:`Recorder.window_used` at the release).
    """

    __slots__ = (
        "first_blocked_s",
        "full_from",
        "full_s",
        "full_until",
        "hourly_full_s",
        "hourly_peak",
        "peak_fraction",
    )

    def __init__(self) -> None:
        self.peak_fraction = 0.0
        self.first_blocked_s: float | None = None
        self.hourly_peak: dict[int, float] = {}
        self.full_from: float | None = None  # start of the open full stretch, s (None: not full)
        self.full_until = -math.inf  # its end as known so far, s (inf: until the next admission or freed slot)
        self.full_s = 0.0  # closed stretches, s
        self.hourly_full_s: dict[int, float] = {}  # closed stretches by hour of the run, s

    def record_use(self, now: float, fraction: float) -> None:
        """Note the use ÷ limit right after an admission at ``now`` (the window had room)."""
        self.peak_fraction = max(self.peak_fraction, fraction)
        hour = int(now // HOUR_S)
        if fraction > self.hourly_peak.get(hour, 0.0):
            self.hourly_peak[hour] = fraction
        if self.full_from is not None:
            self.close_full(now)

    def record_block(self, now: float, until: float) -> None:
        """Note a refusal at ``now``: the window cannot admit the request before ``until``, s."""
        if self.first_blocked_s is None:
            self.first_blocked_s = now
        if self.full_from is not None:
            if now <= self.full_until:  # the same stretch, perhaps longer
                self.full_until = max(self.full_until, until)
                return
            self.close_full(now)
        self.full_from, self.full_until = now, until

    def close_full(self, now: float) -> None:
        """End the open full stretch at ``now`` or at its known end, whichever is earlier."""
        start = self.full_from
        if start is None:
            return
        end = min(now, self.full_until)
        self.full_from = None
        if end <= start:
            return
        self.full_s += end - start
        hourly = self.hourly_full_s
        hour = int(start // HOUR_S)
        t = start
        while t < end:
            edge = min(end, (hour + 1) * HOUR_S)
            hourly[hour] = hourly.get(hour, 0.0) + edge - t
            t, hour = edge, hour + 1


class DestinationTally:
    """Counters of one destination."""

    __slots__ = (
        "cached_tokens_in",
        "completed",
        "cost_usd",
        "error_reasons",
        "errors",
        "hourly",
        "over_cap_from_s",
        "requests",
        "router_refusals",
        "saved_usd",
        "tokens_in",
        "tokens_out",
    )

    def __init__(self, hours: int) -> None:
        self.router_refusals = 0
        self.over_cap_from_s: float | None = None
        self.requests = 0
        self.completed = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.cached_tokens_in = 0
        self.saved_usd = 0.0
        self.errors: dict[str, int] = {}
        self.error_reasons: dict[str, str] = {}
        self.hourly = [0] * hours  # requests sent per hour of the run (a list: see _Series)


class Recorder(PolicyObserver):
    """Everything measured during one run: the :class:`~capacity.policy.observer.PolicyObserver`
    of the policy core, and the assembler of its :class:`RunResult`.

    Built before the core (the core's objects report to it), then :meth:`bind` to the
    destinations the core built.
    """

    def __init__(self, horizon_s: float, destinations: Sequence[Destination] = ()) -> None:
        self.horizon_s = horizon_s
        minutes = int(horizon_s // MINUTE_S) + 1
        self.hours = int(horizon_s // HOUR_S) + 1
        self.destinations: list[Destination] = []
        self.replica_tables: list[list[Destination]] = []
        self.tally: list[DestinationTally] = []
        self.window_stats: list[WindowStats] = []  # by window id
        self.bind(destinations)
        self.outcomes = dict.fromkeys(Outcome, 0)
        self.served = dict.fromkeys(Served, 0)
        self.api_calls = 0
        self.cache_lookups = 0
        self.cache_hits = 0
        self.turn_latency = LogHistogram()
        self.queue_wait = LogHistogram()
        self.ttft = LogHistogram()
        self.duration = LogHistogram()
        self.by_hour = [LogHistogram(per_decade=50) for _ in range(24)]
        # per hour of the run, coarse (20 buckets a decade from 10 ms to 3 h): bounded memory
        self.by_run_hour = [LogHistogram(low_s=0.01, high_s=1e4, per_decade=20) for _ in range(self.hours)]
        self.starts = _Series(minutes, level=False)
        self.in_flight = _Series(minutes, level=True)
        self.calls = _Series(minutes, level=False)
        self.queued = _Series(minutes, level=True)
        self.failed_turns = _Series(minutes, level=False)
        self._in_flight = 0
        self.tokens_completed = 0
        self.wasted_calls = 0
        self.turned_away_count = 0

    def bind(
        self, destinations: Sequence[Destination], replicas: Sequence[Sequence[Destination]] = ()
    ) -> None:
        """Tally these destinations (indexed by ``Destination.index``) and their quota windows (by
        id); with router replicas on local ledgers, ``replicas`` holds each replica's routing table
        (the first is ``destinations``) and a window's use merges its copies in every replica."""
        self.destinations = list(destinations)
        self.replica_tables = [list(table) for table in replicas] or [self.destinations]
        self.tally = [DestinationTally(self.hours) for _ in self.destinations]
        for table in self.replica_tables:
            for dest in table:
                for account in dest.quota.accounts if dest.quota is not None else ():
                    for window in account.windows:
                        self._stats(window.id)
                    if account.concurrency is not None:
                        self._stats(account.concurrency.id)

    # quota --------------------------------------------------------------------------------
    def _stats(self, window_id: int) -> WindowStats:
        stats = self.window_stats
        while len(stats) <= window_id:
            stats.append(WindowStats())
        return stats[window_id]

    def window_used(self, now: float, window_id: int, fraction: float) -> None:
        """A window holds ``fraction`` of its limit right after an admission, or a slot right after a
        release (the hot path:
        :meth:`WindowStats.record_use` inlined)."""
        stats = self.window_stats[window_id] if window_id < len(self.window_stats) else self._stats(window_id)
        stats.peak_fraction = max(stats.peak_fraction, fraction)
        hour = int(now // HOUR_S)
        peaks = stats.hourly_peak
        if fraction > peaks.get(hour, 0.0):
            peaks[hour] = fraction
        if stats.full_from is not None:
            stats.close_full(now)

    def window_refused(self, now: float, window_id: int, until: float) -> None:
        """A window had no room at ``now`` and cannot admit that request before ``until``, s."""
        stats = self.window_stats[window_id] if window_id < len(self.window_stats) else self._stats(window_id)
        if stats.full_from is not None and now <= stats.full_until:  # the same stretch: record_block, inline
            stats.full_until = until if until > stats.full_until else stats.full_until
            return
        stats.record_block(now, until)

    def over_input_cap(self, now: float, destination: Destination) -> None:
        """A request over ``destination``'s per-request input cap could not be sent there."""
        tally = self.tally[destination.index]
        if tally.over_cap_from_s is None:
            tally.over_cap_from_s = now

    def destination_refused(self, destination: Destination) -> None:
        """The router found no room on ``destination`` (a check, not a lost request)."""
        self.tally[destination.index].router_refusals += 1

    # interviews ---------------------------------------------------------------------------
    def interview_started(self, now: float) -> None:
        """An interview began."""
        self._in_flight += 1
        self.starts.add(now)
        self.in_flight.set(now, self._in_flight)

    def interview_ended(self, now: float, outcome: Outcome, duration_s: float, api_tokens: int, api_calls: int) -> None:
        """An interview ended with ``outcome`` after ``duration_s``, having had ``api_calls``
        turns answered by providers (``api_tokens`` tokens in all)."""
        self._in_flight -= 1
        if outcome is INTERVIEW_FAILED:
            self.wasted_calls += api_calls
        self.in_flight.set(now, self._in_flight)
        self.outcomes[outcome] += 1
        if outcome is COMPLETED or outcome is INTERVIEW_DEGRADED:
            self.duration.add(duration_s)
            self.tokens_completed += api_tokens

    def turned_away(self, now: float) -> None:
        """An interview was not started (gated admission): it counts as failed."""
        self.outcomes[Outcome.FAILED] += 1
        self.turned_away_count += 1

    def unfinished(self, count: int) -> None:
        """``count`` interviews had not ended (or not started) when the run stopped."""
        self.outcomes[Outcome.UNFINISHED] += count

    # turns --------------------------------------------------------------------------------
    def turn(
        self,
        needed_at: float,
        served: Served,
        latency_s: float,
        wait_s: float = 0.0,
        candidate_waits: bool = True,
    ) -> None:
        """A turn needed at ``needed_at`` was answered (or not) after ``latency_s``; its latency
        counts against the service level only if the candidate waits for it."""
        self.served[served] += 1
        if candidate_waits and (served is PROVIDER or served is CACHE or served is DEDUPLICATED):
            self.turn_latency.add(latency_s)
            self.by_hour[int(needed_at // HOUR_S) % 24].add(latency_s)
            self.by_run_hour[min(int(needed_at // HOUR_S), self.hours - 1)].add(latency_s)
        if served is PROVIDER:
            self.queue_wait.add(wait_s)
        if served is FAILED:
            self.failed_turns.add(needed_at + latency_s)

    def cache_lookup(self, hit: bool) -> None:
        """A cacheable turn looked in the cache (and found an answer, if ``hit``)."""
        self.cache_lookups += 1
        if hit:
            self.cache_hits += 1

    def request_admitted(self, now: float, routed: Routed, group: int, max_output_tokens: int) -> None:
        """Not recorded: the windows' use says what admissions did (:meth:`window_used`)."""

    def request_settled(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        """Not recorded: :meth:`call_done` and :meth:`call_failed` say how calls ended."""

    def queue_length(self, now: float, length: int) -> None:
        """Turns waiting for quota right now."""
        self.queued.set(now, length)

    # calls --------------------------------------------------------------------------------
    def call_sent(self, now: float, destination: Destination) -> None:
        """A call left for ``destination``."""
        self.api_calls += 1
        t = self.tally[destination.index]
        t.requests += 1
        t.hourly[min(int(now // HOUR_S), self.hours - 1)] += 1
        self.calls.add(now)

    def call_done(
        self, destination: Destination, tokens_in: int, tokens_out: int, ttft_s: float, cost_usd: float
    ) -> None:
        """A call to ``destination`` succeeded."""
        t = self.tally[destination.index]
        t.completed += 1
        t.tokens_in += tokens_in
        t.tokens_out += tokens_out
        t.cost_usd += cost_usd
        self.ttft.add(ttft_s)

    def prompt_cache_read(self, destination: Destination, cached_tokens: int, saved_usd: float) -> None:
        """A call answered by ``destination`` read ``cached_tokens`` from its prompt cache (0: a miss), and
        cost ``saved_usd`` less than without prompt caching, $."""
        t = self.tally[destination.index]
        t.cached_tokens_in += cached_tokens
        t.saved_usd += saved_usd

    def call_failed(self, destination: Destination, kind: str, detail: str = "") -> None:
        """A call to ``destination`` failed with ``kind`` (429, 5xx, timeout); ``detail`` (how, in
        one line; live runs only) is kept for the first failure of each kind."""
        t = self.tally[destination.index]
        t.errors[kind] = t.errors.get(kind, 0) + 1
        if detail and kind not in t.error_reasons:
            t.error_reasons[kind] = detail

    # result -------------------------------------------------------------------------------
    def _window_use(self, name: str, limit: float, accounts: list[WindowStats]) -> WindowUse:
        """One window's use over the run, merged over the accounts (of every router replica) that
        each have it: the busiest account's peak each hour, the mean time full over them."""
        horizon = self.horizon_s
        peak = [0.0] * self.hours
        full_hourly = [0.0] * self.hours
        full_s = 0.0
        for stats in accounts:
            stats.close_full(horizon)  # a stretch still open at the end of the run ends there
            full_s += stats.full_s
            for h, f in stats.hourly_peak.items():
                if h < self.hours:
                    peak[h] = max(peak[h], round(f, 4))
            for h, s in stats.hourly_full_s.items():
                if h < self.hours:
                    full_hourly[h] += s
        n = len(accounts)
        full_s /= n
        firsts = [s.first_blocked_s for s in accounts if s.first_blocked_s is not None]
        return WindowUse(
            name=name,
            limit=limit,
            peak_fraction=max(s.peak_fraction for s in accounts),
            first_blocked_s=min(firsts) if firsts else None,
            full_s=round(full_s, 3),
            full_share=round(full_s / horizon, 6) if horizon > 0 else 0.0,
            hourly_peak_fraction=peak,
            hourly_full_share=[round(s / n / HOUR_S, 4) for s in full_hourly],
        )

    def _destination_results(self) -> list[DestinationResult]:
        out = []
        for dest, t in zip(self.destinations, self.tally, strict=True):
            windows: list[WindowUse] = []
            accounts = 1
            if dest.quota is not None:
                accounts = len(dest.quota.accounts)
                # the same window of every account (of every replica), merged: the busiest each hour
                by_name: dict[str, tuple[float, list[WindowStats]]] = {}
                copies = [table[dest.index].quota for table in self.replica_tables]
                for account in [a for quota in copies if quota is not None for a in quota.accounts]:
                    limited: list[tuple[str, float, WindowStats]] = [
                        (w.name, w.limit, self._stats(w.id)) for w in account.windows
                    ]
                    if account.concurrency is not None:
                        c = account.concurrency
                        limited.append((c.name, float(c.limit), self._stats(c.id)))
                    for name, limit, stats in limited:
                        by_name.setdefault(name, (limit, []))[1].append(stats)
                windows = [self._window_use(name, limit, stats) for name, (limit, stats) in by_name.items()]
            binding = max(windows, key=lambda w: w.full_s, default=None)
            binds = binding is not None and binding.full_s > 0
            out.append(
                DestinationResult(
                    name=dest.name,
                    kind="gpu" if dest.kind == "gpu" else "api",
                    accounts=accounts,
                    requests=t.requests,
                    completed=t.completed,
                    router_refusals=t.router_refusals,
                    errors=dict(t.errors),
                    error_reasons=dict(t.error_reasons),
                    tokens_in=t.tokens_in,
                    tokens_out=t.tokens_out,
                    cached_tokens_in=t.cached_tokens_in,
                    prompt_cache_saved_usd=round(t.saved_usd, 6),
                    cost_usd=round(t.cost_usd, 6),
                    windows=windows,
                    hourly_requests=list(t.hourly),
                    binding_window=binding.name if binding is not None and binds else None,
                    binding_from_s=binding.first_blocked_s if binding is not None and binds else None,
                    over_input_cap_from_s=t.over_cap_from_s,
                )
            )
        return out

    def result(
        self,
        *,
        scenario: str,
        mode: Literal["simulated", "live"],
        seed: int,
        days: int,
        run_start: dt.datetime,
        need_interviews_per_day: float,
        sla_p95_turn_latency_s: float,
        sla_ttft_s: float,
        fixed_costs_usd: dict[int, float] | None = None,
        wall_time_s: float = 0.0,
        levers: LeverStats | None = None,
    ) -> RunResult:
        """Assemble the RunResult (``levers``: what deferred stages and banks did; their batch
        requests' price joins the cost)."""
        levers = LeverStats() if levers is None else levers
        o = self.outcomes
        cache_hits = self.cache_hits
        carried = o[Outcome.COMPLETED] + o[Outcome.DEGRADED]
        for index, usd in (fixed_costs_usd or {}).items():
            self.tally[index].cost_usd += usd  # a GPU pool's hardware, power and hosting for the run
        destinations = self._destination_results()
        errors: dict[str, int] = {}
        for d in destinations:
            for k, v in d.errors.items():
                errors[k] = errors.get(k, 0) + v
        cost = sum(d.cost_usd for d in destinations) + levers.batch_cost_usd
        logical = sum(self.served.values())
        avoided = sum(self.served[s] for s in (Served.TEMPLATE, Served.CACHE, Served.DEDUPLICATED, Served.BANK))
        edges, frac = self.turn_latency.cdf()
        step = max(1, len(edges) // 150)
        requested = sum(o.values())
        return RunResult(
            scenario=scenario,
            mode=mode,
            seed=seed,
            days=days,
            horizon_s=self.horizon_s,
            run_start_utc=run_start.isoformat(),
            need_interviews_per_day=need_interviews_per_day,
            carried_interviews_per_day=carried / days if days else 0.0,
            tokens_per_interview=self.tokens_completed / carried if carried else 0.0,
            interviews=InterviewCounts(
                requested=requested,
                completed=o[Outcome.COMPLETED],
                degraded=o[Outcome.DEGRADED],
                failed=o[Outcome.FAILED],
                unfinished=o[Outcome.UNFINISHED],
                turned_away=self.turned_away_count,
            ),
            requests=RequestCounts(
                logical=logical,
                template=self.served[Served.TEMPLATE],
                cache=self.served[Served.CACHE],
                deduplicated=self.served[Served.DEDUPLICATED],
                provider=self.served[Served.PROVIDER],
                degraded=self.served[Served.DEGRADED],
                failed=self.served[Served.FAILED],
                api_calls=self.api_calls,
                deferred=self.served[Served.DEFERRED],
                bank=self.served[Served.BANK],
            ),
            levers=levers,
            prompt_cache=_prompt_cache(destinations),
            cache=CacheStats(
                lookups=self.cache_lookups,
                hits=cache_hits,
                hit_rate=cache_hits / self.cache_lookups if self.cache_lookups else 0.0,
                deduplicated=self.served[Served.DEDUPLICATED],
                template_rate=self.served[Served.TEMPLATE] / logical if logical else 0.0,
                avoided_rate=avoided / logical if logical else 0.0,
            ),
            turn_latency_s=self.turn_latency.summary(),
            turn_latency_cdf=Cdf(values_s=edges[::step] + edges[-1:], fraction=frac[::step] + frac[-1:]),
            turn_latency_by_hour=[
                HourOfDayLatency(hour=h, count=hist.count, p50_s=hist.quantile(0.5), p95_s=hist.quantile(0.95))
                for h, hist in enumerate(self.by_hour)
            ],
            turn_latency_by_run_hour=[
                HourOfDayLatency(hour=h, count=hist.count, p50_s=hist.quantile(0.5), p95_s=hist.quantile(0.95))
                for h, hist in enumerate(self.by_run_hour)
            ],
            queue_wait_s=self.queue_wait.summary(),
            ttft_s=self.ttft.summary(),
            interview_duration_s=self.duration.summary(),
            sla_p95_turn_latency_s=sla_p95_turn_latency_s,
            sla_ttft_s=sla_ttft_s,
            cost_usd=round(cost, 6),
            cost_per_interview_usd=cost / carried if carried else 0.0,
            destinations=destinations,
            errors=errors,
            timeseries=TimeSeries(
                interview_starts=self.starts.tolist(),
                in_flight_interviews=self.in_flight.tolist(),
                api_calls=self.calls.tolist(),
                queued_turns=self.queued.tolist(),
                failed_turns=self.failed_turns.tolist(),
            ),
            backlog_interviews=requested - carried,
            wasted_api_calls=self.wasted_calls,
            wall_time_s=wall_time_s,
        )


def _prompt_cache(destinations: list[DestinationResult]) -> PromptCacheStats:
    """The run's prompt caching, summed over the destinations."""
    cached = sum(d.cached_tokens_in for d in destinations)
    tokens_in = sum(d.tokens_in for d in destinations)
    return PromptCacheStats(
        cached_tokens_in=cached,
        cached_share=cached / tokens_in if tokens_in else 0.0,
        saved_usd=round(sum(d.prompt_cache_saved_usd for d in destinations), 6),
    )
