"""Wiring deferred stages and question banks into a run's pipeline: :func:`attach_levers`.

Resolves each lever's batch API (the named provider/model, else the first routing destination
that offers one: :func:`capacity.config.levers.batch_target`), builds one
:class:`~capacity.policy.deferral.BatchQueue` per batch API used, the
:class:`~capacity.policy.deferral.DeferredStages` and one
:class:`~capacity.policy.banks.QuestionBank` per banked stage, and prices the banks' one-off
writing. A scenario with neither lever is left exactly as it was (no stream is drawn from).
"""

from __future__ import annotations

import numpy as np

from capacity.config.groups import DEFAULT_GROUP
from capacity.config.levers import Bank, BatchApi, Deferral, batch_target
from capacity.config.loader import Configuration
from capacity.policy.banks import QuestionBank, bank_cost_usd
from capacity.policy.deferral import BatchQueue, DeferredStages, LeverCounts
from capacity.policy.pipeline import TurnPipeline
from capacity.workload.script import Turn

__all__ = ["attach_levers", "lever_target"]


def lever_target(
    config: Configuration, lever: Deferral | Bank, group: str = DEFAULT_GROUP
) -> tuple[str, str, BatchApi | None] | None:
    """The (provider, model) that serves ``lever`` of a stage in model group ``group``, and its
    batch API (``None`` off-peak, where the target is the named model or the group's first API
    destination; checked on load, so a batch target exists). ``None`` off-peak with neither
    (GPU pools only)."""
    routing = config.scenario.routing
    # a plan of one group alone (plan.groups) keeps the stages' group names over that group's
    # destinations, written as the default group
    known = group if group in routing.group_members else DEFAULT_GROUP
    routed = [(d.provider, d.model) for d in routing.group_destinations(known) if d.provider and d.model]
    if lever.via == "off_peak":
        if lever.provider is not None and lever.model is not None:
            return lever.provider, lever.model, None
        return (*routed[0], None) if routed else None
    batch_of = {(p.name, m.name): p.batch_of(m) for p in config.providers.values() for m in p.models}
    found = batch_target(lever, routed, batch_of)
    assert not isinstance(found, str)  # checked on load
    return found[0], found[1], batch_of[found]


def attach_levers(config: Configuration, pipeline: TurnPipeline, catalogue: np.random.Generator) -> LeverCounts:
    """Give ``pipeline`` its deferred stages and banks; the counts they keep during the run.

    ``catalogue`` (the run's catalogue stream) only spawns the random banks' own streams, so the
    catalogue draws themselves do not change.
    """
    counts = LeverCounts()
    turns = pipeline.script.turns
    queues: dict[tuple[str, str], BatchQueue] = {}
    by_turn: dict[int, BatchQueue] = {}
    for turn in turns:
        if turn.deferral is not None and turn.deferral.via == "batch":
            target = lever_target(config, turn.deferral, config.scenario.script.stages[turn.stage].group)
            assert target is not None
            provider, model, batch = target
            assert batch is not None
            if (provider, model) not in queues:
                spec = config.provider(provider).model(model)
                assert spec is not None
                queues[provider, model] = BatchQueue(batch, spec.prices)
            by_turn[turn.index] = queues[provider, model]
    if any(t.deferral is not None for t in turns):
        pipeline.deferred = DeferredStages(turns, by_turn, counts)
    banked: dict[str, Turn] = {}  # one bank per stage, shared by every turn of it (12 questions: 12 draws)
    for turn in turns:
        if turn.bank is not None:
            banked.setdefault(turn.stage, turn)
    random_banks = sum(1 for t in banked.values() if t.bank is not None and t.bank.policy == "random")
    rngs = iter(catalogue.spawn(random_banks) if random_banks else [])
    roles = config.scenario.candidates.roles
    for stage, turn in banked.items():
        assert turn.bank is not None
        bank = QuestionBank(turn.bank, roles, next(rngs) if turn.bank.policy == "random" else None)
        for t in turns:
            if t.stage == stage:
                pipeline.banks[t.index] = bank
        counts.bank_requests += bank.requests
        target = lever_target(config, turn.bank, config.scenario.script.stages[turn.stage].group)
        if target is None:  # written on the scenario's own GPUs: no price per token
            continue
        provider, model, batch = target
        spec = config.provider(provider).model(model)
        assert spec is not None
        paid = batch is not None or config.provider(provider).billing == "paid"
        counts.bank_cost_usd += bank_cost_usd(
            bank.requests,
            turn.fixed_input_tokens,
            min(turn.output_tokens.mean, float(turn.max_output_tokens)),
            spec.prices if paid else None,
            batch.price_factor if batch is not None else 1.0,
        )
    return counts
