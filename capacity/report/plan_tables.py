"""``capacity plan`` for people: a :class:`~capacity.plan.result.PlanResult` as Rich tables.

Capacities are printed rounded down (part of an interview is not carried) and needs rounded
up; the JSON form (``--json``) keeps every figure unrounded.
"""

from __future__ import annotations

import math

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from capacity.plan.result import DestinationPlan, PlanResult
from capacity.plan.seed import SeedMethod, SeedTableResult
from capacity.plan.seed_sources import ClaimCheck
from capacity.report.fit import fitted
from capacity.report.lever_tables import plan_levers_text

VERDICT_STYLE = {
    "holds": "green",
    "holds, but another limit binds first": "yellow",
    "contradicted": "red",
    "not audited": "dim",
}


def cap(x: float) -> str:
    """A capacity, rounded down to whole units; ``unbounded`` for ∞."""
    return "unbounded" if math.isinf(x) else f"{math.floor(x + 1e-9):,}"


def need(x: float) -> str:
    """A need, rounded up to whole interviews."""
    return f"{math.ceil(x - 1e-9):,}"


def _money(x: float | None) -> str:
    return "?" if x is None else f"${x:,.0f}" if x >= 10 or x == 0 else f"${x:,.2f}"


def _header(result: PlanResult) -> RenderableType:
    d, w = result.demand, result.workload
    lines = Text()
    lines.append(f"Plan: {result.scenario}", style="bold")
    if result.description:
        lines.append(f" — {result.description}")
    if d.start_date is not None:  # which quotas: the free tiers were cut and withdrawn over 2025
        lines.append(
            f"\nFrom {d.start_date:%a %Y-%m-%d} (calendar.start_date): the quotas in force on that day; "
            "a later start may find tiers cut or withdrawn (capacity providers)."
        )
    if d.kind == "total":
        lines.append(
            f"\nNeed: {d.interviews:,} interviews over {d.days} days = "
            f"{need(d.need_interviews_per_calendar_day)}/calendar day; "
            f"interviews run on {d.business_days} of those days, so "
            f"{need(d.need_interviews_per_day)} per interviewing day."
        )
    else:
        lines.append(f"\nNeed: {d.interviews:,} interviews every interviewing day.")
    savings = ", ".join(f"{s.name} {s.fraction:.1%}" for s in w.savings)
    lines.append(
        f"\nPer interview: {w.logical_requests_per_interview} logical requests → "
        f"{w.api_requests_per_interview:.2f} API requests ({savings}; {w.avoided_fraction:.1%} avoided); "
        f"{w.tokens_per_interview:,.0f} tokens ({w.input_tokens_per_interview:,.0f} in + "
        f"{w.output_tokens_per_interview:,.0f} out), {w.tokens_per_request:,.0f}/request; "
        f"{w.active_hours_per_day:g} active hours a day."
    )
    for s in w.savings:
        lines.append(f"\n  {s.name}: {s.basis}", style="dim")
    return lines


def _destinations(result: PlanResult) -> Table:
    table = Table(title="Capacity per interviewing day, by destination", title_justify="left")
    table.add_column("Destination", overflow="fold")  # a name is never cut short with "…": it folds
    table.add_column("Billing")
    table.add_column("Acc.", justify="right")
    table.add_column("Binding limit")
    table.add_column("Requests/day", justify="right")
    table.add_column("Interviews/day", justify="right")
    table.add_column("Taken", justify="right")
    table.add_column("$/month", justify="right")
    table.add_column("As of")
    for p in result.destinations:
        table.add_row(
            p.label,
            p.billing,
            str(p.accounts),
            _binding(p),
            cap(p.requests_per_day),
            cap(p.interviews_per_day),
            cap(p.allocated_interviews_per_day),
            _money(p.monthly_cost_usd),
            p.as_of.isoformat(),
        )
    t = result.totals
    table.add_section()
    table.add_row(
        "Total",
        "",
        "",
        "",
        cap(t.requests_per_day),
        cap(t.interviews_per_day),
        cap(sum(p.allocated_interviews_per_day for p in result.destinations)),
        _money(t.monthly_cost_usd),
        "",
        style="bold",
    )
    return table


def _binding(p: DestinationPlan) -> Text:
    if p.binding_limit is None:
        return Text("none stated", style="yellow")
    bind = next((c for c in p.limits if c.kind == p.binding_limit), None)
    text = Text(p.binding_limit, style="bold")
    if bind is not None:
        text.append(f": {bind.how}", style="dim")
    for note in p.notes:
        text.append(f"\n{note}", style="yellow")
    return text


def _horizon_cost(result: PlanResult) -> str | None:
    """For a demand that ends within a month (``total`` over fewer interviewing days than a
    month has): what its API traffic costs over the whole horizon — the monthly cost is that
    traffic's rate kept up for a month. GPU pools are priced by the month (``None``: nothing to add)."""
    d = result.demand
    if d.kind != "total" or d.business_days >= d.business_days_per_month:
        return None
    api = [p.monthly_cost_usd for p in result.destinations if p.billing != "gpu"]
    if any(cost is None for cost in api):
        return None
    share = d.business_days / d.business_days_per_month
    total = sum(cost or 0.0 for cost in api) * share
    gpu = any(p.billing == "gpu" for p in result.destinations)
    return (
        f"\nThe whole demand ({d.interviews:,} interviews over {d.business_days} interviewing day(s)): "
        f"{_money(total)} of API traffic at list price; the monthly cost is that rate for "
        f"{d.business_days_per_month} interviewing days" + ("; GPU pools are priced by the month." if gpu else ".")
    )


def _verdict(result: PlanResult) -> Text:
    t, d = result.totals, result.demand
    text = Text()
    if t.carries_need:
        text.append("CARRIES the need", style="bold green")
        text.append(
            f": {cap(t.interviews_per_day)} interviews per interviewing day ≥ "
            f"{need(d.need_interviews_per_day)} needed (headroom {cap(t.headroom_interviews_per_day)})."
        )
    else:
        short = -t.headroom_interviews_per_day
        text.append("FALLS SHORT", style="bold red")
        text.append(
            f": {cap(t.interviews_per_day)} interviews per interviewing day < "
            f"{need(d.need_interviews_per_day)} needed (shortfall {need(short)}, "
            f"{short / d.need_interviews_per_day:.0%} of the need)."
        )
    if d.kind == "total":
        text.append(
            f"\nOn the seed's calendar-day basis: {cap(t.interviews_per_calendar_day)}/day vs "
            f"{need(d.need_interviews_per_calendar_day)}/day."
        )
    text.append(f"\nMonthly cost: {_money(t.monthly_cost_usd)} (free tiers $0; paid traffic at list price).")
    horizon = _horizon_cost(result)
    if horizon is not None:
        text.append(horizon)
    if result.seed_method is not None and result.seed_contradictions:
        text.append(
            f"\nThese destinations carry the seed's claimed quotas; the 2025 sources contradict "
            f"{len(result.seed_contradictions)} of {len(result.seed_audited_checks)} audited claims (below).",
            style="yellow",
        )
    return text


def _seed_table(table: SeedTableResult, per_interview: int) -> Table:
    out = Table(title=f"The seed's table — {table.title}", title_justify="left")
    out.add_column("Seed provider")
    out.add_column("Claim")
    out.add_column("Acc.", justify="right")
    out.add_column("Seed says", justify="right")
    out.add_column("Seed's method")
    out.add_column("Corrected", justify="right")
    for r in table.rows:
        method = Text(r.method, style="" if r.converted else "yellow")
        out.add_row(
            r.provider,
            r.claim,
            str(r.accounts),
            cap(r.seed_interviews_per_day),
            method,
            cap(r.corrected_interviews_per_day),
        )
    out.add_section()
    out.add_row(
        "Rows sum",
        "",
        "",
        cap(table.rows_sum_interviews_per_day),
        f"(at {per_interview} requests/interview)",
        cap(table.corrected_interviews_per_day),
        style="bold",
    )
    out.add_row(
        "Seed's total",
        "",
        "",
        cap(table.seed_total_interviews_per_day),
        f"× 30 = {cap(table.seed_interviews_per_month)}/month",
        "",
    )
    return out


def _seed_summary(m: SeedMethod) -> Text:
    text = Text()
    text.append("The seed's method: ", style="bold")
    text.append(
        " · ".join(
            f"{cap(t.seed_total_interviews_per_day)}/day ({cap(t.seed_interviews_per_month)}/month)"
            for t in m.tables
        )
        + f" · optimized {cap(m.base_interviews_per_day)} × (1 + "
        + " + ".join(f"{s:.2f}" for s in m.savings.values())
        + f") = {cap(m.optimized_interviews_per_day)}/day ({cap(m.optimized_interviews_per_month)}/month; "
        f"the seed prints {cap(m.seed_optimized_interviews_per_day)})."
    )
    text.append("\nCorrected, same claims: ", style="bold")
    text.append(
        f"savings compounded {cap(m.base_interviews_per_day)} ÷ {m.savings_factor:.4f} ≈ "
        f"{cap(m.compounded_interviews_per_day)}/day; every correction: "
        f"{cap(m.corrected_base_interviews_per_day)} ÷ {m.savings_factor:.4f} ≈ "
        f"{cap(m.corrected_optimized_interviews_per_day)} per interviewing day × "
        f"{m.business_days_per_month} = {cap(m.corrected_interviews_per_month)}/month — "
        "if the claimed quotas were true (the checks below say most are not)."
    )
    return text


def _checks(checks: tuple[ClaimCheck, ...], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Seed provider: claim")
    table.add_column("Verdict")
    table.add_column("Source allows, req/day/account", justify="right")
    table.add_column("Finding (source as of)")
    for c in checks:
        allows = "–" if c.source_requests_per_day is None else cap(c.source_requests_per_day)
        who = Text(c.seed_provider, style="bold")
        who.append(f"\n{c.claim}" + (f" × {c.accounts} accounts" if c.accounts > 1 else ""))
        finding = Text(c.finding)
        if c.as_of:
            finding.append(f" ({c.maps_to}, {c.as_of})", style="dim")
        table.add_row(who, Text(c.verdict, style=VERDICT_STYLE[c.verdict]), allows, finding)
    return table


def plan_renderables(result: PlanResult) -> list[RenderableType]:
    """The plan's sections, in reading order."""
    parts: list[RenderableType] = [_header(result), _destinations(result), _verdict(result)]
    if result.levers is not None:
        parts.append(plan_levers_text(result.levers))
    if result.seed_method is not None:
        m = result.seed_method
        parts += [_seed_table(t, m.requests_per_interview) for t in m.tables]
        parts.append(_seed_summary(m))
    if result.corrections:
        text = Text("What the seed's arithmetic gets wrong:", style="bold")
        for line in result.corrections:
            text.append(f"\n • {line}")
        parts.append(text)
    if result.seed_claim_checks:
        n = len(result.seed_contradictions)
        parts.append(
            _checks(
                result.seed_claim_checks,
                f"The seed's claimed quotas against the 2025 sources on the seed's date ({n} of "
                f"{len(result.seed_audited_checks)} audited contradicted)",
            )
        )
    if result.notes:
        text = Text("How to read this:", style="bold")
        for line in result.notes:
            text.append(f"\n • {line}", style="dim")
        parts.append(text)
    return parts


def render_plan(result: PlanResult, console: Console) -> None:
    """Print the plan on ``console``."""
    for part in plan_renderables(result):
        console.print(fitted(part, console) if isinstance(part, Table) else part)
        console.print()
