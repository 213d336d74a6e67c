"""``capacity plan``: the static arithmetic a spreadsheet does, done right.

For each destination of the scenario's routing plan, the requests a day each account can
serve under every stated limit (:mod:`capacity.plan.limits`), the binding one, × accounts;
÷ the API requests an interview really sends once templates, cache hits and de-duplication
are taken off (:mod:`capacity.plan.savings`) gives interviews a day. The sum is set against
the need per interviewing day: a month of weekday interviews spends its daily quotas on
about 22 days, not 30. Paid destinations are costed for the share of the need they take
(free tiers first, in listed order). For a scenario that keeps the seed document's claims,
the seed's own arithmetic is reproduced and corrected (:mod:`capacity.plan.seed`); every
scenario can be given the seed's claims to check them against its providers.
"""

from __future__ import annotations

import math

from capacity.config.gpus import GpuPool
from capacity.config.loader import Configuration
from capacity.config.providers import ModelSpec, Provider
from capacity.config.scenario import Destination, SeedClaims
from capacity.errors import ConfigError, Problem
from capacity.gpu.cost import pool_cost
from capacity.gpu.pool import pool_deployment
from capacity.gpu.sizing import InterviewLoad, size_server
from capacity.plan.limits import RequestProfile, binding_limit, limit_capacities, usd_per_request
from capacity.plan.result import DemandSummary, DestinationPlan, PlanResult, PlanTotals, WorkloadSummary
from capacity.plan.savings import ProviderLoad, provider_load
from capacity.plan.seed import check_claims, seed_corrections, seed_method
from capacity.units import HOUR_S
from capacity.workload.calendar import (
    active_hours_per_day,
    business_days,
    interviewing_days_per_month,
    need_interviews_per_day,
)
from capacity.workload.script import CompiledScript, compile_script


def _demand(config: Configuration) -> DemandSummary:
    scenario = config.scenario
    cal, demand = scenario.calendar, scenario.demand
    days = len(business_days(cal, demand.days))
    if days == 0:
        raise ConfigError(
            [
                Problem(
                    config.scenario_file,
                    None,
                    "calendar",
                    f"no interviewing day in the {demand.days}-day horizon from {cal.start_date}",
                )
            ]
        )
    per_business_day = demand.interviews / days if demand.kind == "total" else float(demand.interviews)
    return DemandSummary(
        kind=demand.kind,
        interviews=demand.interviews,
        days=demand.days,
        business_days=days,
        business_days_per_month=interviewing_days_per_month(cal),
        need_interviews_per_calendar_day=need_interviews_per_day(scenario),
        need_interviews_per_day=per_business_day,
    )


def _workload(load: ProviderLoad, active_hours: float) -> WorkloadSummary:
    return WorkloadSummary(
        logical_requests_per_interview=load.logical_requests,
        api_requests_per_interview=load.api_requests,
        savings=load.savings,
        avoided_fraction=load.avoided_fraction,
        input_tokens_per_interview=load.input_tokens,
        output_tokens_per_interview=load.output_tokens,
        tokens_per_interview=load.input_tokens + load.output_tokens,
        reserved_tokens_per_interview=load.reserved_tokens,
        tokens_per_request=load.per_request(load.input_tokens + load.output_tokens),
        reserved_tokens_per_request=load.per_request(load.reserved_tokens),
        active_hours_per_day=active_hours,
    )


def _cap_notes(spec: ModelSpec, script: CompiledScript) -> list[str]:
    """Requests of the script that a per-request token cap would refuse."""
    notes = []
    api = [t for t in script.expected_tokens() if not t.template]
    cap_in = spec.limits.max_input_tokens_per_request
    if cap_in is not None and (over := sum(1 for t in api if t.input_tokens > cap_in)):
        notes.append(f"{over} of {len(api)} requests exceed the {cap_in:,}-token input cap")
    cap_out = spec.limits.max_output_tokens_per_request
    if cap_out is not None and (over := sum(1 for t in script.api_turns if t.max_output_tokens > cap_out)):
        notes.append(f"{over} of {len(api)} requests ask for more than the {cap_out:,}-token output cap")
    return notes


def _destination(
    dest: Destination,
    provider: Provider,
    spec: ModelSpec,
    *,
    profile: RequestProfile,
    api_requests: float,
    config: Configuration,
    script: CompiledScript,
) -> DestinationPlan:
    """A destination's capacity, before allocation (allocation and cost are filled in later)."""
    accounts = dest.accounts or provider.accounts
    caps = limit_capacities(spec, profile)
    bind = binding_limit(caps)
    per_account = math.inf if bind is None else bind.requests_per_day
    binding = None if bind is None else bind.kind
    notes = _cap_notes(spec, script)
    start = config.scenario.calendar.start_date
    if spec.withdrawn_on is not None:
        if spec.withdrawn_on <= start:
            per_account, binding = 0.0, "withdrawn"
            notes.append(f"offer withdrawn on {spec.withdrawn_on}, before the plan starts ({start})")
        else:
            notes.append(f"offer withdrawn on {spec.withdrawn_on}: counted only for a plan that ends before then")
    if binding == "credit_usd" and spec.limits.credit_renews == "never":
        days = profile.business_days_in_horizon
        notes.append(f"one-time credit spread over the horizon's {days:g} interviewing days; gone after them")
    if bind is None and binding is None:
        notes.append("no limit stated: unbounded in this arithmetic (the simulation still models latency)")
    if accounts > 1:
        notes.append(
            f"{accounts} accounts, limits counted per {provider.scope}"
            + (f"; terms: {provider.terms}" if provider.terms else "")
        )
    requests = per_account * accounts
    interviews = requests / api_requests if api_requests > 0 else math.inf
    return DestinationPlan(
        label=dest.label,
        provider=provider.name,
        model=spec.name,
        provider_label=provider.label,
        billing=provider.billing,
        accounts=accounts,
        scope=provider.scope,
        source=provider.source,
        as_of=provider.as_of,
        limits=tuple(caps),
        binding_limit=binding,
        requests_per_day_per_account=per_account,
        requests_per_day=requests,
        interviews_per_day=interviews,
        usd_per_request=usd_per_request(spec, profile),
        allocated_interviews_per_day=0.0,
        monthly_cost_usd=None,
        notes=tuple(notes),
    )


def _pool_destination(
    dest: Destination, pool: GpuPool, *, profile: RequestProfile, api_requests: float, config: Configuration
) -> DestinationPlan:
    """A GPU pool: interviews a day from the roofline server sizing (an upper bound: calls are
    assumed to arrive as slots free), within the scenario's latency target, over the hours
    interviews run; its cost is fixed by the month, whatever share of the need it takes."""
    catalog = config.gpu_catalog
    dep = pool_deployment(catalog, pool)
    calls = max(1, round(api_requests))
    load = InterviewLoad(profile.input_tokens * calls, profile.output_tokens * calls, calls)
    sizing = size_server(
        dep,
        load,
        hours_per_day=profile.active_hours_per_day,
        latency_target_s=config.scenario.sla.p95_turn_latency_s,
        max_batch=pool.max_batch,
    )
    cost = pool_cost(
        catalog,
        pool,
        active_hours_per_day=profile.active_hours_per_day,
        interviewing_days_per_month=profile.business_days_per_month,  # the one month basis
    )
    requests = sizing.requests_per_s * profile.active_hours_per_day * HOUR_S * pool.servers
    notes = [
        f"{pool.servers} server(s) × {pool.gpus_per_server} {pool.gpu}, {pool.model} {pool.precision}: "
        f"batch {sizing.batch} ({sizing.limited_by}), {sizing.request_latency_s:.1f} s per call",
        f"{pool.ownership}: ${cost.usd_per_month:,.0f}/month"
        + (
            f" (purchase ${cost.purchase_usd:,.0f} over {pool.amortisation_months} months)"
            if cost.purchase_usd
            else ""
        ),
        "roofline upper bound at full use during active hours; the simulation measures queueing",
    ]
    return DestinationPlan(
        label=dest.label,
        provider=f"gpu:{pool.name}",
        model=pool.model,
        provider_label=f"GPU pool {pool.name}",
        billing="gpu",
        accounts=pool.servers,
        scope="server",
        source=dep.label,
        as_of=config.scenario.calendar.start_date,
        limits=(),
        binding_limit=f"throughput ({sizing.limited_by})",
        requests_per_day_per_account=requests / pool.servers,
        requests_per_day=requests,
        interviews_per_day=requests / api_requests if api_requests > 0 else math.inf,
        usd_per_request=None,
        allocated_interviews_per_day=0.0,
        monthly_cost_usd=cost.usd_per_month,
        notes=tuple(notes),
    )


def _allocate(
    plans: list[DestinationPlan], need: float, api_requests: float, days_per_month: int
) -> list[DestinationPlan]:
    """Give the need to free tiers first (listed order), then paid ones; cost the paid share."""
    from dataclasses import replace

    left = need
    allocated: dict[int, float] = {}
    # what costs nothing more per interview first (free tiers, GPUs paid for by the month)
    order = [i for i, p in enumerate(plans) if p.billing in ("free", "gpu")] + [
        i for i, p in enumerate(plans) if p.billing not in ("free", "gpu")
    ]
    for i in order:
        take = min(left, plans[i].interviews_per_day)
        allocated[i] = take
        left -= take
    out = []
    for i, p in enumerate(plans):
        take = allocated.get(i, 0.0)
        cost: float | None
        if p.billing == "gpu":
            cost = p.monthly_cost_usd  # fixed by the month
        elif p.billing == "free":
            cost = 0.0
        elif p.usd_per_request is None:
            cost = None if take > 0 else 0.0
        else:
            cost = take * api_requests * p.usd_per_request * days_per_month
        out.append(replace(p, allocated_interviews_per_day=take, monthly_cost_usd=cost))
    return out


def plan(config: Configuration, reference_claims: SeedClaims | None = None) -> PlanResult:
    """Plan one scenario.

    The seed's claims (the scenario's own, else ``reference_claims``) are checked against
    the scenario's providers.
    """
    scenario = config.scenario
    script = compile_script(scenario.script)
    demand = _demand(config)
    hours = active_hours_per_day(scenario.calendar)
    load = provider_load(scenario, script)
    workload = _workload(load, hours)
    profile = RequestProfile(
        input_tokens=load.per_request(load.input_tokens),
        output_tokens=load.per_request(load.output_tokens),
        reserved_tokens=load.per_request(load.reserved_tokens),
        active_hours_per_day=hours,
        business_days_per_month=demand.business_days_per_month,
        business_days_in_horizon=demand.business_days,
    )

    plans = []
    pools = {p.name: p for p in scenario.gpu_pools}
    for dest in scenario.routing.destinations:
        if dest.pool is not None:
            plans.append(
                _pool_destination(
                    dest, pools[dest.pool], profile=profile, api_requests=load.api_requests, config=config
                )
            )
            continue
        assert dest.provider is not None and dest.model is not None
        provider = config.provider(dest.provider)
        spec = provider.model(dest.model)
        if spec is None:  # pragma: no cover - the loader checks every reference
            raise ConfigError(
                [Problem(config.scenario_file, None, "routing.destinations", f"no model {dest.label}")]
            )
        plans.append(
            _destination(
                dest,
                provider,
                spec,
                profile=profile,
                api_requests=load.api_requests,
                config=config,
                script=script,
            )
        )
    plans = _allocate(
        plans, demand.need_interviews_per_day, load.api_requests, demand.business_days_per_month
    )

    capacity = sum(p.interviews_per_day for p in plans)
    costs = [p.monthly_cost_usd for p in plans]
    totals = PlanTotals(
        requests_per_day=sum(p.requests_per_day for p in plans),
        interviews_per_day=capacity,
        interviews_per_calendar_day=capacity * demand.business_days / demand.days,
        headroom_interviews_per_day=capacity - demand.need_interviews_per_day,
        carries_need=capacity >= demand.need_interviews_per_day,
        monthly_cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )

    method = None
    corrections: list[str] = []
    if scenario.seed_claims is not None:
        method = seed_method(
            scenario.seed_claims,
            tokens_per_interview=workload.tokens_per_interview,
            active_hours_per_day=hours,
            business_days_per_month=demand.business_days_per_month,
            combination=scenario.savings_overlap,
        )
        corrections = seed_corrections(
            method,
            derived_savings={s.name: s.fraction for s in load.savings},
            need_per_calendar_day=demand.need_interviews_per_calendar_day,
            need_per_business_day=demand.need_interviews_per_day,
            business_days=demand.business_days,
            days=demand.days,
        )
    claims = scenario.seed_claims or reference_claims
    checks = check_claims(claims, config.providers, profile) if claims is not None else []

    return PlanResult(
        scenario=scenario.name,
        description=scenario.description,
        demand=demand,
        workload=workload,
        destinations=tuple(plans),
        totals=totals,
        seed_method=method,
        corrections=tuple(corrections),
        seed_claim_checks=tuple(checks),
        notes=tuple(_notes(demand, workload)),
    )


def _notes(demand: DemandSummary, workload: WorkloadSummary) -> list[str]:
    """How to read the plan, with this scenario's numbers."""
    notes = []
    if demand.kind == "total":
        notes.append(
            f"Need: {demand.interviews:,} interviews over {demand.days} days is "
            f"{demand.need_interviews_per_calendar_day:,.0f}/calendar day, but interviews run on "
            f"{demand.business_days} of those days, so each interviewing day must carry "
            f"{demand.need_interviews_per_day:,.0f}; capacity is compared per interviewing day."
        )
    else:
        notes.append(
            f"Need: {demand.interviews:,} interviews every interviewing day; capacity is compared per "
            "interviewing day."
        )
    notes.append(
        f"Per-minute and per-hour limits are spent only during the {workload.active_hours_per_day:g} "
        "hours a day some time zone interviews; the peak hour needs more than the mean (see "
        "`capacity simulate`)."
    )
    notes.append(
        f"Tokens per interview sent to providers: {workload.tokens_per_interview:,.0f} "
        f"({workload.input_tokens_per_interview:,.0f} in + {workload.output_tokens_per_interview:,.0f} out; "
        f"{workload.reserved_tokens_per_interview:,.0f} reserved with max output), "
        f"{workload.tokens_per_request:,.0f} per request."
    )
    notes.append(
        f"Monthly caps are spread over {demand.business_days_per_month} interviewing days a month; one-time "
        f"credits over the {demand.business_days:g} interviewing day(s) of the horizon."
    )
    return notes
