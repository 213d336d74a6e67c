"""Report pages: a scenario's Markdown page with its figures, and ``capacity report --all``.

A scenario page (``reports/<scenario>/README.md``) is written for a manager: the verdict
first (does the plan carry the demand within the latency target, and if not what would),
then the headline numbers and the figures with their tables, then every assumption with its
source and the date the source was read (``as_of``). It is built from one seeded simulation
(:class:`~capacity.result.RunResult`), the static plan of the same scenario
(:class:`~capacity.plan.result.PlanResult`), a capacity curve of short runs at scaled demand
(:mod:`capacity.report.sweep`), and the configuration for the assumptions.

Pages and figures are deterministic: the same inputs give the same files, bit for bit (no
dates, no wall times, fixed fonts, PNGs without varying metadata), so ``reports/`` can be
committed and its diff read as a change of the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from capacity.config.distributions import (
    ConstantSpec,
    EmpiricalSpec,
    ExponentialSpec,
    LognormalSpec,
    NormalSpec,
)
from capacity.config.loader import Configuration
from capacity.plan.result import PlanResult
from capacity.report import markdown as md
from capacity.report.audit import write_seed_audit
from capacity.report.figures._day import day_window
from capacity.report.figures.cost import cost_figure, cost_rows
from capacity.report.figures.curve import curve_figure
from capacity.report.figures.demand import CapacityLine, demand_figure
from capacity.report.figures.latency import latency_figure
from capacity.report.figures.quota import quota_figure
from capacity.report.figures.requests import requests_figure
from capacity.report.providers_table import limits_text
from capacity.report.runs import Progress, RunRequest, ScenarioRun, list_prices, run_scenarios, runs_per_month
from capacity.report.verdict import clock
from capacity.result import RunResult
from capacity.units import limit_unit

ALL_SCENARIOS = ("A", "B", "seed-claims")
"""The shipped scenarios ``capacity report --all`` writes a page for (plus the seed audit)."""

AUDIT_SCENARIOS = ("seed-claims", "A", "B")
"""What the seed audit reads: the seed's claimed quotas, the 2025 free tiers, 50,000 a day."""

SEED_AUDIT = "seed-audit"
"""Folder of the seed audit page."""


# --------------------------------------------------------------------------- helpers


def dist_text(spec: object, unit: str) -> str:
    """A distribution specification in words: ``lognormal, median 120 s, σ 0.5``."""
    if isinstance(spec, ConstantSpec):
        return f"{spec.value:g} {unit}"
    if isinstance(spec, ExponentialSpec):
        return f"exponential, mean {spec.mean:g} {unit}"
    if isinstance(spec, LognormalSpec):
        return f"lognormal, median {spec.median:g} {unit}, σ {spec.sigma:g}"
    if isinstance(spec, NormalSpec):
        bounds = f", ≥ {spec.min:g}" + (f", ≤ {spec.max:g}" if spec.max is not None else "")
        return f"normal, mean {spec.mean:g} {unit}, sd {spec.sd:g}{bounds}"
    if isinstance(spec, EmpiricalSpec):
        return f"empirical, {len(spec.values)} values ({min(spec.values):g}–{max(spec.values):g} {unit})"
    return str(spec)


def _demand_text(config: Configuration) -> str:
    sc = config.scenario
    d, c = sc.demand, sc.candidates
    what = (
        f"{d.interviews:,} interviews in all over {d.days} days"
        if d.kind == "total"
        else f"{d.interviews:,} interviews every interviewing day, for {d.days} day(s)"
    )
    spacing = (
        "spread over different days"
        if c.spacing == "spread"
        else f"back to back on one day, {c.gap_between_interviews_s / 60:g} min apart"
    )
    return f"{what}: {c.count:,} candidates × {c.interviews_each} interviews each, {spacing}"


def _calendar_lines(config: Configuration) -> list[str]:
    cal = config.scenario.calendar
    total = sum(z.share for z in cal.timezones)
    zones = ", ".join(f"{z.timezone} {z.share / total:.0%}" for z in cal.timezones)
    lines = [
        f"Starts {cal.start_date:%a %Y-%m-%d}; run time 0 is 00:00 UTC that day.",
        f"Interviews from {cal.business_hours_start:%H:%M} to {cal.business_hours_end:%H:%M} local time"
        + (", weekdays only." if cal.weekdays_only else ", every day."),
        f"Candidates' time zones: {zones}.",
    ]
    if cal.hourly_profile:
        profile = ", ".join(f"{x:g}" for x in cal.hourly_profile)
        lines.append(f"Relative interview starts per business hour (a mid-morning peak): {profile}.")
    return lines


# --------------------------------------------------------------------------- the scenario page


FIGURES = {
    "demand": "demand.png",
    "quota": "quota.png",
    "latency": "latency.png",
    "requests": "requests.png",
    "cost": "cost.png",
    "curve": "capacity-curve.png",
}
"""File names of a scenario page's figures."""


def write_figures(run: ScenarioRun, out_dir: Path) -> list[Path]:
    """Draw the scenario's figures into ``out_dir``."""
    r, plan = run.result, run.plan
    window = day_window(r)
    line = CapacityLine(plan.totals.interviews_per_day, plan.workload.active_hours_per_day)
    paths = [
        demand_figure(r, out_dir / FIGURES["demand"], line, window),
        quota_figure(r, out_dir / FIGURES["quota"], window),
        latency_figure(r, out_dir / FIGURES["latency"], window),
        requests_figure(r, out_dir / FIGURES["requests"]),
        cost_figure(r, out_dir / FIGURES["cost"], list_prices(run.config), runs_per_month(run.config, r)),
    ]
    if run.curve is not None and run.curve.points:
        paths.append(curve_figure(run.curve, out_dir / FIGURES["curve"]))
    return paths


def _verdict_section(run: ScenarioRun) -> str:
    v = run.verdict
    t, d = run.plan.totals, run.plan.demand
    out = (
        md.heading(2, "Verdict")
        + "\n"
        + f"**{md.esc(v.headline)}**\n\n"
        + md.bullets(md.esc(f) for f in v.findings)
    )
    if v.options:
        out += "\n**To close the gap:**\n\n" + md.bullets(md.esc(o) for o in v.options)
    word = "carries" if t.carries_need else "falls short of"
    out += (
        f"\nThe static plan (`capacity plan --scenario {run.config.scenario.name}`) {word} the need: "
        f"{md.floor_count(t.interviews_per_day)} interviews per interviewing day against "
        f"{math.ceil(d.need_interviews_per_day - 1e-9):,} needed. It spreads each daily quota evenly over "
        f"the {run.plan.workload.active_hours_per_day:g} active hours; the simulation spends them as "
        "interviews arrive, with per-minute limits binding at the peaks.\n"
    )
    return out


def _headline_table(r: RunResult) -> str:
    iv, q, rq = r.interviews, r.turn_latency_s, r.requests
    carried = iv.completed + iv.degraded
    rows = [
        ("Need", f"{r.need_interviews_per_day:,.0f} interviews/day (over the {r.days} simulated day(s))"),
        (
            "Carried",
            f"{r.carried_interviews_per_day:,.1f} interviews/day ({carried / iv.requested:.1%} of requested)"
            if iv.requested
            else "–",
        ),
        (
            "Interviews",
            f"{iv.requested:,} requested = {iv.completed:,} completed + {iv.degraded:,} degraded + "
            f"{iv.failed:,} failed + {iv.unfinished:,} unfinished",
        ),
        (
            "Turn latency",
            f"p50 {md.seconds(q.p50)}, p95 {md.seconds(q.p95)}, p99 {md.seconds(q.p99)} "
            f"(target p95 ≤ {r.sla_p95_turn_latency_s:g} s)",
        ),
        (
            "Time to first token",
            f"p50 {md.seconds(r.ttft_s.p50)}, p95 {md.seconds(r.ttft_s.p95)} (target {r.sla_ttft_s:g} s)",
        ),
        ("Wait for quota", f"mean {md.seconds(r.queue_wait_s.mean)}, p95 {md.seconds(r.queue_wait_s.p95)}"),
        (
            "Turns",
            f"{rq.logical:,}: {rq.template:,} template, {rq.cache:,} cache, {rq.deduplicated:,} "
            f"de-duplicated, {rq.provider:,} provider, {rq.degraded:,} degraded, {rq.failed:,} failed",
        ),
        (
            "API calls",
            f"{rq.api_calls:,} (retries included); {r.wasted_api_calls:,} answered calls served "
            "interviews that later failed",
        ),
        (
            "Cache",
            f"hit rate {md.pct(r.cache.hit_rate)} of {r.cache.lookups:,} cacheable lookups; "
            f"{md.pct(r.cache.avoided_rate)} of turns needed no API call",
        ),
        ("Tokens", f"{r.tokens_per_interview:,.0f} API tokens (in + out) per carried interview"),
        (
            "Cost",
            f"{md.money(r.cost_usd)} for the run, {md.money(r.cost_per_interview_usd)} per carried interview",
        ),
    ]
    return md.table(["", "Simulated"], rows)


def _curve_section(run: ScenarioRun) -> str:
    curve = run.curve
    if curve is None or not curve.points:
        return ""
    out = md.heading(2, "Capacity curve") + "\n" + md.image("capacity curve", FIGURES["curve"]) + "\n"
    out += (
        f"The scenario run at {len(curve.points)} demand scales (interviews and candidates scaled together), "
        f"{curve.days}-day runs at seed {curve.seed}. Monthly caps that bind only late in a month do not "
        "show in such short runs; the figures above do.\n\n"
    )
    knee, carried_knee = curve.knee, curve.carried_knee
    if knee is not None:
        out += (
            f"**Knee: {knee.offered_per_day:,.0f} interviews/day** — the largest offered load of the sweep "
            f"carried ≥ 99 % with p95 turn latency within {knee.sla_p95_turn_latency_s:g} s.\n\n"
        )
    elif carried_knee is not None:
        out += (
            "**No load of the sweep meets the latency target** (p95 ≤ "
            f"{carried_knee.sla_p95_turn_latency_s:g} s), "
            f"not even the smallest. Latency aside, the plan carries ≥ 99 % of up to "
            f"**{carried_knee.offered_per_day:,.0f} interviews/day** (p95 "
            f"{md.seconds(carried_knee.p95_turn_latency_s)} there).\n\n"
        )
    else:
        out += "**Even the smallest load of the sweep is not carried at 99 %.**\n\n"
    rows = [
        (
            f"{p.scale:g}",
            f"{p.offered_per_day:,.0f}",
            f"{p.carried_per_day:,.0f}",
            md.pct(p.carried_share),
            md.seconds(p.p95_turn_latency_s),
            "yes" if p.within else "no",
        )
        for p in curve.points
    ]
    out += md.table(
        ["Scale", "Offered/day", "Carried/day", "Carried", "p95 turn latency", "≥ 99 % within target"],
        rows,
        "rrrrrl",
    )
    return out


def _destinations_table(r: RunResult) -> str:
    rows = []
    for d in r.destinations:
        firsts = [w for w in d.windows if w.first_blocked_s is not None]
        first = min(firsts, key=lambda w: w.first_blocked_s or 0.0) if firsts else None
        rows.append(
            (
                d.name,
                d.accounts,
                f"{d.requests:,}",
                f"{d.completed:,}",
                f"{d.rejected:,}",
                f"{sum(d.errors.values()):,}",
                f"{d.tokens_in:,} / {d.tokens_out:,}",
                md.money(d.cost_usd),
                limit_unit(d.binding_window) if d.binding_window else "–",
                f"{limit_unit(first.name)}, {clock(first.first_blocked_s or 0.0)}"
                if first
                else "–",
            )
        )
    return md.table(
        [
            "Destination",
            "Accounts",
            "Requests sent",
            "Answered",
            "Refused (quota)",
            "Errors",
            "Tokens in / out",
            "Cost",
            "Binding window",
            "First refusal",
        ],
        rows,
        "lrrrrrrrll",
    )


def _plan_table(plan: PlanResult) -> str:
    rows = []
    for p in plan.destinations:
        bind = next((c for c in p.limits if c.kind == p.binding_limit), None)
        rows.append(
            (
                p.label,
                p.billing,
                str(p.accounts),
                f"{p.binding_limit}: {bind.how}" if bind else (p.binding_limit or "none stated"),
                md.floor_count(p.requests_per_day),
                md.floor_count(p.interviews_per_day),
                md.floor_count(p.allocated_interviews_per_day),
                md.money(p.monthly_cost_usd),
                p.as_of.isoformat(),
            )
        )
    t = plan.totals
    rows.append(
        (
            "**Total**",
            "",
            "",
            "",
            md.floor_count(t.requests_per_day),
            md.floor_count(t.interviews_per_day),
            md.floor_count(sum(p.allocated_interviews_per_day for p in plan.destinations)),
            md.money(t.monthly_cost_usd),
            "",
        )
    )
    return md.table(
        [
            "Destination",
            "Billing",
            "Accounts",
            "Binding limit",
            "Requests/day",
            "Interviews/day",
            "Taken",
            "$/month",
            "Source as of",
        ],
        rows,
        "llrlrrrrl",
    )


def _assumptions(run: ScenarioRun) -> str:
    sc, w = run.config.scenario, run.plan.workload
    out = md.heading(2, "Assumptions") + "\n"
    out += (
        "Every figure below is an input of the model, not a result: change one with "
        f"`--set path.to.field=value` or in `scenarios/{sc.name}.yaml` / `providers.yaml`.\n\n"
    )
    out += (
        md.heading(3, "Demand and calendar")
        + "\n"
        + md.bullets([_demand_text(run.config) + ".", *_calendar_lines(run.config)])
    )
    out += "\n" + md.heading(3, "The interview") + "\n"
    s = sc.script
    out += md.bullets(
        [
            f"System prompt {s.system_prompt_tokens:,} tokens in every request; a resume of "
            f"{s.resume_tokens:,} tokens.",
            f"A candidate's answer: {dist_text(s.answer_tokens, 'tokens')}; thinking and speaking before it: "
            f"{dist_text(s.think_time_s, 's')}.",
            f"Script: {' → '.join(s.opening)}, then {s.rounds} rounds of {' → '.join(s.round)}, then "
            f"{' → '.join(s.closing)}.",
            f"Per interview: {w.logical_requests_per_interview} logical requests → "
            f"{w.api_requests_per_interview:.2f} API "
            f"requests after templates, cache and de-duplication ({md.pct(w.avoided_fraction)} avoided); "
            f"{w.tokens_per_interview:,.0f} tokens ({w.input_tokens_per_interview:,.0f} in + "
            f"{w.output_tokens_per_interview:,.0f} out) in the plan, {run.result.tokens_per_interview:,.0f} "
            "per carried interview in the run.",
        ]
    )
    stage_rows = []
    for name, st in s.stages.items():
        inputs = [x for x, on in (("resume", st.input.resume), ("history", st.input.history)) if on]
        if st.input.extra_tokens:
            inputs.append(f"+{st.input.extra_tokens} tokens")
        stage_rows.append(
            (
                name,
                "yes" if st.template else "no",
                ", ".join(inputs) or "system prompt only",
                dist_text(st.output_tokens, "tokens"),
                f"{st.max_output_tokens:,}",
                st.cache.key if st.cache.key != "none" else "–",
            )
        )
    out += "\n" + md.table(
        ["Stage", "Template", "Input (besides the system prompt)", "Output", "Max output", "Cache key"],
        stage_rows,
        "llllrl",
    )
    r = sc.routing
    out += (
        "\n"
        + md.heading(3, "Routing, cache and service level")
        + "\n"
        + md.bullets(
            [
                f"Strategy `{r.strategy}` over {len(r.destinations)} destinations in the order listed below; "
                f"when all are out of quota a turn does `{r.on_exhausted}`; a turn waits at most "
                f"{r.turn_deadline_s:g} s, then "
                f"does `{r.on_deadline}`; {r.max_retries} retries of a failed call (backoff from "
                f"{r.backoff_base_s:g} s).",
                f"Response cache {'on' if sc.cache.enabled else 'off'} (TTL {sc.cache.ttl_s:,.0f} s, "
                f"{sc.cache.max_entries:,} entries); in-flight de-duplication "
                f"{'on' if sc.cache.deduplicate_in_flight else 'off'}.",
                f"Service level: p95 turn latency ≤ {sc.sla.p95_turn_latency_s:g} s; time to first token ≤ "
                f"{sc.sla.ttft_s:g} s. A plan carries the demand when ≥ 99 % of the interviews are carried "
                "within it.",
                *(
                    [
                        "Outages: "
                        + ", ".join(
                            f"{o.provider} from {clock(o.start_s)} for {o.duration_s / 60:g} min"
                            for o in sc.outages
                        )
                        + "."
                    ]
                    if sc.outages
                    else []
                ),
            ]
        )
    )
    out += "\n" + md.heading(3, "Providers: limits, prices and sources") + "\n"
    rows, notes = [], []
    seen: set[str] = set()
    latency: dict[str, tuple[str, str, list[str]]] = {}
    for d in r.destinations:
        if d.provider is None or d.model is None:
            continue  # GPU pools: listed below
        provider = run.config.provider(d.provider)
        spec = provider.model(d.model)
        if spec is None:  # pragma: no cover - checked on load
            continue
        price = (
            f"${spec.prices.usd_per_mtok_in:g} / ${spec.prices.usd_per_mtok_out:g}" if spec.prices else "–"
        )
        rows.append(
            (
                d.label,
                provider.billing,
                d.accounts or provider.accounts,
                limits_text(spec.limits),
                price,
                f"{spec.error_rate:.1%}",
                provider.source,
                provider.as_of.isoformat(),
            )
        )
        if provider.name not in seen:
            seen.add(provider.name)
            for label, text in (("terms", provider.terms), ("note", provider.notes)):
                if text:
                    notes.append(f"**{provider.label}** ({label}): {text}")
        ttft, decode = (
            dist_text(spec.latency.ttft_s, "s"),
            dist_text(spec.latency.output_tokens_per_s, "tokens/s"),
        )
        latency.setdefault(f"{spec.latency.source}|{ttft}|{decode}", (ttft, decode, []))[2].append(d.label)
    out += md.table(
        [
            "Destination",
            "Billing",
            "Accounts",
            "Limits per account",
            "List price $/1M in / out",
            "Error rate",
            "Source",
            "As of",
        ],
        rows,
        "llrlllll",
    )
    out += "\n" + md.bullets(md.esc(n) for n in notes)
    if sc.gpu_pools:
        out += (
            "\n"
            + md.heading(3, "Self-hosted GPU pools")
            + "\n"
            + md.bullets(
                f"`{g.name}`: {g.servers} server(s) × {g.gpus_per_server} {g.gpu}, {g.model} ({g.precision}, "
                f"{g.engine}), {g.ownership}"
                + (
                    f", ${g.rent_usd_per_gpu_hour:g}/GPU-hour"
                    if g.ownership == "rented" and g.rent_usd_per_gpu_hour
                    else ""
                )
                + (f", amortised over {g.amortisation_months} months" if g.ownership == "owned" else "")
                + f"; schedule {g.schedule}; figures from the GPU catalogue (`capacity gpu`)."
                for g in sc.gpu_pools
            )
        )
    out += "\n" + md.heading(4, "Latency models") + "\n"
    out += md.table(
        ["Source", "Time to first token", "Decode speed", "Used by"],
        [
            (key.split("|", 1)[0], ttft, decode, ", ".join(users))
            for key, (ttft, decode, users) in latency.items()
        ],
    )
    return out


def scenario_markdown(run: ScenarioRun) -> str:
    """The scenario page, in Markdown."""
    sc, r = run.config.scenario, run.result
    window = day_window(r)
    prices = list_prices(run.config)
    month = runs_per_month(run.config, r)
    list_total = sum(c.list_usd or 0.0 for c in cost_rows(r, prices)) * month
    parts = [
        md.heading(
            1, f"Scenario {sc.name}: {md.esc(sc.description)}" if sc.description else f"Scenario {sc.name}"
        ),
        "",
        f"A {r.mode} run of `scenarios/{sc.name}.yaml` on `providers.yaml`: seed {r.seed}, {r.days} day(s) "
        f"of demand from {sc.calendar.start_date:%a %Y-%m-%d}. Regenerate with `capacity report --scenario "
        f"{sc.name}` (this page) "
        "or `capacity report --all` (every page). One seeded run: `capacity simulate --scenario "
        f"{sc.name} -r 5` gives 95 % confidence intervals.",
        "",
        _verdict_section(run),
        md.heading(2, "Headline numbers"),
        "",
        _headline_table(r),
        md.heading(2, "Demand and capacity over a day"),
        "",
        md.image("demand and interviews in flight over a day", FIGURES["demand"]),
        "",
        f"The {window.caption()}. Top: interviews started per hour; bottom: interviews in flight (carried), "
        "the interviews that would be in flight if every one started were carried (starts in the last mean "
        "interview "
        "duration), and turns waiting for quota. The dashed line is the static plan's capacity: its "
        f"interviews per day spread evenly over the {run.plan.workload.active_hours_per_day:g} active hours.",
        "",
        md.heading(2, "Quota use"),
        "",
        md.image("quota use per destination and hour", FIGURES["quota"]),
        "",
        "Each cell is the use of the destination's tightest quota window in that hour, as a share of its "
        "limit, at the "
        "fullest admission of the hour; a full cell names the window. Grey: no request was admitted in that "
        "hour "
        "(nothing sent, or the window was full and the router went elsewhere). Row labels name the window "
        "that refused most requests over the run.",
        "",
        md.heading(2, "Turn latency"),
        "",
        md.image("turn latency distribution and by hour", FIGURES["latency"]),
        "",
        "Turn latency runs from the moment a turn needs an answer to the answer: wait for quota, time to "
        "first token, generation, retries. Template answers (instant) and failed turns are left out.",
        "",
        md.heading(2, "Where each request went"),
        "",
        md.image("where each request went", FIGURES["requests"]),
        "",
        md.heading(2, "Cost"),
        "",
        md.image("cost per month and per interview by destination", FIGURES["cost"]),
        "",
        f"Billed: {md.money(r.cost_usd * month)} a month (the run's cost × {month:g}: interviewing days in a "
        "month ÷ interviewing days in the run). The same tokens at the providers' paid list prices: "
        f"{md.money(list_total)} a month — the bill if the free tiers ended.",
        "",
        _curve_section(run),
        md.heading(2, "Destinations in the run"),
        "",
        _destinations_table(r),
        md.heading(2, "The static plan, by destination"),
        "",
        "Requests a day each destination's binding limit allows per interviewing day (`capacity plan`), and "
        "the interviews they carry at "
        f"{run.plan.workload.api_requests_per_interview:.2f} API requests per interview.",
        "",
        _plan_table(run.plan),
        _assumptions(run),
    ]
    return md.tidy("\n".join(parts))


def write_scenario_page(run: ScenarioRun, out_dir: Path) -> list[Path]:
    """Write ``README.md`` and the figures of one scenario into ``out_dir``; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_figures(run, out_dir)
    page = out_dir / "README.md"
    page.write_text(scenario_markdown(run), encoding="utf-8")
    return [page, *paths]


def index_markdown(runs: Sequence[ScenarioRun], audit: bool) -> str:
    """``reports/README.md``: one line per page with its verdict."""
    rows = []
    for run in runs:
        sc = run.config.scenario
        rows.append((f"[{sc.name}]({sc.name}/README.md)", sc.description, run.verdict.headline))
    if audit:
        rows.append(
            (
                f"[{SEED_AUDIT}]({SEED_AUDIT}/README.md)",
                "Which claims of the planning document hold, line by line",
                "–",
            )
        )
    return md.tidy(
        "\n".join(
            [
                md.heading(1, "Reports"),
                "",
                "Generated by `capacity report --all` from the shipped scenarios and providers.yaml; the "
                "same inputs give "
                "the same files, bit for bit. `capacity check` guards their headline numbers against "
                "[baseline.json](baseline.json).",
                "",
                md.table(["Page", "Scenario", "Verdict"], rows),
            ]
        )
    )


def write_all(
    configs: Mapping[str, Configuration], root: Path, *, jobs: int = 1, progress: Progress | None = None
) -> list[Path]:
    """Write every shipped scenario's page and the seed audit under ``root``; returns the files.

    ``configs`` maps scenario names to their configurations; it must hold the scenarios the
    seed audit reads (A, B and seed-claims) for the audit to be written.
    """
    names = list(configs)
    runs = run_scenarios([RunRequest(configs[n]) for n in names], jobs, progress)
    by_name = dict(zip(names, runs, strict=True))
    paths: list[Path] = []
    for name, run in by_name.items():
        if progress:
            progress(f"writing {root / name}")
        paths += write_scenario_page(run, root / name)
    audit = all(n in by_name for n in AUDIT_SCENARIOS)
    if audit:
        if progress:
            progress(f"writing {root / SEED_AUDIT}")
        seed, real, per_day = (by_name[n] for n in AUDIT_SCENARIOS)
        paths += write_seed_audit(seed, real, per_day, root / SEED_AUDIT)
    index = root / "README.md"
    index.write_text(index_markdown(runs, audit), encoding="utf-8")
    return [index, *paths]


def write_audit_only(
    configs: Mapping[str, Configuration], out_dir: Path, *, jobs: int = 1, progress: Progress | None = None
) -> list[Path]:
    """Write the seed audit alone (its three simulations, no capacity curves) into ``out_dir``."""
    runs = run_scenarios([RunRequest(configs[n], curve=False) for n in AUDIT_SCENARIOS], jobs, progress)
    seed, real, per_day = runs
    return write_seed_audit(seed, real, per_day, out_dir)
