"""Wiring a configuration into the policy core: :func:`build_core`.

One function turns a loaded :class:`~capacity.config.loader.Configuration` into the policy
objects — a quota ledger per provider model (one set of windows per account, plus the
account-wide allowances its provider's models share; one ledger per router replica with local
ledgers), a replica set per GPU pool, the router and its strategy, the quota-wait queue, the
response cache, the retry policy and the turn pipeline — all reporting to one observer. The
simulator and the live runtime both call it, so both run the same policy on the same numbers.

Randomness: one seed is split into seven independent streams (:func:`seed_streams`), in a
fixed order, so the same scenario and seed give the same candidates, the same behaviour and
the same routing draws in every driver; a driver uses the streams it needs (the simulator
draws service times from ``service``; the live runtime meets real providers instead).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from capacity.config.loader import Configuration
from capacity.policy.cache import ResponseCache
from capacity.policy.deferral import LeverCounts
from capacity.policy.fleet import RouterFleet, split_limits, split_quotas
from capacity.policy.ledger import DestinationQuota, account_pools
from capacity.policy.levers import attach_levers
from capacity.policy.observer import PolicyObserver
from capacity.policy.pipeline import CandidateBehaviour, PipelineSettings, TurnPipeline
from capacity.policy.replicas import ReplicaSet
from capacity.policy.router import Destination, RetryPolicy, Router
from capacity.policy.waitqueue import QuotaWaitQueue
from capacity.policy.windows import QuotaWindow
from capacity.units import Served
from capacity.workload.script import CompiledScript, compile_script

__all__ = ["Core", "Streams", "build_core", "seed_streams"]


class Streams(NamedTuple):
    """The seven random streams of a run, in the order they are spawned from its seed."""

    sessions: np.random.Generator  # candidates' arrival times and interview counts
    people: np.random.Generator  # think times and answer lengths
    tokens: np.random.Generator  # output tokens of each turn
    service: np.random.Generator  # simulated providers' latency and failures
    router: np.random.Generator  # the weighted strategy's draws
    retry: np.random.Generator  # backoff jitter
    catalogue: np.random.Generator  # which catalogue prompt a cached turn asks for


def seed_streams(seed: int) -> Streams:
    """Split ``seed`` into the run's independent streams (numpy SeedSequence spawning)."""
    return Streams(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)))


@dataclass(frozen=True)
class Core:
    """The policy objects of one run, wired together."""

    script: CompiledScript
    destinations: list[Destination]
    router: Router
    queue: QuotaWaitQueue
    cache: ResponseCache | None
    pipeline: TurnPipeline
    replica_destinations: list[list[Destination]]
    """Each router replica's routing table (one with a shared ledger); the first is ``destinations``."""
    levers: LeverCounts
    """What deferred stages and question banks did (counts, $), filled in during the run."""
    groups: tuple[str, ...] = ("default",)
    """The model groups' names, by index (the ``group`` of an :class:`~capacity.policy.actions.Admit`)."""


def build_core(
    config: Configuration,
    run_start: dt.datetime,
    streams: Streams,
    observer: PolicyObserver,
    *,
    rolling_margin_s: float = 0.0,
) -> Core:
    """The policy core of ``config`` for a run starting at ``run_start`` (UTC).

    Quota windows are laid on ``run_start`` (daily resets at the provider's local time, the 1st
    of the month); every window and concurrency limit gets a distinct ``id`` for the observer.
    A provider's account-wide allowances (``account_limits``) are one set of windows per account,
    shared by the ledgers of every destination on that provider (per replica, with local ledgers).
    With ``routing.replicas`` > 1 and a ``local`` or ``local_split`` ledger, each replica gets
    its own ledgers (the full limits, or 1/replicas of each) and the router is a
    :class:`~capacity.policy.fleet.RouterFleet` (:mod:`capacity.policy.fleet`); a shared ledger
    builds the one router of a single replica.
    Model groups (``routing.groups``): every group's destinations are one flat list
    (:attr:`~capacity.config.scenario.Routing.all_destinations`, one ledger per model, shared by
    the groups naming it); the router routes each turn within its stage's group, and the
    quota-wait queue keeps one line per group.
    ``rolling_margin_s`` (live runs: a request's one-way trip, in run seconds) lengthens the
    rolling windows (:func:`~capacity.policy.ledger.build_windows`); the simulator uses none.
    """
    sc = config.scenario
    routing = sc.routing
    pools = {p.name: p for p in sc.gpu_pools}
    targets = routing.all_destinations  # every model group's destinations, each once: one ledger each
    members = routing.group_members
    group_index = {name: g for g, name in enumerate(members)}
    groups = [(m, routing.group_strategy(name)) for name, m in members.items()] if routing.groups else []
    n = routing.replicas if routing.ledger != "shared" else 1
    tables: list[list[Destination]] = []
    gpu: dict[int, Destination] = {}  # a GPU pool has no ledger: one destination in every replica
    window_id = 0
    numbered: set[int] = set()  # windows already given an id
    for _ in range(n):
        destinations: list[Destination] = []
        shared: dict[str, list[list[QuotaWindow]]] = {}  # account-wide allowances, one set per account
        for d in targets:
            if d.provider is not None:
                provider = config.provider(d.provider)
                if routing.ledger == "local_split" and provider.account_limits is not None:
                    provider = provider.model_copy(update={"account_limits": split_quotas(provider.account_limits, n)})
                accounts = max(d.accounts or provider.accounts, len(shared.get(d.provider, [])))
                shared[d.provider] = account_pools(provider, accounts, run_start, rolling_margin_s)
        for i, d in enumerate(targets):
            if d.pool is not None:
                if i not in gpu:
                    pool = pools[d.pool]
                    replicas = ReplicaSet(pool.servers, pool.affinity_load_factor)
                    gpu[i] = Destination(i, d.label, "gpu", None, d.weight, replicas=replicas)
                destinations.append(gpu[i])
                continue
            assert d.provider is not None and d.model is not None  # checked on load
            provider = config.provider(d.provider)
            spec = provider.model(d.model)
            assert spec is not None
            if routing.ledger == "local_split":
                spec = split_limits(spec, n)
            quota = DestinationQuota(
                spec,
                d.accounts or provider.accounts,
                run_start,
                observer,
                rolling_margin_s,
                shared[d.provider],
                provider.prompt_cache_of(spec),
            )
            for account in quota.accounts:
                for window in account.windows:
                    if id(window) not in numbered:  # an account-wide pool is in several ledgers
                        numbered.add(id(window))
                        window.id = window_id
                        window_id += 1
                if account.concurrency is not None:
                    account.concurrency.id = window_id
                    window_id += 1
            paid = provider.billing == "paid"
            destinations.append(Destination(i, d.label, "api", quota, d.weight, billing_paid=paid))
        tables.append(destinations)
    routers = [
        Router(table, routing.strategy, streams.router, observer, routing.session_affinity, groups)
        for table in tables
    ]
    router = routers[0] if n == 1 else RouterFleet(routers)
    destinations = tables[0]
    queue = QuotaWaitQueue(router, observer, len(members))
    cache = ResponseCache(sc.cache.ttl_s, sc.cache.max_entries) if sc.cache.enabled else None
    script = compile_script(sc.script)
    settings = PipelineSettings(
        turn_deadline_s=routing.turn_deadline_s,
        on_exhausted=routing.on_exhausted,
        past_deadline=Served.DEGRADED if routing.on_deadline == "degrade" else Served.FAILED,
        cooldown_s=routing.cooldown_s,
        gated=routing.admission == "gated",
        admission_cooldown_s=routing.admission_cooldown_s,
        deduplicate=sc.cache.enabled and sc.cache.deduplicate_in_flight,
        gap_between_interviews_s=sc.candidates.gap_between_interviews_s,
        turn_groups=tuple(group_index[sc.script.stages[t.stage].group] for t in script.turns),
    )
    pipeline = TurnPipeline(
        script,
        CandidateBehaviour(script, streams.people, streams.tokens, streams.catalogue),
        router,
        queue,
        cache,
        RetryPolicy(routing.max_retries, routing.backoff_base_s, routing.backoff_max_s),
        streams.retry,
        settings,
        observer,
    )
    levers = attach_levers(config, pipeline, streams.catalogue)
    return Core(script, destinations, router, queue, cache, pipeline, tables, levers, tuple(members))
