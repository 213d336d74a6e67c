"""Strategies side by side: free tiers, self-hosted GPUs, paid APIs and hybrids, on A and B.

``capacity compare`` runs a set of scenarios — each one strategy on the demand of scenario A
(50,000 interviews over a month) or B (50,000 every day) — with the same seed and a short
horizon (B: its one day; A: its first ``days`` days, 5 by default, Monday to Friday), and
sets out for each: interviews carried per interviewing day, the share failed or degraded,
p50/p95 turn latency, what binds, the hardware or accounts it takes, and the cost per month
and per carried interview.

**Named comparisons** (:data:`COMPARISONS`) are sets of shipped scenarios, grouped by demand;
any list of scenarios can be compared too (grouped by their demand). Each group then gets a
**TCO** over 36 months (:mod:`capacity.plan.tco`): the group's owned GPU pool against the same
cards rented and against paid APIs (gpt-4o-mini, Groq's paid Llama 3.1 8B, GPT-3.5 Turbo) at
the same volume — the interviews a month the GPUs carried in the simulation (what they really
carry, not the demand they were asked for), or the demand when no GPU plan is in the group —
and the break-even month of owning.

Month basis: a month has the calendar's interviewing days in 30 days (22 on weekdays, 30 for
a 24/7 calendar); a run's API bill and carried interviews are scaled from its interviewing
days to that. Owned GPUs' monthly cost in the table is amortised (purchase ÷ amortisation
months + electricity + hosting); the TCO counts the purchase as cash up front instead.

**The seed's GPU claims** (shared/seed/000_821f7b3252fe384f.txt, scenario B, "Option 2") are
checked with the simulator and the roofline, under B's business-hours calendar and under 24/7
load (scenario B-gpu-24h): interviews a day per RTX 4090 (Llama 3.1 8B in fp16 and int8,
Mistral 7B) and per RTX 3090 (Phi-3 medium), whether 3× RTX 4090 carry 50,000 a day, the
payback "in 3–4 months vs paid APIs", the electricity bill, and Option 1's "GPT-3.5 Turbo for
48,000 a day at ~$2,400/month". A card's capacity is read three ways:

* at the scenario's **turn target** (p95 turn latency ≤ 3 s over the turns the candidate
  waits for, ≥ 99 % carried): the simulated knee (:func:`capacity.sim.sizing.knee`) of one
  card. In fp16 an idle RTX 4090 already takes about 3.4 s at p95 (120-token evaluations at
  ≈ 50 tokens/s after a growing prompt), so no fleet of them meets it; int8 weights do;
* at the **streaming** target (p95 time to first token ≤ the scenario's 1 s, ≥ 99 % carried),
  which is what a voice interview that speaks as tokens arrive needs: the knee again;
* the roofline upper bound (:func:`capacity.gpu.sizing.size_server`): full batch, every hour
  of the serving day, no latency limit.

A capacity claim is CONFIRMED when the best usable reading (the larger knee, of any weight
format of the model) on B's business-hours calendar reaches 80 % of the claimed figure,
CONFIRMED ONLY UNDER 24/7 when only the knee under 24/7 load does, REFUTED otherwise; a cost
claim when the arithmetic lands within the same margin. The numbers are always shown beside the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from capacity.config.gpus import GpuCatalog, GpuPool, load_catalog
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.gpu.cost import pool_cost
from capacity.gpu.roofline import deployment
from capacity.gpu.sizing import InterviewLoad, size_server
from capacity.plan import plan as make_plan
from capacity.plan.tco import (
    HORIZON_MONTHS,
    TcoOption,
    TcoSeries,
    api_option,
    api_usd_per_interview,
    break_even_month,
    owned_twin,
    payback_months,
    pool_option,
    rented_twin,
    tco_series,
)
from capacity.report.verdict import judge
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.sim.sizing import Knee, Target, knee, with_servers
from capacity.units import DAYS_PER_MONTH
from capacity.workload.calendar import active_hours_per_day, business_days

DEFAULT_DAYS = 5
"""Days of a monthly-demand scenario (A) a comparison simulates (Monday to Friday)."""

CLAIM_TOLERANCE = 0.8
"""A claimed figure is confirmed when the measure reaches this share of it."""

REFERENCE_APIS: tuple[tuple[str, str], ...] = (
    ("openai", "gpt-4o-mini"),
    ("groq-paid", "llama-3.1-8b-instant"),
    ("openai", "gpt-3.5-turbo-0125"),
)
"""Paid APIs every TCO sets against owning GPUs (provider, model), where providers.yaml prices them."""


@dataclass(frozen=True)
class Comparison:
    """A named set of strategies, grouped by the demand they serve."""

    name: str
    title: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    """(demand label, scenario names) per group."""
    claims: bool
    """Whether to check the seed's GPU claims (simulations of their own)."""


COMPARISONS: dict[str, Comparison] = {
    "free-vs-gpu": Comparison(
        "free-vs-gpu",
        "2025 free tiers against self-hosted RTX 4090s (the seed's Option 2)",
        (("A", ("A", "A-gpu")), ("B", ("B", "B-gpu"))),
        claims=True,
    ),
    "free-vs-paid": Comparison(
        "free-vs-paid",
        "2025 free tiers against paid APIs (gpt-4o-mini, Groq's paid Llama 3.1 8B)",
        (("A", ("A", "A-paid", "A-groq")), ("B", ("B", "B-paid", "B-groq"))),
        claims=False,
    ),
    "gpu-vs-paid": Comparison(
        "gpu-vs-paid",
        "Owned and rented RTX 4090s against paid APIs",
        (("A", ("A-gpu", "A-paid", "A-groq")), ("B", ("B-gpu", "B-rented", "B-paid", "B-groq"))),
        claims=True,
    ),
    "hybrid": Comparison(
        "hybrid",
        "Free tiers first with paid overflow (the seed's Option 1) against free tiers alone",
        (("A", ("A", "A-hybrid")), ("B", ("B", "B-hybrid"))),
        claims=False,
    ),
}
"""The named comparisons of ``capacity compare NAME``; each scenario is in scenarios/."""

Loader = Callable[[str], Configuration]
"""Loads a scenario by name (the CLI's, with its providers file)."""

CompareProgress = Callable[[int, int, str], None]
"""Called with (runs done, runs in all, what just finished)."""


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class StrategyRow:
    """One strategy (one scenario run) of a comparison."""

    scenario: str
    description: str
    group: str
    need_per_day: float
    """Interviews requested per interviewing day of the run."""
    carried_per_day: float
    """Interviews completed or degraded per interviewing day of the run."""
    carried_share: float
    failed_share: float
    degraded_share: float
    unfinished_share: float
    p50_turn_latency_s: float
    p95_turn_latency_s: float
    p95_ttft_s: float
    sla_p95_turn_latency_s: float
    carries: bool
    """≥ 99 % carried within the p95 turn-latency target (the verdict of ``capacity simulate``)."""
    binds: str
    """What limits the strategy, in words."""
    hardware: str
    """GPUs or accounts the strategy takes."""
    upfront_usd: float
    """Purchase of owned GPUs and servers, USD."""
    usd_per_month: float
    """API bill at the carried volume + GPU pools (owned amortised, rented rent), USD/month."""
    usd_per_interview: float
    """usd_per_month ÷ carried interviews a month, USD (inf when nothing was carried)."""
    interviews_per_month: float
    """Carried per interviewing day × interviewing days a month."""
    interviewing_days_per_month: int
    days: int
    """Days of demand simulated."""
    seed: int
    wall_time_s: float


@dataclass(frozen=True)
class BreakEven:
    """When owning GPUs has cost no more than an alternative, at the group's common volume."""

    owned: str
    other: str
    month: int | None
    """First whole month owning has cost no more in all (None: not within the horizon)."""
    payback_months: float | None
    """The same in fractional months (None: owning never catches up)."""


@dataclass(frozen=True)
class GroupResult:
    """The strategies of one demand, their TCO and break-even."""

    label: str
    rows: tuple[StrategyRow, ...]
    tco_options: tuple[TcoOption, ...]
    tco: TcoSeries | None
    break_even: tuple[BreakEven, ...]


ClaimVerdict = Literal["CONFIRMED", "CONFIRMED ONLY UNDER 24/7", "PARTLY CONFIRMED", "REFUTED"]


@dataclass(frozen=True)
class ClaimCheck:
    """One of the seed's claims against the numbers."""

    claim: str
    """The claim, in the seed's words."""
    verdict: ClaimVerdict
    evidence: str
    """The numbers, in words."""
    numbers: dict[str, float | None] = field(default_factory=dict)
    """The same numbers, for JSON."""
    summary: str = ""
    """The decisive numbers in a few words (for the verdict paragraph)."""


@dataclass(frozen=True)
class CardCapacity:
    """What one card carries for scenario B's interview, read three ways (see the module docstring)."""

    label: str
    model: str
    """Catalogue model key."""
    precision: str
    """Catalogue weight format key."""
    floor_p95_turn_latency_s: float
    """p95 turn latency at a trickle of demand (one card, no queueing to speak of), s."""
    floor_p95_ttft_s: float
    streaming_business: float | None
    """Simulated knee at the streaming target, business-hours calendar, interviews/day (None: none)."""
    streaming_24h: float | None
    """The same under 24/7 load, interviews/day."""
    strict_business: float | None
    """Simulated knee at the scenario's p95 turn-latency target, business hours, interviews/day."""
    strict_24h: float | None
    """The same under 24/7 load, interviews/day."""
    roofline_9h: float
    roofline_active: float
    roofline_24h: float
    active_hours: float

    @property
    def best_business(self) -> float:
        """The larger of the two usable readings on the business-hours calendar, interviews/day."""
        return max(self.streaming_business or 0.0, self.strict_business or 0.0)

    @property
    def best_24h(self) -> float:
        """The larger of the two usable readings under 24/7 load, interviews/day."""
        return max(self.streaming_24h or 0.0, self.strict_24h or 0.0)


@dataclass(frozen=True)
class ComparisonResult:
    """Everything ``capacity compare`` prints."""

    name: str
    title: str
    seed: int | None
    """The seed given (None: each scenario's own, shared by scenarios that extend one another)."""
    days: int
    groups: tuple[GroupResult, ...]
    claims: tuple[ClaimCheck, ...]
    cards: tuple[CardCapacity, ...]
    verdict: str
    """One paragraph in plain words."""
    runs: tuple[tuple[str, RunResult], ...]
    """(scenario, RunResult) of every table row (for figures)."""
    wall_time_s: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (inf and NaN become null)."""
        out: dict[str, Any] = _plain(
            {
                "comparison": self.name,
                "title": self.title,
                "seed": self.seed,
                "days_of_monthly_demand": self.days,
                "verdict": self.verdict,
                "groups": [
                    {
                        "demand": g.label,
                        "strategies": [vars(r) for r in g.rows],
                        "tco_options": [vars(o) for o in g.tco_options],
                        "tco": g.tco.to_json() if g.tco else None,
                        "break_even": [vars(b) for b in g.break_even],
                    }
                    for g in self.groups
                ],
                "cards": [vars(c) for c in self.cards],
                "claims": [vars(c) for c in self.claims],
                "wall_time_s": self.wall_time_s,
            }
        )
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------------
# Running


def _simulate_task(config: Configuration, seed: int | None, days: int | None) -> RunResult:
    return simulate(config, seed=seed, days=days)


KNEE_TOLERANCE = 0.05
"""Relative precision of a card's simulated knee in the claims (5 %: ample against ±20 % claims)."""


def _knee_task(config: Configuration, target: Target, seed: int | None) -> Knee:
    return knee(config, target, seed=seed, rel_tol=KNEE_TOLERANCE)


def _execute(
    calls: Sequence[Callable[[], Any]], labels: Sequence[str], jobs: int, progress: CompareProgress | None
) -> list[Any]:
    """Run independent ``calls`` (``jobs`` > 1: in that many processes); results in call order."""
    total = len(calls)
    if jobs <= 1 or total <= 1:
        out = []
        for i, call in enumerate(calls):
            out.append(call())
            if progress:
                progress(i + 1, total, labels[i])
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[Any] = [None] * total
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with ProcessPoolExecutor(max_workers=min(jobs, total), mp_context=context) as pool:
        futures = {pool.submit(call): i for i, call in enumerate(calls)}
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            results[i] = future.result()
            if progress:
                progress(done, total, labels[i])
    return results


def run_days(config: Configuration, days: int) -> int | None:
    """The horizon a comparison simulates: ``days`` of a monthly demand (capped), a daily demand's own."""
    demand = config.scenario.demand
    return min(days, demand.days) if demand.kind == "total" else None


def resolve(names: Sequence[str]) -> Comparison | None:
    """The named comparison if ``names`` is one name of :data:`COMPARISONS`, else None (a scenario list)."""
    if len(names) == 1 and names[0] in COMPARISONS:
        return COMPARISONS[names[0]]
    return None


def group_by_demand(configs: Sequence[Configuration]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Scenarios grouped by their demand (kind, interviews, days), labelled by the first of each."""
    groups: dict[tuple[str, int, int], list[str]] = {}
    for c in configs:
        d = c.scenario.demand
        groups.setdefault((d.kind, d.interviews, d.days), []).append(c.scenario.name)
    return tuple((names[0], tuple(names)) for names in groups.values())


def compare(
    names: Sequence[str],
    load: Loader,
    *,
    days: int = DEFAULT_DAYS,
    seed: int | None = None,
    jobs: int = 1,
    claims: bool | None = None,
    progress: CompareProgress | None = None,
) -> ComparisonResult:
    """Run a named comparison, or the scenarios ``names``, and assemble the result.

    ``claims``: check the seed's GPU claims (None: as the named comparison says; for a list of
    scenarios, when one of them has a GPU pool).
    """
    import time

    began = time.perf_counter()
    if not names:
        raise UsageError("name a comparison (" + ", ".join(COMPARISONS) + ") or two or more scenarios")
    named = resolve(names)
    if named is None:
        unique = list(dict.fromkeys(names))
        configs = {n: load(n) for n in unique}
        comparison = Comparison(
            "custom",
            "Scenarios " + ", ".join(unique),
            group_by_demand(list(configs.values())),
            claims=any(c.scenario.gpu_pools for c in configs.values()),
        )
    else:
        comparison = named
        configs = {n: load(n) for _, group in named.groups for n in group}
    check_claims = comparison.claims if claims is None else claims
    catalog = load_catalog()

    order = [n for _, group in comparison.groups for n in group]
    calls: list[Callable[[], Any]] = [
        partial(_simulate_task, configs[n], seed, run_days(configs[n], days)) for n in order
    ]
    labels = list(order)
    claim_plan: _ClaimPlan | None = None
    if check_claims:
        claim_plan = _ClaimPlan.build(load, seed, configs)
        calls += claim_plan.calls
        labels += claim_plan.labels
    results = _execute(calls, labels, jobs, progress)
    runs = dict(zip(order, results[: len(order)], strict=True))

    groups = []
    for label, group in comparison.groups:
        rows = tuple(_row(configs[n], runs[n], label, catalog) for n in group)
        groups.append(_group(label, rows, [configs[n] for n in group], catalog))
    checks: tuple[ClaimCheck, ...] = ()
    cards: tuple[CardCapacity, ...] = ()
    if claim_plan is not None:
        cards, checks = claim_plan.finish(results[len(order) :], runs, catalog)
    verdict = _paragraph(comparison, groups, checks, cards)
    return ComparisonResult(
        comparison.name,
        comparison.title,
        seed,
        days,
        tuple(groups),
        checks,
        cards,
        verdict,
        tuple((n, runs[n]) for n in order),
        time.perf_counter() - began,
    )


# ---------------------------------------------------------------------------------------------
# One row


def month_days(config: Configuration) -> int:
    """Interviewing days in 30 days of the scenario's calendar (22 on weekdays, 30 for 24/7)."""
    return max(1, len(business_days(config.scenario.calendar, round(DAYS_PER_MONTH))))


def _used_pools(config: Configuration) -> list[GpuPool]:
    used = {d.pool for d in config.scenario.routing.destinations if d.pool is not None}
    return [p for p in config.scenario.gpu_pools if p.name in used]


def _hardware(config: Configuration, catalog: GpuCatalog) -> str:
    parts = []
    for pool in _used_pools(config):
        cards = pool.servers * pool.gpus_per_server
        how = "owned" if pool.ownership == "owned" else f"rented, {pool.schedule.replace('_', ' ')}"
        parts.append(f"{cards}× {catalog.gpu(pool.gpu).name} ({how}; {pool.model} {pool.precision})")
    free_accounts = 0
    free_providers: set[str] = set()
    for d in config.scenario.routing.destinations:
        if d.provider is None:
            continue
        provider = config.provider(d.provider)
        accounts = d.accounts or provider.accounts
        if provider.billing == "free":
            if d.provider not in free_providers:
                free_accounts += accounts
            free_providers.add(d.provider)
        else:
            parts.append(f"{provider.label}: {d.model}")
    if free_providers:
        parts.insert(0, f"{free_accounts} free-tier accounts at {len(free_providers)} providers")
    return "; ".join(parts)


def _binds(result: RunResult) -> str:
    refused = sorted(
        ((d.rejected, d.name, d.binding_window) for d in result.destinations if d.binding_window and d.rejected),
        reverse=True,
    )
    over = result.turn_latency_s.p95 > result.sla_p95_turn_latency_s
    gpu = [d for d in result.destinations if d.kind == "gpu" and d.requests]
    if gpu and over:
        if result.ttft_s.p95 > result.sla_ttft_s:
            ttft = result.ttft_s.p95
            return f"GPU throughput: requests queue for the cards (p95 time to first token {ttft:,.1f} s)"
        return (
            f"GPU decode speed: long answers at batch-1 speed (p95 time to first token "
            f"{result.ttft_s.p95:.2f} s, p95 turn {result.turn_latency_s.p95:.1f} s)"
        )
    if refused:
        n, name, window = refused[0]
        return f"{name} {window} ({n:,} refusals)" + (f"; {len(refused) - 1} more quotas" if len(refused) > 1 else "")
    if over:
        return f"model speed: long answers (p95 turn {result.turn_latency_s.p95:.1f} s)"
    return "nothing within the run"


def _row(config: Configuration, result: RunResult, group: str, catalog: GpuCatalog) -> StrategyRow:
    sc = config.scenario
    run_days_ = max(1, len(business_days(sc.calendar, result.days)))
    per_month = month_days(config)
    iv = result.interviews
    carried = iv.completed + iv.degraded
    requested = max(1, iv.requested)
    api_run = sum(d.cost_usd for d in result.destinations if d.kind == "api")
    hours = active_hours_per_day(sc.calendar)
    costs = [
        pool_cost(catalog, p, active_hours_per_day=hours, interviewing_days_per_month=per_month)
        for p in _used_pools(config)
    ]
    monthly = api_run * per_month / run_days_ + sum(c.usd_per_month for c in costs)
    carried_month = carried / run_days_ * per_month
    return StrategyRow(
        scenario=sc.name,
        description=sc.description,
        group=group,
        need_per_day=iv.requested / run_days_,
        carried_per_day=carried / run_days_,
        carried_share=carried / requested,
        failed_share=iv.failed / requested,
        degraded_share=iv.degraded / requested,
        unfinished_share=iv.unfinished / requested,
        p50_turn_latency_s=result.turn_latency_s.p50,
        p95_turn_latency_s=result.turn_latency_s.p95,
        p95_ttft_s=result.ttft_s.p95,
        sla_p95_turn_latency_s=result.sla_p95_turn_latency_s,
        carries=judge(result, config).carries,
        binds=_binds(result),
        hardware=_hardware(config, catalog),
        upfront_usd=sum(c.purchase_usd for c in costs),
        usd_per_month=monthly,
        usd_per_interview=monthly / carried_month if carried_month > 0 else math.inf,
        interviews_per_month=carried_month,
        interviewing_days_per_month=per_month,
        days=result.days,
        seed=result.seed,
        wall_time_s=result.wall_time_s,
    )


# ---------------------------------------------------------------------------------------------
# TCO of a group


def _tokens(config: Configuration) -> tuple[float, float]:
    """Mean API input and output tokens per interview after templates and cache (as ``capacity plan``)."""
    w = make_plan(config).workload
    return w.input_tokens_per_interview, w.output_tokens_per_interview


def reference_options(config: Configuration, interviews_per_month: float, *, note: str = "") -> list[TcoOption]:
    """The reference paid APIs of :data:`REFERENCE_APIS` carrying ``interviews_per_month``."""
    tokens_in, tokens_out = _tokens(config)
    out = []
    for provider, model in REFERENCE_APIS:
        spec = config.providers[provider].model(model) if provider in config.providers else None
        if spec is None or spec.prices is None:
            continue
        per = api_usd_per_interview(spec.prices, tokens_in, tokens_out)
        out.append(
            api_option(
                f"{config.providers[provider].label}: {model}",
                spec.prices,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                interviews_per_month=interviews_per_month,
                note=note or f"${per:.4f}/interview at list price",
            )
        )
    return out


def _rent_schedule(config: Configuration) -> Literal["always_on", "business_hours"]:
    cal = config.scenario.calendar
    return "always_on" if not cal.weekdays_only and cal.business_hours >= 24 else "business_hours"


def _group(label: str, rows: tuple[StrategyRow, ...], configs: list[Configuration], catalog: GpuCatalog) -> GroupResult:
    gpu = next(
        ((r, c, p) for r, c in zip(rows, configs, strict=True) for p in _used_pools(c) if p.ownership == "owned"),
        None,
    ) or next(((r, c, p) for r, c in zip(rows, configs, strict=True) for p in _used_pools(c)), None)
    options: list[TcoOption] = []
    basis: str
    if gpu is not None:
        row, config, pool = gpu
        volume = row.interviews_per_month
        basis = (
            f"{volume:,.0f} interviews/month: what {row.scenario} carried in simulation "
            f"({row.carried_per_day:,.0f}/interviewing day × {row.interviewing_days_per_month} days)"
        )
        if row.p95_ttft_s > config.scenario.sla.ttft_s:
            basis += (
                f"; its p95 time to first token, {row.p95_ttft_s:,.0f} s, is past the "
                f"{config.scenario.sla.ttft_s:g} s target: more than it serves well"
            )
        hours = active_hours_per_day(config.scenario.calendar)
        per_month = row.interviewing_days_per_month
        owned = owned_twin(pool)
        if pool.ownership == "owned" or catalog.gpu(pool.gpu).purchase_usd is not None:
            options.append(
                pool_option(
                    catalog,
                    owned,
                    active_hours_per_day=hours,
                    interviewing_days_per_month=per_month,
                    interviews_per_month=volume,
                    note="purchase up front; electricity at board power 24/7",
                )
            )
        options.append(
            pool_option(
                catalog,
                rented_twin(pool, schedule=_rent_schedule(config)),
                active_hours_per_day=hours,
                interviewing_days_per_month=per_month,
                interviews_per_month=volume,
                note="catalogue rent per GPU-hour, only while interviews run",
            )
        )
        options += reference_options(config, volume)
    else:
        config = configs[0]
        volume = rows[0].need_per_day * rows[0].interviewing_days_per_month
        basis = f"{volume:,.0f} interviews/month: the demand ({rows[0].need_per_day:,.0f}/interviewing day)"
        options += reference_options(config, volume)
    tco = tco_series(options, volume_basis=basis) if options else None
    owned_options = [o for o in options if o.kind == "owned_gpu"]
    even = tuple(
        BreakEven(own.label, other.label, break_even_month(own, other), payback_months(own, other))
        for own in owned_options
        for other in options
        if other is not own
    )
    return GroupResult(label, rows, tuple(options), tco, even)


# ---------------------------------------------------------------------------------------------
# The seed's GPU claims


SEED_CLAIMS = {
    "llama": "Llama 3.1 8B on 1× RTX 4090: ~10,000 interviews/day",
    "mistral": "Mistral 7B on 1× RTX 4090: ~12,000 interviews/day",
    "phi": "Phi-3 Medium on 1× RTX 3090: ~8,000 interviews/day",
    "fleet": "3× RTX 4090 (≈ $8,000 with the server) carry scenario B's 50,000 interviews/day",
    "payback": "The $8,000 of hardware pays for itself in 3–4 months vs paid APIs",
    "power": "Running cost: electricity ≈ $100/month",
    "option1": "Option 1: free tiers + GPT-3.5 Turbo carry 48,000 interviews/day for ≈ $2,400/month",
}
SEED_FIGURES = {"llama": 10_000.0, "mistral": 12_000.0, "phi": 8_000.0, "fleet": 50_000.0}
SEED_GPT35_PER_DAY = 48_000.0
SEED_GPT35_USD_PER_MONTH = 2_400.0
SEED_POWER_USD_PER_MONTH = 100.0
SEED_PAYBACK_MONTHS = 4.0

CARDS: tuple[tuple[str, str, str], ...] = (
    ("Llama 3.1 8B fp16 on 1× RTX 4090", "llama-3.1-8b", "fp16"),
    ("Llama 3.1 8B int8 on 1× RTX 4090", "llama-3.1-8b", "int8"),
    ("Mistral 7B fp16 on 1× RTX 4090", "mistral-7b", "fp16"),
)
"""The cards whose capacity the claims read (label, model, weight format); the first is B-gpu's."""


@dataclass(frozen=True)
class _ClaimPlan:
    """The simulations the claims need, and how to turn their results into checks."""

    business: Configuration
    """B-gpu: the seed's 3× RTX 4090 on B's business-hours calendar."""
    allday: Configuration
    """B-gpu-24h: the same under 24/7 load."""
    seed: int | None
    full_business_in_table: bool
    calls: list[Callable[[], Any]]
    labels: list[str]
    streaming: Target
    strict: Target

    @staticmethod
    def build(load: Loader, seed: int | None, configs: dict[str, Configuration]) -> _ClaimPlan:
        business = configs.get("B-gpu") or load("B-gpu")
        allday = load("B-gpu-24h")
        sla = business.scenario.sla
        streaming = Target(p95_turn_latency_s=None, p95_ttft_s=sla.ttft_s)
        strict = Target(p95_turn_latency_s=sla.p95_turn_latency_s)
        calls: list[Callable[[], Any]] = []
        labels: list[str] = []
        for _, model, precision in CARDS:
            for target_name, target in (("streaming", streaming), ("turn target", strict)):
                for name, config in (("business hours", business), ("24/7", allday)):
                    card = _one_card(config, model=model, precision=precision)
                    calls.append(partial(_knee_task, card, target, seed))
                    labels.append(f"knee of 1× RTX 4090 {model} {precision}, {target_name}, {name}")
        calls.append(partial(_simulate_task, allday, seed, None))
        labels.append("B-gpu-24h (3× RTX 4090, 24/7)")
        in_table = "B-gpu" in configs
        if not in_table:
            calls.append(partial(_simulate_task, business, seed, None))
            labels.append("B-gpu (3× RTX 4090)")
        return _ClaimPlan(business, allday, seed, in_table, calls, labels, streaming, strict)

    def finish(
        self, results: list[Any], runs: dict[str, RunResult], catalog: GpuCatalog
    ) -> tuple[tuple[CardCapacity, ...], tuple[ClaimCheck, ...]]:
        n = 4 * len(CARDS)
        knees: list[Knee] = results[:n]
        sla = self.business.scenario.sla.p95_turn_latency_s
        full_allday: RunResult = results[n]
        full_business: RunResult = runs["B-gpu"] if self.full_business_in_table else results[n + 1]
        cards = tuple(
            self._card(label, model, precision, knees[4 * i : 4 * i + 4], catalog)
            for i, (label, model, precision) in enumerate(CARDS)
        )
        llama = [c for c in cards if c.model == "llama-3.1-8b"]
        mistral = [c for c in cards if c.model == "mistral-7b"]
        checks = [
            _capacity_claim(SEED_CLAIMS["llama"], SEED_FIGURES["llama"], llama, self._roofline_quantised(), sla),
            _capacity_claim(SEED_CLAIMS["mistral"], SEED_FIGURES["mistral"], mistral, "", sla),
            self._phi_claim(catalog),
            self._fleet_claim(full_business, full_allday, cards[0]),
            *self._money_claims(cards[0], catalog),
        ]
        return cards, tuple(checks)

    # -- helpers ----------------------------------------------------------------------------
    def _load(self) -> InterviewLoad:
        w = make_plan(self.business).workload
        calls = max(1, round(w.api_requests_per_interview))
        return InterviewLoad(
            w.input_tokens_per_interview / w.api_requests_per_interview * calls,
            w.output_tokens_per_interview / w.api_requests_per_interview * calls,
            calls,
        )

    def _roofline(self, catalog: GpuCatalog, gpu: str, model: str, precision: str, hours: float) -> float:
        dep = deployment(catalog, gpu, model, precision=precision)
        return size_server(dep, self._load(), hours_per_day=hours).interviews_per_day

    def _roofline_quantised(self) -> str:
        catalog = load_catalog()
        int4 = self._roofline(catalog, "rtx4090", "llama-3.1-8b", "int4", 24.0)
        return (
            f" In int4 the 24-hour roofline bound is {int4:,.0f} — full batch every hour, no latency "
            "limit: an upper bound no live service reaches."
        )

    def _card(self, label: str, model: str, precision: str, knees: list[Knee], catalog: GpuCatalog) -> CardCapacity:
        """A card from its four knees: streaming and turn target, each on business hours and 24/7."""
        hours = active_hours_per_day(self.business.scenario.calendar)
        streaming_business, streaming_24h, strict_business, strict_24h = knees
        floor = streaming_business.floor
        return CardCapacity(
            label=label,
            model=model,
            precision=precision,
            floor_p95_turn_latency_s=floor.p95_turn_latency_s,
            floor_p95_ttft_s=floor.p95_ttft_s,
            streaming_business=streaming_business.interviews_per_day,
            streaming_24h=streaming_24h.interviews_per_day,
            strict_business=strict_business.interviews_per_day,
            strict_24h=strict_24h.interviews_per_day,
            roofline_9h=self._roofline(catalog, "rtx4090", model, precision, 9.0),
            roofline_active=self._roofline(catalog, "rtx4090", model, precision, hours),
            roofline_24h=self._roofline(catalog, "rtx4090", model, precision, 24.0),
            active_hours=hours,
        )

    def _phi_claim(self, catalog: GpuCatalog) -> ClaimCheck:
        fp16 = deployment(catalog, "rtx3090", "phi-3-medium")
        int8 = self._roofline(catalog, "rtx3090", "phi-3-medium", "int8", 24.0)
        int4 = self._roofline(catalog, "rtx3090", "phi-3-medium", "int4", 24.0)
        best = max(int8, int4)
        verdict: ClaimVerdict = "CONFIRMED" if best >= CLAIM_TOLERANCE * SEED_FIGURES["phi"] else "REFUTED"
        return ClaimCheck(
            SEED_CLAIMS["phi"],
            verdict,
            f"In fp16 Phi-3 Medium's {fp16.weight_bytes / 1e9:.0f} GB of weights do not fit the RTX "
            f"3090's {fp16.gpu.vram_gb:g} GB: it does not run at all. Quantised, even the roofline upper "
            f"bound (full batch 24 hours a day, no latency limit) is {int8:,.0f}/day in int8 and "
            f"{int4:,.0f}/day in int4 — {best / SEED_FIGURES['phi']:.0%} of the claim at best.",
            {"fits_fp16": 0.0, "roofline_24h_int8": int8, "roofline_24h_int4": int4},
            f"does not fit in fp16; quantised, at most {best:,.0f}/day even by the roofline",
        )

    def _fleet_claim(self, business: RunResult, allday: RunResult, card: CardCapacity) -> ClaimCheck:
        need = SEED_FIGURES["fleet"]
        pieces = []
        ok = []
        for name, run, per_card in (
            ("business hours", business, card.streaming_business),
            ("24/7", allday, card.streaming_24h),
        ):
            iv = run.interviews
            share = (iv.completed + iv.degraded) / max(1, iv.requested)
            meets = self.streaming.met_by(run)
            ok.append(meets)
            needed = f"{math.ceil(need / per_card):,}" if per_card else "no number of"
            pieces.append(
                f"{name}: {share:.0%} carried by the run's end, p95 time to first token "
                f"{run.ttft_s.p95:,.0f} s, p95 turn {run.turn_latency_s.p95:,.0f} s — "
                f"{'meets' if meets else 'misses'} the streaming target; at one card's streaming knee it "
                f"takes {needed} cards"
            )
        roof = math.ceil(need / card.roofline_active)
        roof24 = math.ceil(need / card.roofline_24h)
        verdict: ClaimVerdict = "CONFIRMED" if all(ok) else "CONFIRMED ONLY UNDER 24/7" if ok[1] else "REFUTED"
        return ClaimCheck(
            SEED_CLAIMS["fleet"],
            verdict,
            "Simulated 3× RTX 4090 (Llama 3.1 8B fp16): "
            + "; ".join(pieces)
            + f". Even the roofline bound needs {roof} cards in B's {card.active_hours:g} active hours "
            f"({roof24} at 24/7); `capacity size -s B-gpu --p95-ttft 1s --p95-turn-latency off` finds the "
            "least fleet with the pooled simulation (fewer than one-card knees suggest).",
            {
                "carried_share_business": _share(business),
                "p95_ttft_business_s": business.ttft_s.p95,
                "carried_share_24h": _share(allday),
                "p95_ttft_24h_s": allday.ttft_s.p95,
                "cards_needed_business_one_card_knee": math.ceil(need / card.streaming_business)
                if card.streaming_business
                else None,
                "cards_needed_24h_one_card_knee": math.ceil(need / card.streaming_24h) if card.streaming_24h else None,
                "cards_roofline_bound": float(roof),
            },
            f"{_share(business):.0%} carried with p95 time to first token "
            f"{business.ttft_s.p95 / 60:,.0f} min ({_share(allday):.0%} and "
            f"{allday.ttft_s.p95 / 60:,.0f} min at 24/7); "
            f"{roof}–{math.ceil(need / card.streaming_business) if card.streaming_business else '?'} cards "
            "needed in business hours",
        )

    def _money_claims(self, card: CardCapacity, catalog: GpuCatalog) -> list[ClaimCheck]:
        pool = next(p for p in self.business.scenario.gpu_pools)
        hours = active_hours_per_day(self.business.scenario.calendar)
        per_month = month_days(self.business)
        cost = pool_cost(catalog, pool, active_hours_per_day=hours, interviewing_days_per_month=per_month)
        cards = pool.servers * pool.gpus_per_server
        per_card_usd = cost.purchase_usd / cards
        out: list[ClaimCheck] = []
        # payback, at two volumes
        lines = []
        numbers: dict[str, float | None] = {}
        fast: list[str] = []
        slow: list[str] = []
        short: list[str] = []
        volumes = []
        if card.streaming_business:
            carried = cards * card.streaming_business * per_month
            volumes.append(
                (
                    f"the {carried:,.0f} interviews/month the seed's {cards} cards carry at the streaming target",
                    cards,
                    carried,
                )
            )
            needed = math.ceil(SEED_FIGURES["fleet"] / card.streaming_business)
            volumes.append(
                (
                    f"the seed's 50,000/day ({SEED_FIGURES['fleet'] * per_month:,.0f}/month) on the "
                    f"{needed} cards one card's knee implies (a pooled fleet needs fewer)",
                    needed,
                    SEED_FIGURES["fleet"] * per_month,
                )
            )
        for text, n_cards, volume in volumes:
            owned = TcoOption(
                f"own {n_cards}× RTX 4090",
                "owned_gpu",
                per_card_usd * n_cards,
                cost.running_usd_per_month / cards * n_cards,
                volume,
            )
            parts = []
            for api in reference_options(self.business, volume):
                months = payback_months(owned, api)
                numbers[f"payback_months {api.label} at {volume:,.0f}/month"] = months
                shown = "never" if months is None else f"{months:.1f} months"
                parts.append(f"{api.label} (${api.monthly_usd:,.0f}/month): {shown}")
                if len(short) < len(REFERENCE_APIS):
                    short.append(f"{shown} vs {api.label.split(': ')[-1]}")
                if months is not None and months <= SEED_PAYBACK_MONTHS:
                    fast.append(api.label)
                else:
                    slow.append(api.label)
            lines.append(
                f"At {text} (${owned.upfront_usd:,.0f} up front, ${owned.monthly_usd:,.0f}/month to run), "
                "payback against " + "; ".join(parts)
            )
        verdict: ClaimVerdict = "REFUTED" if not fast else "CONFIRMED" if not slow else "PARTLY CONFIRMED"
        out.append(
            ClaimCheck(
                SEED_CLAIMS["payback"],
                verdict,
                ". ".join(lines) + ". The payback is short only against the dearest API; against the cheap 8B "
                "APIs owning takes far longer, or never pays.",
                numbers,
                "payback " + ", ".join(short),
            )
        )
        power = cost.electricity_usd_per_month
        out.append(
            ClaimCheck(
                SEED_CLAIMS["power"],
                "CONFIRMED" if power <= 2 * SEED_POWER_USD_PER_MONTH else "REFUTED",
                f"{cards}× 450 W at full board power 24/7 and ${pool.electricity_usd_per_kwh:g}/kWh: "
                f"${power:,.0f}/month (an upper bound: idle cards draw less); about right in size. But "
                f"carrying 50,000/day takes more cards, and each adds ${power / cards:,.0f}/month.",
                {"electricity_usd_per_month": power},
                f"${power:,.0f}/month for {cards} cards",
            )
        )
        tokens_in, tokens_out = _tokens(self.business)
        gpt35 = config_option(self.business, "openai", "gpt-3.5-turbo-0125", SEED_GPT35_PER_DAY * per_month)
        if gpt35 is not None:
            out.append(
                ClaimCheck(
                    SEED_CLAIMS["option1"],
                    "CONFIRMED" if gpt35.monthly_usd <= SEED_GPT35_USD_PER_MONTH / CLAIM_TOLERANCE else "REFUTED",
                    f"48,000 interviews × {per_month} interviewing days at "
                    f"${gpt35.monthly_usd / gpt35.interviews_per_month:.4f} per interview (list price, "
                    f"{tokens_in:,.0f} input + {tokens_out:,.0f} output tokens each) is "
                    f"${gpt35.monthly_usd:,.0f}/month, "
                    f"{gpt35.monthly_usd / SEED_GPT35_USD_PER_MONTH:.0f}× the seed's figure "
                    "(`capacity compare hybrid` simulates it).",
                    {"usd_per_month": gpt35.monthly_usd},
                    f"${gpt35.monthly_usd:,.0f}/month at list price",
                )
            )
        return out


def config_option(config: Configuration, provider: str, model: str, interviews_per_month: float) -> TcoOption | None:
    """A paid API of ``config``'s providers carrying ``interviews_per_month`` (None: unknown or unpriced)."""
    spec = config.providers[provider].model(model) if provider in config.providers else None
    if spec is None or spec.prices is None:
        return None
    tokens_in, tokens_out = _tokens(config)
    return api_option(
        f"{provider}: {model}",
        spec.prices,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        interviews_per_month=interviews_per_month,
    )


def _share(run: RunResult) -> float:
    iv = run.interviews
    return (iv.completed + iv.degraded) / max(1, iv.requested)


def _one_card(config: Configuration, *, model: str, precision: str = "fp16") -> Configuration:
    """``config``'s (only) pool as one server running ``model`` in ``precision``."""
    import dataclasses

    pool = config.scenario.gpu_pools[0]
    resized = with_servers(config, pool.name, 1)
    sc = resized.scenario
    pools = [p.model_copy(update={"model": model, "precision": precision}) for p in sc.gpu_pools]
    return dataclasses.replace(resized, scenario=sc.model_copy(update={"gpu_pools": pools}))


def _per_day(x: float | None) -> str:
    return "none" if not x else f"{x:,.0f}"


def _card_evidence(card: CardCapacity, figure: float, sla_p95_turn_latency_s: float) -> str:
    """One card's readings, in words."""
    if card.strict_business is None and card.strict_24h is None:
        strict = (
            f"none — an idle card already takes {card.floor_p95_turn_latency_s:.1f} s at p95 for the turns "
            "the candidate waits for"
        )
    else:
        strict = f"{_per_day(card.strict_business)} (business hours), {_per_day(card.strict_24h)} (24/7)"
    return (
        f"{card.label}: streaming (p95 time to first token ≤ 1 s, ≥ 99 % carried) "
        f"{_per_day(card.streaming_business)}/day on B's business-hours calendar, "
        f"{_per_day(card.streaming_24h)} under 24/7 load; at the {sla_p95_turn_latency_s:g} s p95 turn "
        f"target {strict}; roofline upper bound (full batch, no latency limit) "
        f"{card.roofline_9h:,.0f} in a 9-hour day, {card.roofline_active:,.0f} in B's "
        f"{card.active_hours:g} active hours, {card.roofline_24h:,.0f} at 24 h. Best usable reading: "
        f"{card.best_business / figure:.0%} of the claim in business hours, {card.best_24h / figure:.0%} "
        "at 24/7."
    )


def _capacity_claim(
    claim: str, figure: float, cards: Sequence[CardCapacity], extra: str, sla_p95_turn_latency_s: float = 3.0
) -> ClaimCheck:
    """A per-card claim judged on the best usable reading of any of ``cards`` (same model, any format)."""
    business = max(c.best_business for c in cards)
    allday = max(c.best_24h for c in cards)
    verdict: ClaimVerdict
    if business >= CLAIM_TOLERANCE * figure:
        verdict = "CONFIRMED"
    elif allday >= CLAIM_TOLERANCE * figure:
        verdict = "CONFIRMED ONLY UNDER 24/7"
    else:
        verdict = "REFUTED"
    evidence = " ".join(_card_evidence(c, figure, sla_p95_turn_latency_s) for c in cards)
    numbers: dict[str, float | None] = {}
    for c in cards:
        key = f"{c.model} {c.precision}"
        numbers |= {
            f"{key} streaming_business_per_day": c.streaming_business,
            f"{key} streaming_24h_per_day": c.streaming_24h,
            f"{key} turn_target_business_per_day": c.strict_business,
            f"{key} turn_target_24h_per_day": c.strict_24h,
            f"{key} roofline_24h_per_day": c.roofline_24h,
            f"{key} idle_p95_turn_latency_s": c.floor_p95_turn_latency_s,
        }
    top_business = max(cards, key=lambda c: c.best_business)
    top_allday = max(cards, key=lambda c: c.best_24h)
    return ClaimCheck(
        claim,
        verdict,
        evidence + extra,
        numbers,
        f"at best {business:,.0f}/day in business hours ({_reading(top_business, allday=False)}) and "
        f"{allday:,.0f} at 24/7 ({_reading(top_allday, allday=True)})",
    )


def _reading(card: CardCapacity, *, allday: bool) -> str:
    """Which format and target gave a card's best usable reading: ``int8, streamed``."""
    streaming = card.streaming_24h if allday else card.streaming_business
    strict = card.strict_24h if allday else card.strict_business
    how = "streamed" if (streaming or 0.0) >= (strict or 0.0) else "within the turn target"
    return f"{card.precision}, {how}"


# ---------------------------------------------------------------------------------------------
# The paragraph


def _duration(x: float) -> str:
    return f"{x:,.1f} s" if x < 100 else f"{x / 60:,.0f} min"


def _money(x: float) -> str:
    return "—" if not math.isfinite(x) else f"${x:,.0f}"


def _paragraph(
    comparison: Comparison,
    groups: list[GroupResult],
    claims: tuple[ClaimCheck, ...],
    cards: tuple[CardCapacity, ...],
) -> str:
    """One paragraph: per demand, who carries it, at what latency and cost; then TCO and the claims."""
    sentences = []
    for g in groups:
        need = g.rows[0].need_per_day
        parts = []
        for r in g.rows:
            latency = "within" if r.p95_turn_latency_s <= r.sla_p95_turn_latency_s else "over"
            parts.append(
                f"{r.scenario} carries {r.carried_per_day:,.0f}/day ({r.carried_share:.0%}) at p95 "
                f"{_duration(r.p95_turn_latency_s)} ({latency} the {r.sla_p95_turn_latency_s:g} s target) "
                f"for {_money(r.usd_per_month)}/month"
            )
        good = [r for r in g.rows if r.carries]
        best = min(good, key=lambda r: r.usd_per_month) if good else None
        tail = (
            f"the cheapest that carries it within the target is {best.scenario} at "
            f"{_money(best.usd_per_month)}/month (${best.usd_per_interview:.4f}/interview)"
            if best
            else "none of them carries it within the target"
        )
        sentences.append(
            f"On {g.label}'s demand ({need:,.0f} interviews per interviewing day), " + "; ".join(parts) + f" — {tail}."
        )
        owned = [o for o in g.tco_options if o.kind == "owned_gpu"]
        if owned and g.tco is not None:
            own = owned[0]
            others = [o for o in g.tco_options if o is not own]
            cheapest = min(others, key=lambda o: o.cumulative_usd(HORIZON_MONTHS), default=None)
            if cheapest is not None:
                even = next(b for b in g.break_even if b.other == cheapest.label)
                when = (
                    f"breaks even in month {even.month}" if even.month is not None else "never breaks even in 36 months"
                )
                sentences.append(
                    f"At the volume the GPUs carried ({g.tco.interviews_per_month:,.0f}/month), {own.label} "
                    f"costs {_money(own.cumulative_usd(HORIZON_MONTHS))} over 36 months against "
                    f"{_money(cheapest.cumulative_usd(HORIZON_MONTHS))} for the cheapest alternative, "
                    f"{cheapest.label}; owning {when}."
                )
    if cards:
        sla = groups[0].rows[0].sla_p95_turn_latency_s
        slow = [c for c in cards if c.strict_business is None and c.strict_24h is None]
        quick = [c for c in cards if c not in slow]
        parts = [
            f"{c.label} meets no {sla:g} s p95 turn target at any fleet size (an idle card takes "
            f"{c.floor_p95_turn_latency_s:.1f} s)"
            for c in slow
        ] + [f"{c.label} does ({_per_day(c.strict_business)}/day per card in business hours)" for c in quick]
        sentences.append("; ".join(parts) + ".")
    if claims:
        listed = "; ".join(f"{c.claim.split(':')[0]} — {c.verdict} ({c.summary})" for c in claims if c.summary)
        sentences.append(f"The seed's claims: {listed}.")
        refuted = sum(1 for c in claims if c.verdict == "REFUTED")
        sentences.append(
            f"Of the seed's {len(claims)} self-hosting and cost claims checked below, {refuted} are refuted, "
            f"{sum(1 for c in claims if c.verdict == 'CONFIRMED')} confirmed and "
            f"{len(claims) - refuted - sum(1 for c in claims if c.verdict == 'CONFIRMED')} hold only in part."
        )
    return " ".join(sentences)
