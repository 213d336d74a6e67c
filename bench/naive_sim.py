"""A deliberately naive SimPy model of the same workload, for the speed ratio in sim_bench.py.

What a first prototype does: one SimPy process per API request, a ``simpy.Resource`` per
destination for its concurrency, and a quota wait that polls — every waiting request wakes
each second to ask the ledger again. It uses the same policy core (ledger, router, cache) and
the same scenario, so the two models answer the same question; only the event machinery
differs. Not part of the package; not a test.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from capacity.config.loader import Configuration
from capacity.policy.cache import MISS, ResponseCache
from capacity.policy.ledger import DestinationQuota
from capacity.policy.router import Destination, Routed, Router
from capacity.units import DAY_S
from capacity.workload.calendar import build_sessions, run_start
from capacity.workload.distributions import sampler
from capacity.workload.script import compile_script

POLL_S = 1.0


def run_naive(config: Configuration, days: int, seed: int = 1) -> dict[str, float]:
    """Simulate the first ``days`` of ``config``; returns logical requests, wall and CPU time."""
    sc = config.scenario
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    script = compile_script(sc.script)
    start = run_start(sc.calendar)
    dests, resources, latency = [], [], []
    for i, d in enumerate(sc.routing.destinations):
        provider = config.provider(d.provider)
        spec = provider.model(d.model)
        assert spec is not None
        dests.append(
            Destination(i, d.label, "api", DestinationQuota(spec, d.accounts or provider.accounts, start))
        )
        resources.append(simpy.Resource(env, capacity=spec.limits.concurrent_requests or 10**9))
        latency.append((sampler(spec.latency.ttft_s), sampler(spec.latency.output_tokens_per_s)))
    router = Router(dests, sc.routing.strategy, rng)
    cache = ResponseCache(sc.cache.ttl_s, sc.cache.max_entries)
    sessions = build_sessions(
        sc, rng, script.expected_interview_duration_s() + sc.candidates.gap_between_interviews_s
    )
    keep = sessions.start_s < days * DAY_S
    counts = {"logical": 0, "failed": 0}

    def request(tin: int, tout: int, deadline: float) -> Generator[simpy.Event, Any, bool]:
        while True:
            routed = router.route(env.now, tin, tout)
            if isinstance(routed, Routed):
                break
            if env.now + POLL_S > deadline:
                return False
            yield env.timeout(POLL_S)
        ttft, speed = latency[routed.destination.index]
        with resources[routed.destination.index].request() as slot:
            yield slot
            yield env.timeout(ttft.sample(rng) + tout / speed.sample(rng))
        router.settle(env.now, routed, tin, tout, None)
        return True

    def interview(candidate: int) -> Generator[simpy.Event, Any, None]:
        history = 0.0
        for turn in script.turns:
            if turn.candidate_speaks_before:
                yield env.timeout(script.think_time_s.sample(rng))
                history += script.answer_tokens.sample(rng)
            counts["logical"] += 1
            tout = min(round(turn.output_tokens.sample(rng)), turn.max_output_tokens)
            if turn.template:
                continue
            key = (turn.stage, candidate) if turn.cache.key == "candidate" else None
            if key is not None and cache.get(key, env.now) is not MISS:
                continue
            tin = turn.fixed_input_tokens + (round(history) if turn.reads_history else 0)
            ok = yield env.process(request(tin, tout, env.now + sc.routing.turn_deadline_s))
            if not ok:
                counts["failed"] += 1
                return
            if key is not None:
                cache.put(key, env.now)
            if turn.adds_to_history:
                history += tout

    def arrivals() -> Generator[simpy.Event, Any, None]:
        for t, c, n in zip(
            sessions.start_s[keep], sessions.candidate[keep], sessions.interviews[keep], strict=True
        ):
            yield env.timeout(max(0.0, float(t) - env.now))
            for _ in range(int(n)):
                env.process(interview(int(c)))

    began, cpu = time.perf_counter(), time.process_time()
    env.process(arrivals())
    env.run(until=days * DAY_S + DAY_S)
    wall = time.perf_counter() - began
    return {
        "logical": counts["logical"],
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu,
        "requests_per_s": counts["logical"] / wall if wall else math.nan,
    }
