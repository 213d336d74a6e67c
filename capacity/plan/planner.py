"""``capacity plan``: the static arithmetic a spreadsheet does, done right.

For each destination of the scenario's routing plan, the requests a day each account can
serve under every stated limit (:mod:`capacity.plan.limits`), the binding one, × accounts;
÷ the API requests an interview really sends once templates, cache hits and de-duplication
are taken off (:mod:`capacity.plan.savings`) gives interviews a day. The sum is set against
the need per interviewing day: a month of weekday interviews spends its daily quotas on
about 22 days, not 30. A destination refuses outright the requests over its per-request input
cap (GitHub Models: 8,000 tokens): it counts nothing for a script all of whose requests exceed
it, and where it refuses part of each interview the plan carries only what the destinations
able to take the rest allow (:func:`_eligible_capacity`). Paid destinations are costed for
the share of the need they take (free tiers first, in listed order). For a scenario that keeps
the seed document's claims, the seed's own arithmetic is reproduced and corrected
(:mod:`capacity.plan.seed`); every scenario can be given the seed's claims to check them
against its providers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

from capacity.config.gpus import GpuPool
from capacity.config.groups import DEFAULT_GROUP, Destination
from capacity.config.loader import Configuration
from capacity.config.providers import ModelSpec, PromptCache, Provider
from capacity.config.scenario import SeedClaims
from capacity.errors import ConfigError, Problem
from capacity.gpu.cost import pool_cost
from capacity.gpu.pool import pool_deployment
from capacity.gpu.sizing import InterviewLoad, size_server
from capacity.plan.account_pools import share_account_pools
from capacity.plan.groups import PROMPT_CACHE_NOTE, plan_groups
from capacity.plan.levers import plan_levers
from capacity.plan.limits import (
    ONE_TIME_CREDIT,
    RequestProfile,
    binding_limit,
    limit_capacities,
    number_text,
    usd_per_request,
)
from capacity.plan.prompt_cache import expected_effect
from capacity.plan.result import DemandSummary, DestinationPlan, PlanResult, PlanTotals, WorkloadSummary
from capacity.plan.savings import ProviderLoad, provider_load
from capacity.plan.seed import seed_corrections, seed_method
from capacity.plan.seed_sources import check_claims
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
        start_date=cal.start_date,
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


def _eligible_share(spec: ModelSpec, script: CompiledScript) -> float:
    """Share of an interview's API requests the model accepts at all (0–1): a request over its
    per-request input cap is refused by the provider whatever its quotas (GitHub Models: 8,000)."""
    api = [t for t in script.expected_tokens() if not t.template]
    cap_in = spec.limits.max_input_tokens_per_request
    if not api or cap_in is None:
        return 1.0
    return sum(1 for t in api if t.input_tokens <= cap_in) / len(api)


def _cap_notes(spec: ModelSpec, script: CompiledScript) -> list[str]:
    """Requests of the script that a per-request token cap refuses (input) or clips (output)."""
    notes = []
    api = [t for t in script.expected_tokens() if not t.template]
    cap_in = spec.limits.max_input_tokens_per_request
    if cap_in is not None and (over := sum(1 for t in api if t.input_tokens > cap_in)):
        notes.append(
            f"{over} of {len(api)} requests exceed the {cap_in:,}-token input cap: refused here, "
            "they must go to another destination"
        )
    cap_out = spec.limits.max_output_tokens_per_request
    if cap_out is not None and (over := sum(1 for t in script.api_turns if t.max_output_tokens > cap_out)):
        notes.append(f"{over} of {len(api)} requests ask for more than the {cap_out:,}-token output cap")
    return notes


def _eligible_capacity(plans: list[DestinationPlan], shares: list[float], api_requests: float) -> float:
    """Interviews a day the destinations carry together when some refuse part of each interview.

    A request over a destination's input cap can go only to destinations with a higher cap (or
    none), so the caps nest: for each cap k, the share s_k of an interview's requests above k
    needs Σ requests/day of the destinations above k ≥ interviews × requests/interview × s_k.
    The least of these bounds and of Σ interviews/day is what the plan carries (a max flow over
    nested eligibility sets). Shares and caps come from the script's mean tokens per turn.
    """
    total = sum(p.interviews_per_day for p in plans)
    if api_requests <= 0:
        return total
    bound = total
    for share in shares:
        if share >= 1.0:
            continue
        above = sum(q.requests_per_day for q, s in zip(plans, shares, strict=True) if s > share)
        bound = min(bound, above / (api_requests * (1.0 - share)))
    return bound


def _dated_notes(spec: ModelSpec, start: dt.date, end: dt.date) -> list[str]:
    """The dated limit values a plan from ``start`` to ``end`` (exclusive) counts or meets."""
    notes = []
    for change in spec.limit_changes:
        values = ", ".join(
            f"{name} {number_text(getattr(spec.limits, name))} → {number_text(v)}" for name, v in change.limits.items()
        )
        until = f" until {change.effective_until}" if change.effective_until else ""
        if change.effective_from <= start and (change.effective_until is None or start < change.effective_until):
            notes.append(
                f"counted at the values in effect from {change.effective_from}{until}: {values} ({change.source})"
            )
        elif start < change.effective_from < end:
            notes.append(
                f"{values} from {change.effective_from}{until}, within the horizon: not counted here, "
                f"the simulation applies it ({change.source})"
            )
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
    profile, cache_notes = _with_prompt_cache(profile, provider.prompt_cache_of(spec), config, script)
    start = config.scenario.calendar.start_date
    dated_notes = _dated_notes(spec, start, start + dt.timedelta(days=config.scenario.demand.days))
    if spec.limit_changes:
        spec = spec.model_copy(update={"limits": spec.limits_on(start)})  # the values in effect when the plan starts
    caps = limit_capacities(spec, profile)
    bind = binding_limit(caps)
    per_account = math.inf if bind is None else bind.requests_per_day
    binding = None if bind is None else bind.kind
    notes = _cap_notes(spec, script) + dated_notes + cache_notes
    if spec.withdrawn_on is not None:
        if spec.withdrawn_on <= start:
            per_account, binding = 0.0, "withdrawn"
            notes.append(f"offer withdrawn on {spec.withdrawn_on}, before the plan starts ({start})")
        else:
            notes.append(f"offer withdrawn on {spec.withdrawn_on}: counted only for a plan that ends before then")
    if binding == "credit_usd" and spec.limits.credit_renews == "never":
        days = profile.business_days_in_horizon
        notes.append(ONE_TIME_CREDIT.format(days=days))
    share = _eligible_share(spec, script)
    if share == 0.0:
        per_account, binding = 0.0, "max_input_tokens_per_request"
    if bind is None and binding is None and provider.account_limits is None:  # else the account's allowances bind
        notes.append("no limit stated: unbounded in this arithmetic (the simulation still models latency)")
    if accounts > 1:
        notes.append(
            f"{accounts} accounts, limits counted per {provider.scope}"
            + (f"; terms: {provider.terms}" if provider.terms else "")
        )
    requests = per_account * accounts
    # interview-equivalents of requests: a destination refusing part of each interview carries
    # its share only while others take the rest (bounded in plan() by _eligible_capacity)
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
        prompt_cached_share=profile.cached_input_tokens / profile.input_tokens if profile.input_tokens else 0.0,
    )


def _with_prompt_cache(
    profile: RequestProfile, cache: PromptCache | None, config: Configuration, script: CompiledScript
) -> tuple[RequestProfile, list[str]]:
    """The mean request at a destination with prompt cache ``cache``, and what the plan says of it.

    Hits are counted only where an interview's turns stay on one destination: with session
    affinity, or with a single destination (:mod:`capacity.plan.prompt_cache`)."""
    if cache is None or _uncounted_cache(cache, config) is not None:
        return profile, []
    effect = expected_effect(script, cache)
    if effect.cached_share == 0.0:
        return profile, []
    tokens_in = profile.input_tokens
    cached = effect.cached_share * tokens_in
    note = (
        f"prompt cache: {effect.cached_share:.0%} of input tokens cached (retention {cache.retention:,.0f} s, "
        f"read {cache.read_price_factor:g}× input price)"
        + ("" if cache.counts else "; cached tokens not counted against token limits")
    )
    updated = replace(
        profile,
        cached_input_tokens=cached,
        uncounted_input_tokens=effect.uncounted_share * tokens_in,
        input_price_factor=effect.input_price_factor,
    )
    return updated, [note]


def _uncounted_cache(cache: PromptCache, config: Configuration) -> str | None:
    """Why the plan counts no hit of ``cache`` before looking at the script (None: it may count some)."""
    routing = config.scenario.routing
    if cache.retention <= 0:
        return "idle lifetime unknown"
    if not routing.session_affinity and len(routing.destinations) > 1:
        return "turns may change destination without routing.session_affinity"
    return None


def _prompt_cache_note(config: Configuration, plans: list[DestinationPlan]) -> str | None:
    """One line on the prompt caches of the plan's destinations: the share counted, or why none."""
    parts = []
    for dest, p in zip(config.scenario.routing.destinations, plans, strict=True):
        if dest.provider is None:
            continue
        cache = config.provider(dest.provider).prompt_cache_of(config.model_spec(dest))
        if cache is None:
            continue
        why = _uncounted_cache(cache, config)
        if why is None and p.prompt_cached_share == 0.0:
            why = "think time outlasts its lifetime, or prefixes below its minimum"
        parts.append(f"{p.label} {p.prompt_cached_share:.0%}" if why is None else f"{p.label} none ({why})")
    if not parts:
        return None
    return f"{PROMPT_CACHE_NOTE} counted as cached: " + "; ".join(parts) + "."


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
            f" (purchase ${cost.purchase_usd:,.0f} over {pool.amortisation_months} months)" if cost.purchase_usd else ""
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
    if scenario.routing.groups:  # each group planned for its own stages, then joined (capacity.plan.groups)
        flat = scenario.routing.model_copy(update={"groups": {}})
        stages = {k: v.model_copy(update={"group": DEFAULT_GROUP}) for k, v in scenario.script.stages.items()}
        whole = scenario.model_copy(
            update={"routing": flat, "script": scenario.script.model_copy(update={"stages": stages})}
        )
        return plan_groups(config, plan(replace(config, scenario=whole), reference_claims), plan)
    script = compile_script(scenario.script)
    demand = _demand(config)
    hours = active_hours_per_day(scenario.calendar)
    levers = plan_levers(
        config, script, demand.need_interviews_per_day, demand.business_days, demand.business_days_per_month
    )
    batch_ready = {d.stage: d.ready_share for d in levers.deferrals if d.via == "batch"} if levers else None
    load = provider_load(scenario, script, batch_ready)
    workload = _workload(load, hours)
    profile = RequestProfile(
        input_tokens=load.per_request(load.input_tokens),
        output_tokens=load.per_request(load.output_tokens),
        reserved_tokens=load.per_request(load.reserved_tokens),
        active_hours_per_day=hours,
        business_days_per_month=demand.business_days_per_month,
        business_days_in_horizon=demand.credit_days,
        credit_span="of the horizon" if demand.kind == "total" else "(at least a month's: the need recurs daily)",
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
        assert dest.provider is not None
        plans.append(
            _destination(
                dest,
                config.provider(dest.provider),
                config.model_spec(dest),
                profile=profile,
                api_requests=load.api_requests,
                config=config,
                script=script,
            )
        )
    plans = share_account_pools(plans, config, profile, load.api_requests)
    shares = [
        1.0 if d.pool is not None else _eligible_share(config.model_spec(d), script)
        for d in scenario.routing.destinations
    ]
    capacity = _eligible_capacity(plans, shares, load.api_requests)
    plans = _allocate(
        plans, min(demand.need_interviews_per_day, capacity), load.api_requests, demand.business_days_per_month
    )

    costs = [p.monthly_cost_usd for p in plans] + [d.monthly_cost_usd for d in (levers.deferrals if levers else ())]
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
        notes=tuple(_notes(demand, workload)) + tuple(n for n in [_prompt_cache_note(config, plans)] if n),
        levers=levers,
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
            f"Need: {demand.interviews:,} interviews every interviewing day; capacity is compared per interviewing day."
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
    credits = (
        f"the {demand.credit_days:g} interviewing day(s) of the horizon"
        if demand.kind == "total"
        else f"{demand.credit_days:g} interviewing days (at least a month's: a daily need recurs past the "
        f"{demand.business_days:g}-day horizon)"
    )
    notes.append(
        f"Monthly caps are spread over {demand.business_days_per_month} interviewing days a month; one-time "
        f"credits over {credits}."
    )
    return notes
