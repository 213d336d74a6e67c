"""The plan of a scenario with model groups: each group planned for its own stages, then joined.

A stage's requests go only to its model group's destinations (:mod:`capacity.config.groups`),
so each group is a plan of its own: the scenario with only that group's destinations, the
other groups' stages answered as if by templates (no request, but their output still joins the
conversation, so this group's prompts grow as they would). That gives each group its requests
and tokens per interview, what its destinations' limits carry, and what binds them. Every
interview needs every group, so the scenario carries the *least* of the groups' interviews a
day: that group binds. Requests, costs and destination rows add up over the groups; a group no
stage sends to has no rows (it carries any number of interviews and takes none of the need).

Where two groups name the same destination (or draw on one account-wide allowance), each
group's plan counts its limits in full: the joined figure is then an upper bound, and
``capacity simulate`` (one shared ledger) gives the real one; a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from capacity.config.groups import DEFAULT_GROUP, QUALITY_NOTE
from capacity.config.loader import Configuration
from capacity.config.scenario import Scenario
from capacity.plan.result import DestinationPlan, GroupPlan, PlanResult, PlanTotals

__all__ = ["group_scenario", "plan_groups"]

PROMPT_CACHE_NOTE = "Prompt caching, share of input tokens"
"""How the planner's note on its destinations' prompt caches begins (one per group here)."""

Planner = Callable[[Configuration], PlanResult]
"""Plans a scenario without model groups (:func:`capacity.plan.planner.plan`)."""


def group_scenario(scenario: Scenario, name: str) -> Scenario:
    """``scenario`` as model group ``name`` sees it: routed to that group's destinations with its
    strategy, every stage of another group answered by a template. Raises KeyError for an unknown group."""
    routing = scenario.routing
    destinations = routing.destinations if name == DEFAULT_GROUP else routing.groups[name].destinations
    own_routing = routing.model_copy(
        update={"destinations": destinations, "strategy": routing.group_strategy(name), "groups": {}}
    )
    elsewhere = {"template": True, "group": DEFAULT_GROUP}
    stages = {
        stage_name: stage if stage.group == name else stage.model_copy(update=elsewhere)
        for stage_name, stage in scenario.script.stages.items()
    }
    script = scenario.script.model_copy(update={"stages": stages})
    return scenario.model_copy(update={"routing": own_routing, "script": script, "seed_claims": None})


def plan_groups(config: Configuration, whole: PlanResult, planner: Planner) -> PlanResult:
    """Join the plans of ``config``'s model groups into one.

    ``whole`` is the plan of the scenario with every stage on the default group (its demand,
    workload, seed checks and notes are kept: they do not depend on routing); ``planner`` plans
    one group's scenario (:func:`group_scenario`). Returns ``whole`` with the groups' destination
    rows, totals (capacity: the least group's; requests and cost: summed) and :class:`GroupPlan` rows.
    """
    scenario = config.scenario
    names = list(scenario.routing.group_members)
    groups: list[GroupPlan] = []
    rows: list[DestinationPlan] = []
    seen: dict[str, str] = {}
    shared: set[str] = set()
    caching: list[str] = []  # each group's prompt-caching note
    for name in names:
        own = planner(replace(config, scenario=group_scenario(scenario, name)))
        stages = tuple(s for s, stage in scenario.script.stages.items() if stage.group == name and not stage.template)
        requests = own.workload.api_requests_per_interview
        capacity = own.totals.interviews_per_day if requests > 0 else math.inf
        binding = "; ".join(
            f"{p.label} ({p.binding_limit})" for p in own.destinations if p.binding_limit and p.requests_per_day > 0
        )
        groups.append(
            GroupPlan(
                name=name,
                strategy=scenario.routing.group_strategy(name),
                stages=stages,
                destinations=tuple(p.label for p in own.destinations),
                api_requests_per_interview=requests,
                tokens_per_request=own.workload.tokens_per_request,
                requests_per_day=own.totals.requests_per_day,
                interviews_per_day=capacity,
                binding=binding or None,
                monthly_cost_usd=own.totals.monthly_cost_usd if requests > 0 else 0.0,
            )
        )
        if requests == 0:  # a group no stage sends to: its destinations take nothing of the need
            continue
        caching += [f"{name}: {n}" for n in own.notes if n.startswith(PROMPT_CACHE_NOTE)]
        for p in own.destinations:
            if p.label in seen:
                shared.add(p.label)
            seen.setdefault(p.label, name)
            rows.append(replace(p, notes=(f"model group {name}", *p.notes)))
    groups.sort(key=lambda g: g.interviews_per_day)
    binding_group = groups[0]
    capacity = binding_group.interviews_per_day
    demand = whole.demand
    costs = [g.monthly_cost_usd for g in groups]
    totals = PlanTotals(
        requests_per_day=sum(p.requests_per_day for p in rows),
        interviews_per_day=capacity,
        interviews_per_calendar_day=capacity * demand.business_days / demand.days,
        headroom_interviews_per_day=capacity - demand.need_interviews_per_day,
        carries_need=capacity >= demand.need_interviews_per_day,
        monthly_cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )
    return replace(
        whole,
        destinations=tuple(rows),
        totals=totals,
        groups=tuple(groups),
        binding_group=binding_group.name,
        notes=(
            *(n for n in whole.notes if not n.startswith(PROMPT_CACHE_NOTE)),
            *caching,
            *group_notes(groups, shared),
        ),
    )


def group_notes(groups: list[GroupPlan], shared: set[str]) -> list[str]:
    """How to read a plan with model groups: each group's figures, the binding one, the caveats."""
    parts = [
        f"{g.name} ({', '.join(g.stages) or 'no stage'}: {g.api_requests_per_interview:.1f} requests/interview) "
        f"carries {_count(g.interviews_per_day)}/day" + (f", bound by {g.binding}" if g.binding else "")
        for g in groups
    ]
    notes = [
        "Model groups: each stage's requests go only to its group, and every interview needs every group, so the "
        f"plan carries the least group's interviews a day — {groups[0].name} binds. " + "; ".join(parts) + ".",
        QUALITY_NOTE,
    ]
    if shared:
        notes.append(
            f"{', '.join(sorted(shared))} serve(s) several groups: each group's plan counts the full limits, so the "
            "total is an upper bound; `capacity simulate` shares one ledger and gives the real figure."
        )
    return notes


def _count(x: float) -> str:
    return "unlimited" if not math.isfinite(x) else f"{x:,.0f}"
