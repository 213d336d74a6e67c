"""Tiny configurations for model tests, and a probe that records what the router admitted.

The model tests need scenarios small and plain enough that queueing theory, occupancy
arithmetic or a quota's definition predicts the outcome: one-turn interviews arriving as a
Poisson process, providers with one limit, constant or exponential service times. They are
built here as plain dictionaries (the YAML a user would write), validated by the same
pydantic models as the shipped files, and cross-checked like :func:`load_configuration`.

Imported by test modules as ``simkit`` (pytest puts tests/, the folder of conftest.py, on the path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capacity.config.gpus import load_catalog
from capacity.config.loader import Configuration
from capacity.config.providers import Provider
from capacity.config.scenario import Scenario
from capacity.policy.destination import Routed
from capacity.policy.ledger import Charge
from capacity.policy.observer import PolicyObserver
from capacity.result import RunResult
from capacity.sim.clock import Event
from capacity.sim.gpu_station import GpuStation
from capacity.sim.model import Simulation

Spec = dict[str, Any]


def const(value: float) -> Spec:
    """A constant distribution."""
    return {"kind": "constant", "value": value}


def expo(mean: float) -> Spec:
    """An exponential distribution of mean ``mean``."""
    return {"kind": "exponential", "mean": mean}


def provider(
    name: str,
    *,
    limits: Mapping[str, Any] | None = None,
    resets: Mapping[str, Any] | None = None,
    ttft: Spec | None = None,
    tps: Spec | None = None,
    error_rate: float = 0.0,
    billing: str = "free",
    accounts: int = 1,
    prices: tuple[float, float] | None = None,
    timeout_s: float = 1e9,
    model: str = "m",
) -> Spec:
    """One provider with one model ``model``; by default no limits and zero latency."""
    spec: Spec = {
        "name": model,
        "limits": dict(limits or {}),
        "latency": {"ttft_s": ttft or const(0.0), "output_tokens_per_s": tps or const(1.0)},
        "error_rate": error_rate,
        "timeout_s": timeout_s,
    }
    if resets:
        spec["resets"] = dict(resets)
    if prices is not None:
        spec["prices"] = {"usd_per_mtok_in": prices[0], "usd_per_mtok_out": prices[1]}
    return {
        "name": name,
        "label": name,
        "base_url": "http://localhost",
        "billing": billing,
        "accounts": accounts,
        "scope": "account",
        "source": "test",
        "as_of": "2025-10-01",
        "models": [spec],
    }


def demand(
    interviews: int, *, days: int = 1, kind: str = "total", each: int = 1, spacing: str = "spread"
) -> Spec:
    """``demand`` and ``candidates`` for ``interviews`` interviews (``each`` per candidate)."""
    assert interviews % each == 0
    return {
        "demand": {"kind": kind, "interviews": interviews, "days": days},
        "candidates": {"count": interviews // each, "interviews_each": each, "spacing": spacing},
    }


def hours(start: str, end: str, *, timezone: str = "UTC") -> Spec:
    """A calendar of every day (weekends too) with business hours ``start``–``end`` in one zone."""
    return {
        "calendar": {
            "start_date": "2025-10-06",
            "business_hours_start": start,
            "business_hours_end": end,
            "weekdays_only": False,
            "timezones": [{"timezone": timezone, "share": 1.0}],
        }
    }


def one_turn(*, output: Spec | None = None, max_output: int = 1, cache: Spec | None = None) -> Spec:
    """A script of one API turn, no think time: an interview is one request."""
    stage: Spec = {
        "input": {"history": False},
        "output_tokens": output or const(0.0),
        "max_output_tokens": max_output,
    }
    if cache is not None:
        stage["cache"] = cache
    return {
        "script": {
            "system_prompt_tokens": 100,
            "resume_tokens": 0,
            "answer_tokens": const(0.0),
            "think_time_s": const(0.0),
            "opening": ["ask"],
            "stages": {"ask": stage},
        }
    }


def destinations(*names: str, **routing: Any) -> Spec:
    """``routing`` with one destination per provider name (model ``m``), in this order."""
    return {"routing": {"destinations": [{"provider": n, "model": "m"} for n in names], **routing}}


BASE: Spec = {
    "name": "tiny",
    "seed": 7,
    **demand(100),
    **hours("09:00", "10:00"),
    **one_turn(),
    "cache": {"enabled": False},
    "routing": {
        "destinations": [{"provider": "p0", "model": "m"}],
        "on_exhausted": "queue",
        "turn_deadline_s": 1e7,
        "on_deadline": "fail",
        "max_retries": 0,
    },
}
"""One hundred one-turn interviews between 09:00 and 10:00 UTC on one provider, no cache."""


def merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge key by key, anything else is replaced.

    A distribution (a mapping with ``kind``) and a script's ``stages`` are replaced whole.
    """
    if isinstance(base, dict) and isinstance(over, dict) and "kind" not in over:
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base and key != "stages" else value
        return out
    return over


def build(providers: Sequence[Spec], *parts: Mapping[str, Any]) -> Configuration:
    """A configuration: :data:`BASE` with ``parts`` merged over it in order, on ``providers``."""
    data: Any = BASE
    for part in parts:
        data = merge(data, dict(part))
    scenario = Scenario.model_validate(data)
    catalogue = {p.name: p for p in (Provider.model_validate(spec) for spec in providers)}
    for d in scenario.routing.all_destinations:
        if d.pool is not None:
            continue
        assert d.provider in catalogue, d.label
        assert catalogue[d.provider].model(d.model) is not None, d.label
    return Configuration(scenario, catalogue, "<test scenario>", "<test providers>", load_catalog())


def check_conservation(result: RunResult) -> None:
    """Every interview and every turn is accounted for exactly once."""
    i, r = result.interviews, result.requests
    assert i.requested == i.completed + i.degraded + i.failed + i.unfinished
    served_ahead = r.deferred + r.bank  # made before the interview (deferred stages, question banks)
    assert r.logical == r.template + r.cache + r.deduplicated + r.provider + r.degraded + r.failed + served_ahead
    assert r.api_calls == sum(d.requests for d in result.destinations)
    # every call sent either answered or failed (none is still in flight at the end)
    assert sum(d.completed + sum(d.errors.values()) for d in result.destinations) == r.api_calls
    # answered calls: the turns' own, and deferred requests made off-peak through the same router
    assert r.provider + result.levers.deferred_off_peak == sum(d.completed for d in result.destinations)
    assert result.queue_wait_s.count == r.provider
    assert result.cache.hits == r.cache <= result.cache.lookups
    assert 0 <= i.turned_away <= i.failed  # turned away at the start (gated admission): failed, never begun
    assert sum(result.timeseries.interview_starts) == i.completed + i.degraded + i.failed - i.turned_away
    assert result.wasted_api_calls <= r.provider
    assert sum(result.timeseries.failed_turns) == r.failed



def prompt_cache_block(retention_s: float = 300, **fields: Any) -> Spec:
    """A provider's ``prompt_cache`` block: 1,024-token minimum, 128-token steps, ``retention_s``
    idle lifetime, unless ``fields`` say otherwise."""
    return {
        "min_prefix_tokens": 1024,
        "granularity_tokens": 128,
        "retention_s": retention_s,
        "source": "test",
        "as_of": "2026-11-01",
        **fields,
    }


def with_prompt_cache(name: str, block: Spec | None, **kwargs: Any) -> Spec:
    """:func:`provider` with a ``prompt_cache`` block (None: without one)."""
    spec = provider(name, **kwargs)
    if block is not None:
        spec["prompt_cache"] = block
    return spec


def three_turn_script(think: Spec) -> Spec:
    """The prompt-caching tests' script: a 2,000-token system prompt, then two rounds in which
    the candidate speaks (100 tokens, after ``think`` s) and the model answers with no output.
    Prompts of 2,000, 2,100 and 2,200 tokens (6,300); with a 1,024-token minimum and 128-token
    steps a hit caches 2,000 → 1,920 tokens on turn 2 and 2,100 → 2,048 on turn 3 (3,968)."""
    stage = {"input": {"history": True}, "output_tokens": const(0.0), "max_output_tokens": 1}
    return {
        "script": {
            "system_prompt_tokens": 2000,
            "resume_tokens": 0,
            "answer_tokens": const(100.0),
            "think_time_s": think,
            "opening": ["ask"],
            "rounds": 2,
            "round": ["reply"],
            "stages": {"ask": stage, "reply": {**stage, "candidate_speaks_before": True}},
        }
    }

@dataclass
class Admitted:
    """One request admitted by the router: when, where, what it was charged and what it used."""

    at: float
    dest: int
    account: int
    charge: Charge
    settled_at: float = math.inf
    actual: Charge | None = None
    group: int = 0
    """The model group the request was routed in."""
    max_output_tokens: int = 0
    """The request's ``max_tokens`` (a test may give each stage its own, to tell them apart)."""


class Probe(PolicyObserver):
    """Records every admission and settlement of a :class:`Simulation`'s router.

    It stands in for the router's observer (passing every event on to it), so it sees each
    request the router admits and settles — the quota queue calls the same router — and
    what the ledger did can be checked against each quota's own definition after the run,
    independently of the ledger's bookkeeping. (An observer, not a wrapped method: the
    compiled engine's classes take no monkeypatching.)
    """

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.admitted: list[Admitted] = []
        self._open: dict[int, Admitted] = {}
        self.latencies: list[float | None] = []
        """Each settled response's latency, s (``None``: the call failed), in order."""
        self._inner = sim.router.observer
        sim.router.observer = self

    def request_admitted(self, now: float, routed: Routed, group: int, max_output_tokens: int) -> None:
        admission = routed.admission
        record = Admitted(
            now, routed.destination.index, admission.account, admission.charge,
            group=group, max_output_tokens=max_output_tokens,
        )
        self.admitted.append(record)
        self._open[id(admission)] = record

    def request_settled(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        record = self._open.pop(id(routed.admission))
        record.settled_at = now
        quota = routed.destination.quota  # None for a GPU pool: no quota, nothing charged
        free = Charge(1.0, 0.0, 0.0, 0.0)
        cached = routed.admission.cached_tokens
        record.actual = quota.tariff.charge(tokens_in, tokens_out, cached) if quota else free
        self.latencies.append(latency_s)

    def run(self) -> RunResult:
        """Run the simulation; every admitted request must have been settled by its end."""
        result = self.sim.run()
        assert not self._open, f"{len(self._open)} admitted requests never settled"
        return result

    def at(self, dest: int, account: int | None = None) -> list[Admitted]:
        """Admissions on one destination (and account), in time order."""
        return [a for a in self.admitted if a.dest == dest and (account is None or a.account == account)]


def _passes_on(name: str) -> Callable[..., Any]:
    def pass_on(self: Probe, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._inner, name)(*args, **kwargs)

    return pass_on


for _event in [name for name in vars(PolicyObserver) if not name.startswith("_") and name not in vars(Probe)]:
    setattr(Probe, _event, _passes_on(_event))  # every other event: the simulation's recorder's


class RecordingStation(GpuStation):
    """A GPU pool's station that keeps each request it was given: (server, prompt tokens, output
    tokens, conversation, its completion event). :func:`record_gpu_requests` puts one in place of
    a simulation's station before it runs (a subclass, not a wrapped method: the compiled
    engine's objects take no monkeypatching)."""

    def __init__(self, station: GpuStation) -> None:
        super().__init__(station.env, station.servers, station.replicas)
        self.requests: list[tuple[int, int, int, int | None, Event]] = []

    def submit(
        self, server: int, prompt_tokens: int, output_tokens: int, conversation: int | None = None
    ) -> Event:
        event = super().submit(server, prompt_tokens, output_tokens, conversation)
        self.requests.append((server, prompt_tokens, output_tokens, conversation, event))
        return event


def record_gpu_requests(sim: Simulation) -> RecordingStation:
    """Replace the simulation's one GPU station (before it runs) by a :class:`RecordingStation`."""
    (index,) = [i for i, s in enumerate(sim.stations) if isinstance(s, GpuStation)]
    station = sim.stations[index]
    assert isinstance(station, GpuStation)
    recording = RecordingStation(station)
    sim.stations[index] = recording
    return recording
