"""The simulation model: interview sessions, turns, provider stations.

Each interview session (one candidate's run of interviews) is one SimPy process. A turn that
needs a model goes: template → response cache → in-flight de-duplication → router → provider.
A provider call takes time to first token + output tokens ÷ decode speed, both drawn from the
provider's latency model; it fails with the provider's error rate (a 5xx after the first-token
time), during a scheduled outage, or past the client timeout. Failed calls are retried with
exponential backoff and jitter while the turn's deadline allows; a turn that finds no quota
queues (FIFO, :mod:`capacity.sim.waitqueue`), degrades to a template answer or fails, as the
scenario's routing says. An interview with a failed turn is abandoned (failed); one with a
degraded turn finishes degraded.

Random numbers come from one seed, split into independent streams (sessions, candidate
behaviour, token counts, service times, router, retries) and drawn in blocks: the same
scenario and seed give the same numbers, bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from capacity.config.loader import Configuration
from capacity.gpu.cost import PoolCost, pool_cost
from capacity.gpu.pool import make_servers
from capacity.metrics.recorder import Recorder
from capacity.policy.cache import ResponseCache
from capacity.policy.dedup import InFlight
from capacity.policy.ledger import DestinationQuota
from capacity.policy.router import Destination, RetryPolicy, Routed, Router
from capacity.result import RunResult
from capacity.sim.gpu_station import GpuStation
from capacity.sim.waitqueue import QuotaQueue
from capacity.units import DAY_S, DAYS_PER_MONTH, HOUR_S, Outcome, Served
from capacity.workload.calendar import (
    active_hours_per_day,
    build_sessions,
    need_interviews_per_day,
    run_start,
)
from capacity.workload.distributions import BlockStream, StandardUniform, sampler
from capacity.workload.script import Turn, compile_script

ProgressCallback = Callable[[float, float], None]
"""Called with (simulated time, end time), s, as the run advances."""

DRAIN_S = DAY_S
"""How long after the last day of demand the run continues so that started interviews end."""


class ApiStation:
    """Service-time and failure draws of one provider model."""

    def __init__(
        self, dest: Destination, config: Configuration, rng: np.random.Generator, provider: str
    ) -> None:
        assert dest.quota is not None
        spec = dest.quota.spec
        self.ttft = BlockStream(sampler(spec.latency.ttft_s), rng)
        self.speed = BlockStream(sampler(spec.latency.output_tokens_per_s), rng)
        self.uniform = BlockStream(StandardUniform(), rng)  # failure decisions
        self.error_rate = spec.error_rate
        self.timeout_s = spec.timeout_s
        self.outages = [
            (o.start_s, o.start_s + o.duration_s) for o in config.scenario.outages if o.provider == provider
        ]

    def in_outage(self, now: float) -> bool:
        """Whether the provider is down at ``now``."""
        return any(a <= now < b for a, b in self.outages)


class Simulation:
    """One run of one scenario: build with a configuration, then :meth:`run`."""

    def __init__(self, config: Configuration, *, seed: int | None = None, days: int | None = None) -> None:
        sc = config.scenario
        self.config = config
        self.seed = sc.seed if seed is None else seed
        self.days = (
            min(days or sc.demand.days, sc.demand.days)
            if sc.demand.kind == "total"
            else (days or sc.demand.days)
        )
        self.env = simpy.Environment()
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(7)]
        rng_sessions, rng_people, rng_tokens, rng_service, rng_router, self.rng_retry, rng_catalogue = streams
        self.script = compile_script(sc.script)
        self.run_start = run_start(sc.calendar)
        self.demand_end_s = self.days * DAY_S
        self.end_s = self.demand_end_s + DRAIN_S

        gap = sc.candidates.gap_between_interviews_s
        span = self.script.expected_interview_duration_s() + gap
        demand = (
            sc
            if sc.demand.kind == "total" or self.days == sc.demand.days
            else sc.model_copy(update={"demand": sc.demand.model_copy(update={"days": self.days})})
        )
        sessions = build_sessions(demand, rng_sessions, span)
        # a shortened run keeps the sessions that start in its days; a full run keeps all
        # (the last day's western time zones start after 24:00 UTC)
        keep = sessions.start_s < (self.demand_end_s if self.days < sc.demand.days else np.inf)
        self.session_start = sessions.start_s[keep].tolist()
        self.session_candidate = sessions.candidate[keep].tolist()
        self.session_interviews = sessions.interviews[keep].tolist()
        self.requested = int(sum(self.session_interviews))
        self.gap_s = gap

        self.destinations: list[Destination] = []
        self.stations: list[ApiStation | GpuStation] = []
        self.pool_costs: dict[int, PoolCost] = {}
        pools = {p.name: p for p in sc.gpu_pools}
        catalog = config.gpu_catalog if pools else None
        for i, d in enumerate(sc.routing.destinations):
            if d.pool is not None:
                assert catalog is not None
                pool = pools[d.pool]
                self.destinations.append(Destination(i, d.label, "gpu", None, d.weight))
                self.stations.append(GpuStation(self.env, make_servers(catalog, pool)))
                self.pool_costs[i] = pool_cost(
                    catalog, pool, active_hours_per_day=active_hours_per_day(sc.calendar)
                )
                continue
            assert d.provider is not None and d.model is not None  # checked on load
            provider = config.provider(d.provider)
            spec = provider.model(d.model)
            assert spec is not None
            quota = DestinationQuota(spec, d.accounts or provider.accounts, self.run_start)
            dest = Destination(i, d.label, "api", quota, d.weight, billing_paid=provider.billing == "paid")
            self.destinations.append(dest)
            self.stations.append(ApiStation(dest, config, rng_service, d.provider))

        self.recorder = Recorder(self.end_s, self.destinations)
        self.router = Router(self.destinations, sc.routing.strategy, rng_router)
        self.queue = QuotaQueue(self.env, self.router, self.recorder.queue_length)
        routing = sc.routing
        self.retry = RetryPolicy(routing.max_retries, routing.backoff_base_s, routing.backoff_max_s)
        self.deadline_s = routing.turn_deadline_s
        self.on_exhausted = routing.on_exhausted
        self.past_deadline = Served.DEGRADED if routing.on_deadline == "degrade" else Served.FAILED
        self.cooldown_s = routing.cooldown_s
        self.gated = routing.admission == "gated"
        self.admission_cooldown_s = routing.admission_cooldown_s
        self.last_failed_turn_s = -math.inf
        self.cache = ResponseCache(sc.cache.ttl_s, sc.cache.max_entries) if sc.cache.enabled else None
        self.dedup = sc.cache.enabled and sc.cache.deduplicate_in_flight
        self.in_flight: InFlight[simpy.Event] = InFlight()

        self.think = BlockStream(self.script.think_time_s, rng_people)
        self.answer = BlockStream(self.script.answer_tokens, rng_people)
        self.outputs = [BlockStream(t.output_tokens, rng_tokens) for t in self.script.turns]
        self.catalogue = [self._catalogue_stream(t, rng_catalogue) for t in self.script.turns]
        self.ended = 0
        self.sessions_done = 0

    # ------------------------------------------------------------------------------------
    @staticmethod
    def _catalogue_stream(turn: Turn, rng: np.random.Generator) -> Callable[[], int] | None:
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

    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for start, candidate, count in zip(
            self.session_start, self.session_candidate, self.session_interviews, strict=True
        ):
            if start > env.now:
                yield env.timeout(start - env.now)
            env.process(self._session(candidate, count))

    def _session(self, candidate: int, count: int) -> Generator[simpy.Event, Any, None]:
        for j in range(count):
            yield from self._interview(candidate)
            if j < count - 1 and self.gap_s > 0:
                yield self.env.timeout(self.gap_s)
        self.sessions_done += 1

    def _saturated(self) -> bool:
        """Gated admission: turns are waiting for quota, or one failed a moment ago."""
        return bool(self.queue.waiting) or self.env.now - self.last_failed_turn_s < self.admission_cooldown_s

    def _interview(self, candidate: int) -> Generator[simpy.Event, Any, None]:
        env, rec = self.env, self.recorder
        start = env.now
        if self.gated and self._saturated():
            self.ended += 1
            rec.turned_away(start)
            return
        rec.interview_started(start)
        history = 0.0
        degraded = False
        tokens = 0
        calls = 0
        for turn in self.script.turns:
            if turn.candidate_speaks_before:
                yield env.timeout(self.think.next())
                history += self.answer.next()
            needed = env.now
            tokens_out = min(round(self.outputs[turn.index].next()), turn.max_output_tokens)
            if turn.template:
                rec.turn(needed, Served.TEMPLATE, 0.0)
            else:
                tokens_in = turn.fixed_input_tokens + (round(history) if turn.reads_history else 0)
                served = yield from self._answer_turn(turn, candidate, tokens_in, tokens_out, needed)
                if served is Served.FAILED:
                    self.last_failed_turn_s = env.now
                    self.ended += 1
                    rec.interview_ended(env.now, Outcome.FAILED, env.now - start, tokens, calls)
                    return
                degraded = degraded or served is Served.DEGRADED
                if served is Served.PROVIDER:
                    tokens += tokens_in + tokens_out
                    calls += 1
            if turn.adds_to_history:
                history += tokens_out
        self.ended += 1
        outcome = Outcome.DEGRADED if degraded else Outcome.COMPLETED
        rec.interview_ended(env.now, outcome, env.now - start, tokens, calls)

    def _cache_key(self, turn: Turn, candidate: int) -> tuple[str, int] | None:
        if self.cache is None or turn.cache.key == "none":
            return None
        if turn.cache.key == "candidate":
            return (turn.stage, candidate)
        draw = self.catalogue[turn.index]
        assert draw is not None
        return (turn.stage, draw())

    def _answer_turn(
        self, turn: Turn, candidate: int, tokens_in: int, tokens_out: int, needed: float
    ) -> Generator[simpy.Event, Any, Served]:
        env, rec = self.env, self.recorder
        key = self._cache_key(turn, candidate)
        leading = False
        if key is not None:
            assert self.cache is not None
            rec.cache_lookup()
            if self.cache.get(key, env.now):
                rec.turn(needed, Served.CACHE, 0.0, candidate_waits=turn.candidate_waits)
                return Served.CACHE
            if self.dedup and key in self.in_flight:
                event = env.event()
                self.in_flight.follow(key, event)
                ok = yield event
                if ok:
                    rec.turn(
                        needed, Served.DEDUPLICATED, env.now - needed, candidate_waits=turn.candidate_waits
                    )
                    return Served.DEDUPLICATED
            leading = self.dedup and self.in_flight.lead(key)
        served, wait = yield from self._call(tokens_in, turn.max_output_tokens, tokens_out, needed)
        if key is not None:
            assert self.cache is not None
            if served is Served.PROVIDER:
                self.cache.put(key, env.now)
            if leading:
                for waiter in self.in_flight.finish(key):
                    waiter.succeed(served is Served.PROVIDER)
        rec.turn(needed, served, env.now - needed, wait, candidate_waits=turn.candidate_waits)
        return served

    def _call(
        self, tokens_in: int, max_output_tokens: int, tokens_out: int, needed: float
    ) -> Generator[simpy.Event, Any, tuple[Served, float]]:
        """Route (reserving input + ``max_output_tokens``), wait for quota, send (generating
        ``tokens_out``), retry; returns how the turn was served and the quota wait."""
        env = self.env
        deadline = needed + self.deadline_s
        attempt = 0
        wait = 0.0
        while True:
            routed: Routed | float
            routed = (
                math.inf if self.queue.waiting else self.router.route(env.now, tokens_in, max_output_tokens)
            )
            if not isinstance(routed, Routed):
                if self.on_exhausted == "degrade":
                    return Served.DEGRADED, wait
                if self.on_exhausted == "fail":
                    return Served.FAILED, wait
                joined = env.now
                granted: Routed | None = yield self.queue.join(tokens_in, max_output_tokens, deadline, routed)
                wait += env.now - joined
                if granted is None:
                    return self.past_deadline, wait
                routed = granted
            ok = yield from self._send(routed, tokens_in, tokens_out)
            if ok:
                return Served.PROVIDER, wait
            if attempt >= self.retry.max_retries:
                return self.past_deadline, wait
            delay = self.retry.delay_s(attempt, self.rng_retry)
            attempt += 1
            if env.now + delay >= deadline:
                return self.past_deadline, wait
            yield env.timeout(delay)

    def _send(self, routed: Routed, tokens_in: int, tokens_out: int) -> Generator[simpy.Event, Any, bool]:
        """One call to a provider or GPU pool: True if it answered."""
        env, rec = self.env, self.recorder
        dest = routed.destination
        station = self.stations[dest.index]
        rec.call_sent(env.now, dest)
        if isinstance(station, GpuStation):
            done = yield station.submit(tokens_in, tokens_out)
            self.router.settle(env.now, routed, tokens_in, tokens_out, done.finished_s - done.submitted_s)
            rec.call_done(dest, tokens_in, tokens_out, done.first_token_s - done.submitted_s, 0.0)
            return True
        assert dest.quota is not None
        tokens_out = min(tokens_out, dest.quota.output_cap(tokens_out))
        ttft = station.ttft.next()
        latency = ttft + tokens_out / station.speed.next()
        failure: str | None = None
        if station.in_outage(env.now) or station.uniform.next() < station.error_rate:
            failure, latency = "5xx", ttft
        elif latency > station.timeout_s:
            failure, latency = "timeout", station.timeout_s
        yield env.timeout(latency)
        if failure is None:
            self.router.settle(env.now, routed, tokens_in, tokens_out, latency)
            rec.call_done(dest, tokens_in, tokens_out, ttft, dest.price_usd(tokens_in, tokens_out))
        else:
            self.router.settle(env.now, routed, tokens_in, 0, None)
            self.router.cool_down(env.now, routed, self.cooldown_s)
            rec.call_failed(dest, failure)
        self.queue.kick()
        return failure is None

    # ------------------------------------------------------------------------------------
    def run(self, progress: ProgressCallback | None = None) -> RunResult:
        """Simulate until every interview has ended or the horizon (demand days + a drain day)."""
        began = time.perf_counter()
        env = self.env
        env.process(self._arrivals())
        sessions = len(self.session_start)
        t = 0.0
        while t < self.end_s:
            t = min(t + HOUR_S, self.end_s)
            env.run(until=t)
            if progress is not None:
                progress(t, self.end_s)
            if self.sessions_done == sessions and t >= (self.session_start[-1] if sessions else 0.0):
                break
        self.recorder.unfinished(self.requested - self.ended)
        self.recorder.horizon_s = min(t, self.end_s)
        sc = self.config.scenario
        return self.recorder.result(
            scenario=sc.name,
            mode="simulated",
            seed=self.seed,
            days=self.days,
            run_start=self.run_start,
            need_interviews_per_day=self.requested / self.days
            if self.days < sc.demand.days
            else need_interviews_per_day(sc),
            sla_p95_turn_latency_s=sc.sla.p95_turn_latency_s,
            sla_ttft_s=sc.sla.ttft_s,
            cache_hits=self.cache.hits if self.cache else 0,
            fixed_costs_usd={
                i: c.usd_per_month * self.days / DAYS_PER_MONTH for i, c in self.pool_costs.items()
            },
            wall_time_s=time.perf_counter() - began,
        )


def simulate(
    config: Configuration,
    *,
    seed: int | None = None,
    days: int | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run one simulation of ``config`` (``days`` shortens the demand horizon)."""
    return Simulation(config, seed=seed, days=days).run(progress)
