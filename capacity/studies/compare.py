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

Month basis (:mod:`capacity.studies.costs`, the one basis of every page): a month has the
calendar's interviewing days in 30 days (22 on weekdays, 30 for a 24/7 calendar); a run's API
bill and carried interviews are scaled from its interviewing days to that. Owned GPUs'
monthly cost in the table is amortised (purchase ÷ amortisation months + electricity +
hosting); the TCO counts the purchase as cash up front instead.

The seed's GPU and cost claims (:mod:`capacity.studies.claims`) are checked alongside when
the comparison has GPUs; their knee searches share the comparison's process pool. The
verdict paragraph is written by :mod:`capacity.report.compare_verdict`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from capacity.config.gpus import GpuPool
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.gpu.cost import pool_cost
from capacity.plan.tco import (
    TcoOption,
    TcoSeries,
    break_even_month,
    owned_twin,
    payback_months,
    pool_option,
    rented_twin,
    tco_series,
)
from capacity.result import RunResult
from capacity.studies.claims import CardCapacity, ClaimCheck, ClaimRun, ClaimStudy, KneeTask, Loader
from capacity.studies.costs import reference_options
from capacity.studies.demand import month_days, need_per_interviewing_day, run_interviewing_days
from capacity.studies.runner import SimTask, TasksDone, distinct_runs, run_tasks
from capacity.studies.target import carries
from capacity.units import duration_text
from capacity.workload.calendar import active_hours_per_day

DEFAULT_DAYS = 5
"""Days of a monthly-demand scenario (A) a comparison simulates (Monday to Friday)."""


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

CompareProgress = TasksDone
"""Told (runs done, runs in all, what just finished)."""


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
    scenario_need_per_day: float
    """The scenario's demand per interviewing day over its whole horizon (A: 50,000 ÷ 22 = 2,273):
    a run of its first days offers a little more or less (the sessions starting in them)."""
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
    prompt_cached_share: float = 0.0
    """Share of the input tokens read from provider prompt caches in the run (0–1)."""
    prompt_cache_saved_usd_per_month: float = 0.0
    """List price the prompt caches saved, scaled to a month like usd_per_month, USD/month."""


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


@dataclass(frozen=True)
class PlannedComparison:
    """A comparison laid out as independent runs (:attr:`tasks`), before any of them ran.

    :func:`compare` runs the tasks in a pool of its own; ``capacity report --all`` puts them in
    one pool with the other studies' runs (a run two studies share is then made once) and
    hands each study its results with :meth:`finish`.
    """

    comparison: Comparison
    configs: dict[str, Configuration]
    seed: int | None
    days: int
    order: tuple[str, ...]
    """The table's scenarios in row order: the first ``len(order)`` tasks are their runs."""
    study: ClaimStudy | None
    tasks: tuple[SimTask | KneeTask, ...]

    def finish(self, results: Sequence[ClaimRun], wall_time_s: float) -> ComparisonResult:
        """The comparison from the results of :attr:`tasks`, in task order."""
        n = len(self.order)
        runs = {name: r for name, r in zip(self.order, results[:n], strict=True) if isinstance(r, RunResult)}
        groups = []
        for label, group in self.comparison.groups:
            rows = tuple(strategy_row(self.configs[name], runs[name], label) for name in group)
            groups.append(_group(label, rows, [self.configs[name] for name in group]))
        checks: tuple[ClaimCheck, ...] = ()
        cards: tuple[CardCapacity, ...] = ()
        if self.study is not None:
            cards, checks = self.study.finish(results[n:], runs)
        return ComparisonResult(
            self.comparison.name,
            self.comparison.title,
            self.seed,
            self.days,
            tuple(groups),
            checks,
            cards,
            tuple((name, runs[name]) for name in self.order),
            wall_time_s,
        )


def plan_comparison(
    names: Sequence[str],
    load: Loader,
    *,
    days: int = DEFAULT_DAYS,
    seed: int | None = None,
    claims: bool | None = None,
) -> PlannedComparison:
    """The runs of a named comparison, or of the scenarios ``names`` (see :func:`compare`).

    Raises UsageError when ``names`` is empty, and as ``load`` does for an unknown scenario.
    """
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
    order = tuple(n for _, group in comparison.groups for n in group)
    tasks: list[SimTask | KneeTask] = [SimTask(configs[n], seed, run_days(configs[n], days), n) for n in order]
    study = ClaimStudy.build(load, seed, configs) if check_claims else None
    if study is not None:
        tasks += study.tasks
    return PlannedComparison(comparison, configs, seed, days, order, study, tuple(tasks))


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
    scenarios, when one of them has a GPU pool). Every run — the strategies' and the claims'
    knee searches — goes into one pool of ``jobs`` processes; the numbers do not depend on it.
    """
    began = time.perf_counter()
    planned = plan_comparison(names, load, days=days, seed=seed, claims=claims)
    if progress is not None:  # the runs in all, before the first (often the longest) ends
        progress(0, distinct_runs(planned.tasks), "")
    results: list[ClaimRun] = run_tasks(planned.tasks, jobs, done=progress)
    return planned.finish(results, time.perf_counter() - began)


# ---------------------------------------------------------------------------------------------
# One row


def _used_pools(config: Configuration) -> list[GpuPool]:
    used = {d.pool for d in config.scenario.routing.all_destinations if d.pool is not None}
    return [p for p in config.scenario.gpu_pools if p.name in used]


def _hardware(config: Configuration) -> str:
    catalog = config.gpu_catalog
    parts = []
    for pool in _used_pools(config):
        cards = pool.servers * pool.gpus_per_server
        how = "owned" if pool.ownership == "owned" else f"rented, {pool.schedule.replace('_', ' ')}"
        parts.append(f"{cards}× {catalog.gpu(pool.gpu).name} ({how}; {pool.model} {pool.precision})")
    free_accounts = 0
    free_providers: set[str] = set()
    for d in config.scenario.routing.all_destinations:
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
    """What limits a strategy, in words: its GPUs, or the binding quota of the destination that carried
    the most requests (as the verdict names them: what limits the bulk of the traffic, not a small
    credit that ran out early), or the models' speed."""
    refused = result.binding_windows()
    over = result.turn_latency_s.p95 > result.sla_p95_turn_latency_s
    gpu = [d for d in result.destinations if d.kind == "gpu" and d.requests]
    if gpu and over:
        if result.ttft_s.p95 > result.sla_ttft_s:
            ttft = result.ttft_s.p95
            return f"GPU throughput: requests queue for the cards (p95 time to first token {duration_text(ttft)})"
        return (
            f"GPU decode speed: long answers at batch-1 speed (p95 time to first token "
            f"{duration_text(result.ttft_s.p95)}, p95 turn {duration_text(result.turn_latency_s.p95)})"
        )
    if refused:
        dest, window = refused[0]
        more = f"; {len(refused) - 1} more quotas" if len(refused) > 1 else ""
        return f"{dest.name} {window.name} (full {window.full_share:.0%} of the run){more}"
    if over:
        return f"model speed: long answers (p95 turn {result.turn_latency_s.p95:.1f} s)"
    return "nothing within the run"


def strategy_row(config: Configuration, result: RunResult, group: str) -> StrategyRow:
    """One strategy's row: per interviewing day of the run, and a month on the one basis of :mod:`.costs`."""
    sc = config.scenario
    run_days_ = run_interviewing_days(config, result.days)
    per_month = month_days(config)
    iv = result.interviews
    carried = iv.carried
    requested = max(1, iv.requested)  # the failed, degraded, unfinished shares of an empty run are 0
    api_run = sum(d.cost_usd for d in result.destinations if d.kind == "api")
    hours = active_hours_per_day(sc.calendar)
    costs = [
        pool_cost(config.gpu_catalog, p, active_hours_per_day=hours, interviewing_days_per_month=per_month)
        for p in _used_pools(config)
    ]
    # a run's API bill and carried interviews scale by interviewing days: runs_per_month's basis
    monthly = api_run * per_month / run_days_ + sum(c.usd_per_month for c in costs)
    carried_month = carried / run_days_ * per_month
    return StrategyRow(
        scenario=sc.name,
        description=sc.description,
        group=group,
        need_per_day=iv.requested / run_days_,
        scenario_need_per_day=need_per_interviewing_day(config),
        carried_per_day=carried / run_days_,
        carried_share=iv.carried_share,
        failed_share=iv.failed / requested,
        degraded_share=iv.degraded / requested,
        unfinished_share=iv.unfinished / requested,
        p50_turn_latency_s=result.turn_latency_s.p50,
        p95_turn_latency_s=result.turn_latency_s.p95,
        p95_ttft_s=result.ttft_s.p95,
        sla_p95_turn_latency_s=result.sla_p95_turn_latency_s,
        carries=carries(result),
        binds=_binds(result),
        hardware=_hardware(config),
        upfront_usd=sum(c.purchase_usd for c in costs),
        usd_per_month=monthly,
        usd_per_interview=monthly / carried_month if carried_month > 0 else math.inf,
        interviews_per_month=carried_month,
        interviewing_days_per_month=per_month,
        days=result.days,
        seed=result.seed,
        wall_time_s=result.wall_time_s,
        prompt_cached_share=result.prompt_cache.cached_share,
        prompt_cache_saved_usd_per_month=result.prompt_cache.saved_usd * per_month / run_days_,
    )


def _rent_schedule(config: Configuration) -> Literal["always_on", "business_hours"]:
    cal = config.scenario.calendar
    return "always_on" if not cal.weekdays_only and cal.business_hours >= 24 else "business_hours"


def _group(label: str, rows: tuple[StrategyRow, ...], configs: list[Configuration]) -> GroupResult:
    """The group's TCO at one volume: what its (first owned) GPU pool carried, else the demand."""
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
                f"; its p95 time to first token, {duration_text(row.p95_ttft_s)}, is past the "
                f"{config.scenario.sla.ttft_s:g} s target: more than it serves well"
            )
        catalog = config.gpu_catalog
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
