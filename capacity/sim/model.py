"""The simulator's driver of the policy core: simulated time, simulated providers and GPU servers.

Every decision — templates, the response cache, de-duplication, routing against each quota,
waiting for quota, retries with backoff, cool-downs, deadlines, gated admission, which GPU
server takes a request — is the policy core's (:mod:`capacity.policy.pipeline`, wired by
:func:`~capacity.policy.build.build_core`). This module only makes time pass: each
candidate's session is one process on the simulation's :class:`~capacity.sim.clock.Clock`
(SimPy's event order, compiled) that runs the core's session generator, turning each action it
yields into events:

* ``Sleep`` → a timeout;
* ``Call`` to a provider → a timeout of the provider's simulated service time: time to first
  token + output tokens ÷ decode speed, both drawn from its latency model; it fails with the
  provider's error rate (a 5xx after the first-token time), during a scheduled outage, or past
  the client timeout (:class:`ApiStation`). With router replicas on local ledgers the
  simulated provider also enforces its own quota ledger (:mod:`capacity.policy.fleet` explains
  why): a call it has no room for fails with a 429 after the first-token time. With
  ``keyed_draws`` (``capacity validate``) a call's fate — failure, TTFT, decode speed — is
  drawn from the call's identity (:mod:`capacity.workload.keyed`), as the emulator draws it;
* ``Call`` to a GPU pool → the event of the chosen server's completion
  (:class:`~capacity.sim.gpu_station.GpuStation`);
* ``Park`` → an event that ``Resolve`` or the quota-wait queue's timer succeeds;
* ``ArmTimer`` → a timeout whose callback hands the queue its timer;
* ``Admit`` and ``Settle`` → answered at once, at the same instant, by the router's in-memory
  quota ledger.

Random numbers come from one seed, split into independent streams (sessions, candidate
behaviour, token counts, service times, router, retries, catalogue) and drawn in blocks: the
same scenario and seed give the same numbers, bit for bit.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from capacity.config.loader import Configuration
from capacity.gpu.cost import PoolCost, pool_cost
from capacity.gpu.pool import make_servers
from capacity.metrics.recorder import Recorder
from capacity.policy.actions import Admit, ArmTimer, Call, Park, Resolve, Settle, Sleep
from capacity.policy.build import build_core, seed_streams
from capacity.policy.deferral import lever_stats
from capacity.policy.destination import Destination
from capacity.policy.ledger import Admission, DestinationQuota, account_pools
from capacity.policy.pipeline import Pipeline
from capacity.policy.windows import QuotaWindow
from capacity.result import RunResult
from capacity.sim.clock import Clock, Event
from capacity.sim.gpu_station import GpuStation
from capacity.units import DAY_S, DAYS_PER_MONTH, HOUR_S
from capacity.workload.calendar import (
    active_hours_per_day,
    days_spanned,
    need_interviews_per_day,
    plan_arrivals,
    run_start,
)
from capacity.workload.distributions import BlockStream, StandardUniform, sampler
from capacity.workload.keyed import CallKey, ServiceDraw, draw_service

ProgressCallback = Callable[[float, float], None]
"""Called with (simulated time, end time), s, as the run advances; last with the two equal, where
the run ended (before the horizon when every interview has ended)."""

DRAIN_S = DAY_S
"""How long after the last day of demand the run continues so that started interviews end."""


class ApiStation:
    """Service-time and failure draws of one provider model, and the quota the provider enforces.

    ``enforced`` is the provider's own ledger — the model's windows at their full limits, on the
    account the router chose — kept when router replicas keep local ledgers, whose beliefs may
    exceed it: a call the provider's ledger refuses fails at once with a 429 (after the reply's
    first-token time) and spends no provider quota. ``None`` with a shared ledger, which mirrors
    the provider's windows exactly and so is never refused.
    """

    def __init__(
        self,
        dest: Destination,
        config: Configuration,
        rng: np.random.Generator,
        provider: str,
        enforced: DestinationQuota | None = None,
        keyed_seed: int | None = None,
    ) -> None:
        assert dest.quota is not None
        self.enforced = enforced
        spec = dest.quota.spec
        self.ttft_dist = sampler(spec.latency.ttft_s)
        self.speed_dist = sampler(spec.latency.output_tokens_per_s)
        self.keyed_seed = keyed_seed
        """Draw each call's fate from its key and this seed (:mod:`capacity.workload.keyed`), not from the streams."""
        self.ttft = BlockStream(self.ttft_dist, rng)
        self.speed = BlockStream(self.speed_dist, rng)
        self.uniform = BlockStream(StandardUniform(), rng)  # failure decisions
        self.error_rate = spec.error_rate
        self.timeout_s = spec.timeout_s
        cache = dest.prompt_cache
        self.ttft_saving = 0.0 if cache is None else cache.ttft_share
        """Share of the TTFT a fully cached prompt saves (prompt caching; 0 where unknown)."""
        self.outages = [
            (o.start_s, o.start_s + o.duration_s) for o in config.scenario.outages if o.provider == provider
        ]

    def draw(self, key: CallKey) -> ServiceDraw:
        """The fate of call ``key`` drawn from its identity (only with ``keyed_seed``)."""
        assert self.keyed_seed is not None
        return draw_service(self.keyed_seed, key, self.ttft_dist, self.speed_dist)

    def in_outage(self, now: float) -> bool:
        """Whether the provider is down at ``now``."""
        return bool(self.outages) and any(a <= now < b for a, b in self.outages)

    def admit(self, now: float, call: Call) -> Admission | None:
        """Charge ``call`` to the provider's own ledger, on the account the router chose
        (``None``: the provider has no room: it answers 429). Only with ``enforced``."""
        enforced = self.enforced
        assert enforced is not None
        account = call.routed.admission.account
        charge = enforced.tariff.charge(call.tokens_in, call.max_tokens, call.cached_tokens)
        granted = enforced.accounts[account].try_admit(now, charge, account)
        return granted if isinstance(granted, Admission) else None


class Simulation:
    """One run of one scenario: build with a configuration, then :meth:`run`."""

    def __init__(
        self,
        config: Configuration,
        *,
        seed: int | None = None,
        days: int | None = None,
        max_interviews: int | None = None,
        keyed_draws: bool = False,
        rolling_margin_s: float = 0.0,
    ) -> None:
        sc = config.scenario
        self.config = config
        self.seed = sc.seed if seed is None else seed
        self.days = (
            min(days or sc.demand.days, sc.demand.days) if sc.demand.kind == "total" else (days or sc.demand.days)
        )
        self.env = Clock()
        streams = seed_streams(self.seed)
        self.run_start = run_start(sc.calendar)
        self.demand_end_s = self.days * DAY_S
        self.end_s = self.demand_end_s + DRAIN_S

        self.recorder = Recorder(self.end_s)
        self.core = build_core(config, self.run_start, streams, self.recorder, rolling_margin_s=rolling_margin_s)
        self.recorder.bind(self.core.destinations, self.core.replica_destinations)
        self.router = self.core.router
        self.destinations: list[Destination] = self.core.destinations

        span = self.core.script.expected_interview_duration_s() + sc.candidates.gap_between_interviews_s
        sessions = plan_arrivals(sc, streams.sessions, span, self.days, max_interviews)
        self.session_start = sessions.start_s.tolist()
        self.session_candidate = sessions.candidate.tolist()
        self.session_interviews = sessions.interviews.tolist()
        self.requested = int(sum(self.session_interviews))

        self.stations: list[ApiStation | GpuStation] = []
        truth_pools: dict[str, list[list[QuotaWindow]]] = {}
        provider_accounts: dict[str, int] = {}  # accounts of each provider in use, as build_core counts them
        for d in sc.routing.all_destinations:
            if d.provider is not None:
                n = d.accounts or config.provider(d.provider).accounts
                provider_accounts[d.provider] = max(n, provider_accounts.get(d.provider, 0))
        self.pool_costs: dict[int, PoolCost] = {}
        pools = {p.name: p for p in sc.gpu_pools}
        for i, (d, dest) in enumerate(zip(sc.routing.all_destinations, self.destinations, strict=True)):
            if d.pool is not None:
                assert dest.replicas is not None
                pool = pools[d.pool]
                servers = make_servers(config.gpu_catalog, pool)
                self.stations.append(GpuStation(self.env, servers, dest.replicas))
                self.pool_costs[i] = pool_cost(
                    config.gpu_catalog, pool, active_hours_per_day=active_hours_per_day(sc.calendar)
                )
            else:
                assert d.provider is not None and d.model is not None
                enforced = None
                if len(self.core.replica_destinations) > 1:  # local ledgers: the provider's own is the truth
                    provider = config.provider(d.provider)
                    spec = provider.model(d.model)
                    assert spec is not None
                    accounts = d.accounts or provider.accounts
                    if d.provider not in truth_pools:  # the account-wide allowances, one set per provider account
                        truth_pools[d.provider] = account_pools(provider, provider_accounts[d.provider], self.run_start)
                    enforced = DestinationQuota(
                        spec,
                        accounts,
                        self.run_start,
                        pools=truth_pools[d.provider],
                        prompt_cache=provider.prompt_cache_of(spec),
                    )
                keyed_seed = self.seed if keyed_draws else None
                self.stations.append(ApiStation(dest, config, streams.service, d.provider, enforced, keyed_seed))
        self.sessions_done = 0
        self.max_interviews = max_interviews
        # a run of the first N interviews is judged over the days its interviews start on
        self.result_days = self.days if max_interviews is None else days_spanned(self.session_start)

    # ------------------------------------------------------------------------------------
    def _bookings(self) -> Generator[Event, Any, None]:
        """Deferred stages: each session is booked ``lead_time_s`` before it starts (at 0 at the
        earliest), and its deferred requests are made then (:mod:`capacity.policy.deferral`)."""
        env = self.env
        pipeline = self.core.pipeline
        deferred = pipeline.deferred
        assert deferred is not None
        lead = deferred.lead_time_s
        for start, candidate, count in zip(
            self.session_start, self.session_candidate, self.session_interviews, strict=True
        ):
            at = max(0.0, start - lead)
            if at > env.now:
                yield env.timeout(at - env.now)
            booking = deferred.book(pipeline.behaviour.outputs, pipeline.call_ahead, env.now, candidate, count, start)
            env.process(self._drive(booking, session=False))

    def _arrivals(self) -> Generator[Event, Any, None]:
        env = self.env
        session = self.core.pipeline.session
        for start, candidate, count in zip(
            self.session_start, self.session_candidate, self.session_interviews, strict=True
        ):
            if start > env.now:
                yield env.timeout(start - env.now)
            env.process(self._drive(session(env.now, candidate, count)))

    def _drive(self, pipeline: Pipeline, session: bool = True) -> Generator[Event, Any, None]:
        """Run one session's pipeline (or, ``session`` false, a booking's deferred requests): each
        action it yields becomes events on the clock (the hot path of the simulator: a call to a provider
        is inlined)."""
        env = self.env
        send = pipeline.send
        stations = self.stations
        router = self.router  # called directly: a bound method would be a Python call when compiled
        try:
            action = next(pipeline)
            while True:
                kind = type(action)
                if kind is Admit:  # the in-memory ledger answers at once, at the same instant
                    admit: Admit = action  # type: ignore[assignment]
                    admit.answer = router.route(
                        env.now, admit.tokens_in, admit.max_output_tokens, admit.prefix, admit.group
                    )
                elif kind is Settle:
                    ended: Settle = action  # type: ignore[assignment]
                    ended.freed = router.settle(
                        env.now, ended.routed, ended.tokens_in, ended.tokens_out, ended.latency_s
                    )
                elif kind is Sleep:
                    yield env.timeout(action.seconds)  # type: ignore[union-attr]
                elif kind is Call:
                    call: Call = action  # type: ignore[assignment]
                    station = stations[call.routed.destination.index]
                    if type(station) is ApiStation:
                        keyed = None if station.keyed_seed is None else station.draw(call.key)
                        ttft = station.ttft.next() if keyed is None else keyed.ttft_s
                        if call.cached_tokens:  # a prompt-cache hit skips that share of the prefill
                            ttft *= 1.0 - station.ttft_saving * call.cached_tokens / call.tokens_in
                        granted = station.admit(env.now, call) if station.enforced is not None else None
                        if station.enforced is not None and granted is None:
                            call.failure, call.ttft_s, call.latency_s = "429", ttft, ttft  # refused by the provider
                            yield env.timeout(ttft)
                        else:
                            speed = station.speed.next() if keyed is None else keyed.output_tokens_per_s
                            latency = ttft + call.tokens_out / speed
                            failed = (
                                station.in_outage(env.now)
                                or (station.uniform.next() if keyed is None else keyed.failure_u) < station.error_rate
                            )
                            if failed:
                                call.failure, latency = "5xx", ttft
                            elif latency > station.timeout_s:
                                call.failure, latency = "timeout", station.timeout_s
                            call.ttft_s, call.latency_s = ttft, latency
                            yield env.timeout(latency)
                            if granted is not None:  # the provider counts what was really used
                                assert station.enforced is not None
                                used = call.tokens_out if call.failure is None else 0
                                station.enforced.settle(env.now, granted, call.tokens_in, used)
                    else:
                        assert isinstance(station, GpuStation)
                        done = yield station.submit(call.server, call.tokens_in, call.tokens_out, call.conversation)
                        call.ttft_s = done.first_token_s - done.submitted_s
                        call.latency_s = done.finished_s - done.submitted_s
                elif kind is Park:
                    event = env.event()
                    action.ticket.handle = event  # type: ignore[union-attr]
                    yield event
                elif kind is Resolve:
                    for ticket in action.tickets:  # type: ignore[union-attr]
                        ticket.handle.succeed()
                else:
                    self._arm(action)  # type: ignore[arg-type]
                action = send(env.now)
        except StopIteration:
            self.sessions_done += session

    def _arm(self, arm: ArmTimer) -> None:
        """Arm the quota-wait queue's timer; when it fires, resume the tickets it resolves."""
        version = arm.version
        self.env.call_later(max(0.0, arm.at - self.env.now), lambda: self._queue_timer(version))

    def _queue_timer(self, version: int) -> None:
        resolved, arm = self.core.queue.on_timer(self.env.now, version)
        for ticket in resolved:
            ticket.handle.succeed()
        if arm is not None:
            self._arm(arm)

    # ------------------------------------------------------------------------------------
    def run(self, progress: ProgressCallback | None = None) -> RunResult:
        """Simulate until every interview has ended or the horizon (demand days + a drain day)."""
        # Python's cyclic garbage collector, tuned for the run and restored after it: a run
        # allocates millions of short-lived objects (events, charges, generators), and a young
        # collection every 700 of them that also scans the configuration and the policy core
        # cost 8–15 % of A's CPU time (measured). Frozen, those are left out of every collection;
        # a larger first generation collects a tenth as often. Nothing the run computes changes.
        # Objects a caller froze already (a server that forks, say) are left as they were.
        threshold = gc.get_threshold()
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        gc.set_threshold(10_000, threshold[1], threshold[2])
        try:
            return self._run(progress)
        finally:
            gc.set_threshold(*threshold)
            if freeze:
                gc.unfreeze()

    def _run(self, progress: ProgressCallback | None) -> RunResult:
        began = time.perf_counter()
        env = self.env
        env.process(self._arrivals())
        if self.core.pipeline.deferred is not None:
            env.process(self._bookings())
        sessions = len(self.session_start)
        t = 0.0
        while t < self.end_s:
            t = min(t + HOUR_S, self.end_s)
            env.run(until=t)
            if progress is not None:
                progress(t, self.end_s)
            if self.sessions_done == sessions and t >= (self.session_start[-1] if sessions else 0.0):
                break
        if progress is not None and t < self.end_s:
            progress(t, t)  # every interview ended before the drain day did: the run ends here
        self.recorder.unfinished(self.requested - sum(self.recorder.outcomes.values()))
        self.recorder.horizon_s = min(t, self.end_s)
        sc = self.config.scenario
        return self.recorder.result(
            scenario=sc.name,
            mode="simulated",
            seed=self.seed,
            days=self.result_days,
            run_start=self.run_start,
            need_interviews_per_day=self.requested / self.result_days
            if self.days < sc.demand.days or self.max_interviews is not None
            else need_interviews_per_day(sc),
            sla_p95_turn_latency_s=sc.sla.p95_turn_latency_s,
            sla_ttft_s=sc.sla.ttft_s,
            fixed_costs_usd={i: c.usd_per_month * self.days / DAYS_PER_MONTH for i, c in self.pool_costs.items()},
            wall_time_s=time.perf_counter() - began,
            levers=lever_stats(self.core.levers, set(self.core.pipeline.banks.values())),
        )


def simulate(
    config: Configuration,
    *,
    seed: int | None = None,
    days: int | None = None,
    max_interviews: int | None = None,
    progress: ProgressCallback | None = None,
    keyed_draws: bool = False,
    rolling_margin_s: float = 0.0,
) -> RunResult:
    """Run one simulation of ``config`` (``days`` shortens the demand horizon; ``max_interviews``
    keeps only the first sessions, up to that many interviews; ``keyed_draws`` draws each
    provider call's fate from its identity, as a validated live run's emulator does;
    ``rolling_margin_s`` simulates a router whose rolling windows hold each request that much
    longer, s, as a live router's do — :func:`~capacity.policy.build.build_core`)."""
    return Simulation(
        config,
        seed=seed,
        days=days,
        max_interviews=max_interviews,
        keyed_draws=keyed_draws,
        rolling_margin_s=rolling_margin_s,
    ).run(progress)
