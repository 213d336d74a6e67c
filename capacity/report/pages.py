"""Report pages: a scenario's Markdown page with its figures, and ``capacity report --all``.

A scenario page (``reports/<scenario>/README.md``) is written for a manager: the verdict
first (does the plan carry the demand within the latency target, and if not what would),
then the headline numbers and the figures with their tables, then every assumption with its
source and the date the source was read (``as_of``). It is built from one seeded simulation
(:class:`~capacity.result.RunResult`), the static plan of the same scenario
(:class:`~capacity.plan.result.PlanResult`), a capacity curve of short runs at scaled demand
(:mod:`capacity.studies.sweep`), and the configuration for the assumptions
(:mod:`capacity.report.assumptions`) — a :class:`~capacity.studies.runs.ScenarioRun` that
:func:`capacity.studies.runs.run_scenarios` ran; this module only renders it.

Pages and figures are deterministic: the same inputs give the same files, bit for bit (no
dates, no wall times, fixed fonts, PNGs without varying metadata), so ``reports/`` can be
committed and its diff read as a change of the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from capacity.plan.result import PlanResult
from capacity.report import markdown as md
from capacity.report.assumptions import assumptions_section, scenario_file
from capacity.report.audit import write_seed_audit
from capacity.report.figures._day import day_window
from capacity.report.figures.cost import CostSummary, cost_figure, cost_summary
from capacity.report.figures.curve import curve_figure, demand_label
from capacity.report.figures.demand import CapacityLine, demand_figure, shown_hours
from capacity.report.figures.latency import latency_figure
from capacity.report.figures.quota import quota_figure
from capacity.report.figures.requests import requests_figure
from capacity.report.run_tables import turn_counts
from capacity.report.verdict import Verdict, alternatives, clock, judge
from capacity.result import RunResult
from capacity.studies.costs import list_prices
from capacity.studies.demand import run_interviewing_days, runs_per_month
from capacity.studies.runs import ScenarioRun
from capacity.studies.target import CARRIED_SHARE
from capacity.units import limit_unit

Progress = Callable[[str], None]
"""Told what is being written, in a few words."""

SHARE = f"{CARRIED_SHARE * 100:g} %"
"""The service level's carried share in words: ``99 %``."""

ALL_SCENARIOS = ("A", "B", "seed-claims", "A-levers")
"""The shipped scenarios ``capacity report --all`` writes a page for (plus the seed audit)."""

AUDIT_SCENARIOS = ("seed-claims", "A", "B", "A-levers")
"""What the seed audit reads: the seed's claimed quotas, the 2025 free tiers, 50,000 a day, and A
with the seed's levers pulled."""

SEED_AUDIT = "seed-audit"
"""Folder of the seed audit page."""


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
    ]
    costs = costs_of(run)
    if costs.has_cost:
        paths.append(cost_figure(costs, out_dir / FIGURES["cost"]))
    else:  # nothing to draw: the page says so in words, and no figure of an earlier run is left behind
        (out_dir / FIGURES["cost"]).unlink(missing_ok=True)
    if run.curve is not None and run.curve.points:
        paths.append(curve_figure(run.curve, out_dir / FIGURES["curve"], r.need_interviews_per_day))
    return paths


def costs_of(run: ScenarioRun) -> CostSummary:
    """The dollars of the page's cost figure and paragraph (one source for both)."""
    return cost_summary(run.result, list_prices(run.config), runs_per_month(run.config, run.result.days))


def _cost_section(run: ScenarioRun) -> str:
    c = costs_of(run)
    out = md.heading(2, "Cost") + "\n"
    if not c.has_cost:
        return out + (
            "Every destination is free and none has a paid list price in providers.yaml: no cost, billed or "
            "at list price, to show.\n"
        )
    out += md.image("cost per month and per interview by destination", FIGURES["cost"]) + "\n"
    out += (
        f"Billed: {md.money(c.billed_month)} a month (the run's cost × {c.runs_per_month:g}: interviewing days "
        "in a month ÷ interviewing days in the run). The bill if the free tiers ended — the same tokens at the "
        f"providers' paid list prices: {md.money(c.list_month)} a month for the {c.carried:,} interviews "
        f"carried ({md.pct(c.carried_share)} of those requested)"
    )
    if c.carried < c.requested and c.carried:
        out += (
            f"; at the same {md.money(c.list_each)} per interview, carrying all {c.requested:,} requested would "
            f"cost {md.money(c.list_month_all)} a month"
        )
    out += "."
    if c.unpriced:
        out += " No paid list price in providers.yaml for: " + ", ".join(f"`{d}`" for d in c.unpriced) + "."
    return out + "\n"


def verdict_of(run: ScenarioRun) -> Verdict:
    """The verdict of a scenario's run against its demand and service level."""
    return judge(run.result, run.config, run.plan)


def _verdict_section(run: ScenarioRun) -> str:
    v = verdict_of(run)
    t, d = run.plan.totals, run.plan.demand
    out = (
        md.heading(2, "Verdict")
        + "\n"
        + f"**{md.esc(v.headline)}**\n\n"
        + md.bullets(md.esc(f) for f in v.findings)
    )
    if v.options:
        out += f"\n**To close the gap**{alternatives(len(v.options))}:\n\n" + md.bullets(md.esc(o) for o in v.options)
    word = "carries" if t.carries_need else "falls short of"
    out += (
        f"\nThe static plan (`capacity plan --scenario {run.config.scenario.name}`) {word} the need: "
        f"{md.floor_count(t.interviews_per_day)} interviews per interviewing day against "
        f"{math.ceil(d.need_interviews_per_day - 1e-9):,} needed over the scenario's horizon. It spreads each "
        "daily quota evenly over "
        f"the {run.plan.workload.active_hours_per_day:g} active hours, and a monthly one over the month's "
        "interviewing days; the simulation spends them as interviews arrive. "
    )
    working = run_interviewing_days(run.config, run.result.days)
    simulated = run.result.interviews.carried / working
    if working != run.result.days:  # the verdict above counts calendar days
        out += f"Of the {run.result.days} simulated days, {working} are interviewing days. "
    if run.result.interviews.carried_share >= CARRIED_SHARE:
        out += f"It carried the demand, {simulated:,.0f} per interviewing day.\n"
    elif simulated > t.interviews_per_day:
        short = run.result.days < run.config.scenario.demand.days and run.config.scenario.demand.kind == "total"
        out += (
            f"It carried more, {simulated:,.0f} per interviewing day"
            + (
                f": in {run.result.days} day(s) of a {run.config.scenario.demand.days}-day demand, monthly caps "
                "and one-time credits are spent freely, not a month's share a day.\n"
                if short
                else ": quotas the plan leaves idle (rolling windows, refills within the day) were spent.\n"
            )
        )
    else:
        waste = " and interviews that fail midway spend quota on nothing" if run.result.wasted_api_calls else ""
        out += f"It carried {simulated:,.0f} per interviewing day: per-minute limits bind at the peaks{waste}.\n"
    return out


def _headline_table(r: RunResult) -> str:
    iv, q, rq = r.interviews, r.turn_latency_s, r.requests
    rows = [
        ("Need", f"{r.need_interviews_per_day:,.0f} interviews/day (over the {r.days} simulated day(s))"),
        (
            "Carried",
            f"{r.carried_interviews_per_day:,.1f} interviews/day ({r.carried_share:.1%} of requested)"
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
            turn_counts(rq),
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
            "Prompt cache",
            f"{r.prompt_cache.cached_tokens_in:,} input tokens read from provider prompt caches "
            f"({md.pct(r.prompt_cache.cached_share)} of input); "
            f"{md.money(r.prompt_cache.saved_usd)} saved at list price",
        ),
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
        "show in such short runs; the figures above do. The dash-dotted line: "
        f"{demand_label(curve, run.result.need_interviews_per_day)}.\n\n"
    )
    knee, carried_knee = curve.knee, curve.carried_knee
    if knee is not None:
        out += (
            f"**Knee: {knee.offered_per_day:,.0f} interviews/day** — the largest offered load of the sweep "
            f"carried ≥ {SHARE} with p95 turn latency within {knee.sla_p95_turn_latency_s:g} s.\n\n"
        )
    elif carried_knee is not None:
        out += (
            "**No load of the sweep meets the latency target** (p95 ≤ "
            f"{carried_knee.sla_p95_turn_latency_s:g} s), "
            f"not even the smallest. Latency aside, the plan carries ≥ {SHARE} of up to "
            f"**{carried_knee.offered_per_day:,.0f} interviews/day** (p95 "
            f"{md.seconds(carried_knee.p95_turn_latency_s)} there).\n\n"
        )
    else:
        out += f"**Even the smallest load of the sweep is not carried at {SHARE}.**\n\n"
    rows = [
        (
            f"{p.scale:.2f}",
            f"{p.offered_per_day:,.0f}",
            f"{p.carried_per_day:,.0f}",
            md.pct(p.carried_share),
            md.seconds(p.p95_turn_latency_s),
            "yes" if p.within else "no",
        )
        for p in curve.points
    ]
    out += md.table(
        ["Scale", "Offered/day", "Carried/day", "Carried", "p95 turn latency", f"≥ {SHARE} within target"],
        rows,
        "rrrrrl",
    )
    return out


def _destinations_table(r: RunResult) -> str:
    rows = []
    for d in r.destinations:
        firsts = [w for w in d.windows if w.first_blocked_s is not None]
        first = min(firsts, key=lambda w: w.first_blocked_s or 0.0) if firsts else None
        binding = next((w for w in d.windows if w.name == d.binding_window), None)
        rows.append(
            (
                d.name,
                d.accounts,
                f"{d.requests:,}",
                f"{d.completed:,}",
                f"{sum(d.errors.values()):,}",
                f"{d.tokens_in:,} / {d.tokens_out:,}",
                md.money(d.cost_usd),
                f"{limit_unit(binding.name)}, full {md.pct(binding.full_share)}, from "
                f"{clock(d.binding_from_s or 0.0)}"
                if binding
                else "–",
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
            "Errors",
            "Tokens in / out",
            "Cost",
            "Binding window (share of the run full)",
            "First refusal",
        ],
        rows,
        "lrrrrrrll",
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


def scenario_markdown(run: ScenarioRun) -> str:
    """The scenario page, in Markdown."""
    sc, r = run.config.scenario, run.result
    window = day_window(r)
    file, argument = scenario_file(run.config)
    # what this run changed from the scenario's own horizon and seed, so that the command rebuilds this page
    options = f" --days {r.days}" if r.days != sc.demand.days else ""
    options += f" --seed {r.seed}" if r.seed != sc.seed else ""
    parts = [
        md.heading(
            1, f"Scenario {sc.name}: {md.esc(sc.description)}" if sc.description else f"Scenario {sc.name}"
        ),
        "",
        f"A {r.mode} run of `{file}` on `providers.yaml`: seed {r.seed}, {r.days} day(s) "
        f"of demand from {sc.calendar.start_date:%a %Y-%m-%d}. Regenerate with `capacity report --scenario "
        f"{argument}{options}` (this page) "
        "or `capacity report --all` (every page). One seeded run: `capacity simulate --scenario "
        f"{argument} -r 5` gives 95 % confidence intervals.",
        "",
        _verdict_section(run),
        md.heading(2, "Headline numbers"),
        "",
        _headline_table(r),
        md.heading(2, "Demand and capacity over a day"),
        "",
        md.image("demand and interviews in flight over a day", FIGURES["demand"]),
        "",
        f"The {window.span_caption(*shown_hours(r, window))} (the hours without interviews are left out). Top: "
        "interviews started per hour; bottom: interviews in flight (carried), "
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
        "fullest admission of the hour; a full cell names the window. Light grey: idle (nothing sent, no "
        "window full); black: exhausted (a window was full and no request could be admitted, so the router "
        "went elsewhere — a monthly cap or credit running out stays black). Row labels name the window "
        "that was full the longest share of the run (what binds).",
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
        _cost_section(run),
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
        assumptions_section(run),
    ]
    return md.tidy("\n".join(parts))


def write_scenario_page(run: ScenarioRun, out_dir: Path) -> list[Path]:
    """Write ``README.md`` and the figures of one scenario into ``out_dir``; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_figures(run, out_dir)
    page = out_dir / "README.md"
    page.write_text(scenario_markdown(run), encoding="utf-8")
    return [page, *paths]


def index_markdown(runs: Sequence[ScenarioRun], audit: bool, studies: Sequence[tuple[str, str]] = ()) -> str:
    """``reports/README.md``: one line per page with its verdict; ``studies`` are the other pages
    (folder, what it shows), such as the comparisons."""
    rows = []
    for run in runs:
        sc = run.config.scenario
        rows.append((f"[{sc.name}]({sc.name}/README.md)", sc.description, verdict_of(run).headline))
    if audit:
        rows.append(
            (
                f"[{SEED_AUDIT}]({SEED_AUDIT}/README.md)",
                "Which claims of the planning document hold, line by line",
                "–",
            )
        )
    rows += [(f"[{folder}]({folder}/README.md)", what, "–") for folder, what in studies]
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
    runs: Mapping[str, ScenarioRun],
    root: Path,
    *,
    progress: Progress | None = None,
    studies: Sequence[tuple[str, str]] = (),
) -> list[Path]:
    """Write every scenario's page, and the seed audit, under ``root``; returns the files.

    ``runs`` maps scenario names to their runs; it must hold the scenarios the seed audit reads
    (A, B and seed-claims) for the audit to be written.
    """
    paths: list[Path] = []
    for name, run in runs.items():
        if progress:
            progress(f"writing {root / name}")
        paths += write_scenario_page(run, root / name)
    audit = all(n in runs for n in AUDIT_SCENARIOS)
    if audit:
        if progress:
            progress(f"writing {root / SEED_AUDIT}")
        seed, real, per_day, levers = (runs[n] for n in AUDIT_SCENARIOS)
        paths += write_seed_audit(seed, real, per_day, root / SEED_AUDIT, levers)
    index = root / "README.md"
    index.write_text(index_markdown(list(runs.values()), audit, studies), encoding="utf-8")
    return [index, *paths]
