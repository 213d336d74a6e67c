"""Rich rendering of ``capacity compare`` and ``capacity size``, and their JSON forms.

``compare``: per demand, the strategies side by side (carried interviews per interviewing
day, failed and degraded shares, turn latency, what binds, hardware or accounts, cost per
month and per interview), the TCO at 12/24/36 months with the break-even month of owning,
what one card carries read three ways, the seed's claims with their verdicts, and the
paragraph verdict. ``size``: every simulated probe of the search and the answer.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from capacity.config.gpus import GpuCatalog
from capacity.gpu.cost import PoolCost
from capacity.plan.tco import REPORT_MONTHS
from capacity.report.compare_verdict import comparison_verdict
from capacity.studies.claims import ClaimCheck
from capacity.studies.compare import ComparisonResult, GroupResult, StrategyRow
from capacity.studies.sizing import FleetSize, Knee, Probe
from capacity.studies.target import Target
from capacity.units import duration_text

VERDICT_STYLE = {
    "CONFIRMED": "bold green",
    "CONFIRMED ONLY UNDER 24/7": "bold yellow",
    "PARTLY CONFIRMED": "bold yellow",
    "REFUTED": "bold red",
}


def _usd(x: float) -> str:
    if not math.isfinite(x):
        return "—"
    return f"${x:,.4f}" if 0 < abs(x) < 1 else f"${x:,.0f}"


# ---------------------------------------------------------------------------------------------
# compare


def _strategies(group: GroupResult) -> Table:
    need = group.rows[0].need_per_day if group.rows else 0.0
    table = Table(title=f"Demand {group.label}: {need:,.0f} interviews per interviewing day", title_justify="left")
    for name, justify in [
        ("strategy", "left"),
        ("carried/day", "right"),
        ("failed · degraded · unfinished", "right"),
        ("turn p50 / p95", "right"),
        ("TTFT p95", "right"),
        ("what binds", "left"),
        ("hardware or accounts", "left"),
        ("up front", "right"),
        ("$/month", "right"),
        ("$/interview", "right"),
        ("prompt cache", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in group.rows:
        carried = Text(f"{r.carried_per_day:,.0f} ({r.carried_share:.0%})")
        carried.stylize("green" if r.carries else "red")
        latency = Text(f"{duration_text(r.p50_turn_latency_s)} / {duration_text(r.p95_turn_latency_s)}")
        if r.p95_turn_latency_s > r.sla_p95_turn_latency_s:
            latency.stylize("red")
        table.add_row(
            Text(r.scenario, style="bold"),
            carried,
            f"{r.failed_share:.0%} · {r.degraded_share:.0%} · {r.unfinished_share:.0%}",
            latency,
            duration_text(r.p95_ttft_s),
            r.binds,
            r.hardware,
            _usd(r.upfront_usd) if r.upfront_usd else "—",
            _usd(r.usd_per_month),
            _usd(r.usd_per_interview),
            prompt_cache_cell(r),
        )
    return table


def prompt_cache_cell(r: StrategyRow) -> str:
    """A strategy's provider prompt caching in a few words: the share of input cached and the
    money it saved a month ("—" where nothing was cached)."""
    if r.prompt_cached_share <= 0:
        return "—"
    saved = f", {_usd(r.prompt_cache_saved_usd_per_month)}/month saved" if r.prompt_cache_saved_usd_per_month else ""
    return f"{r.prompt_cached_share:.0%} of input{saved}"


def _break_even_text(group: GroupResult, label: str) -> str:
    """When owning breaks even against option ``label`` (past the horizon: the payback month)."""
    even = next((b for b in group.break_even if b.other == label), None)
    if even is None:
        return "—"
    if even.month is not None:
        return f"month {even.month}"
    return "never" if even.payback_months is None else f"month {math.ceil(even.payback_months)}"


def _tco(group: GroupResult) -> Table | None:
    if group.tco is None:
        return None
    owning = any(o.kind == "owned_gpu" for o in group.tco_options)
    table = Table(title=f"TCO, demand {group.label}: {group.tco.volume_basis}", title_justify="left")
    table.add_column("option")
    table.add_column("up front", justify="right")
    table.add_column("$/month", justify="right")
    for m in REPORT_MONTHS:
        table.add_column(f"{m} months", justify="right")
    table.add_column(f"$/interview over {REPORT_MONTHS[-1]} months", justify="right")
    if owning:
        table.add_column("owning breaks even", justify="right")
    for o in group.tco_options:
        table.add_row(
            Text(o.label, style="bold"),
            _usd(o.upfront_usd) if o.upfront_usd else "—",
            _usd(o.monthly_usd),
            *[_usd(o.cumulative_usd(m)) for m in REPORT_MONTHS],
            _usd(o.usd_per_interview(REPORT_MONTHS[-1])),
            *([_break_even_text(group, o.label)] if owning else []),
        )
    return table


def _cards(result: ComparisonResult) -> Table:
    sla = result.groups[0].rows[0].sla_p95_turn_latency_s if result.groups and result.groups[0].rows else 3.0
    table = Table(
        title=f"What one card carries, interviews/day, scenario B's interview (turn target: p95 turn ≤ "
        f"{sla:g} s; streaming: p95 TTFT ≤ 1 s; both ≥ 99 % carried)",
        title_justify="left",
    )
    for name in [
        "card",
        "idle p95 turn",
        "turn target, business hours",
        "turn target, 24/7",
        "streaming, business hours",
        "streaming, 24/7",
        "roofline 9 h",
        "roofline active hours",
        "roofline 24 h",
    ]:
        table.add_column(name, justify="left" if name == "card" else "right")
    for c in result.cards:
        table.add_row(
            c.label,
            duration_text(c.floor_p95_turn_latency_s),
            *[f"{x:,.0f}" if x else "none" for x in (c.strict_business, c.strict_24h)],
            *[f"{x:,.0f}" if x else "none" for x in (c.streaming_business, c.streaming_24h)],
            f"{c.roofline_9h:,.0f}",
            f"{c.roofline_active:,.0f} ({c.active_hours:g} h)",
            f"{c.roofline_24h:,.0f}",
        )
    return table


def _claims(claims: tuple[ClaimCheck, ...]) -> Table:
    table = Table(title="The seed's claims (scenario B, Options 1 and 2)", title_justify="left", show_lines=True)
    table.add_column("claim", ratio=2)
    table.add_column("verdict")
    table.add_column("numbers", ratio=5)
    for c in claims:
        table.add_row(c.claim, Text(c.verdict, style=VERDICT_STYLE[c.verdict]), c.evidence)
    return table


SHORT_MONTH = (
    "Limits that bind only later in a month — monthly caps, one-time credits — do not show in so short a run, "
    "so a monthly demand's carried figure here can be well above the month's: `capacity simulate` runs the "
    "whole month."
)
"""What a comparison's first days of a monthly demand cannot show (said under its tables and on its page)."""


def render_comparison(result: ComparisonResult, console: Console) -> None:
    """Strategy tables, TCO, card capacity, claims and the verdict paragraph."""
    days = f"monthly demand: first {result.days} days simulated; daily demand: one day"
    seed = "each scenario's own seed" if result.seed is None else f"seed {result.seed}"
    console.print(Text(f"Comparison {result.name}: {result.title}", style="bold"))
    console.print(Text(f"({days}; {seed}; {result.wall_time_s:,.0f} s of simulation)", style="dim"))
    console.print(Text(SHORT_MONTH, style="dim"))
    for group in result.groups:
        console.print(_strategies(group))
    for group in result.groups:
        table = _tco(group)
        if table is not None:
            console.print(table)
    if result.cards:
        console.print(_cards(result))
    if result.claims:
        console.print(_claims(result.claims))
    console.print(Panel(comparison_verdict(result), title="Verdict", border_style="bold"))


def comparison_json(result: ComparisonResult) -> dict[str, Any]:
    """The comparison for ``--json``: the result's numbers, with the verdict paragraph after its header."""
    data = result.to_json()
    header = ("comparison", "title", "seed", "days_of_monthly_demand")
    return {
        **{k: data[k] for k in header},
        "verdict": comparison_verdict(result),
        **{k: v for k, v in data.items() if k not in header},
    }


# ---------------------------------------------------------------------------------------------
# size


def _probe_table(title: str, probes: tuple[Probe, ...], floor: Probe, target: Target, by: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in [by, "offered/day", "carried/day", "carried", "turn p95", "TTFT p95", "meets", "wall"]:
        table.add_column(name, justify="right")
    table.add_column("why tried")
    rows = [("idle (trickle)", floor), *[(_probe_key(p, by), p) for p in probes if p is not floor]]
    for key, p in rows:
        table.add_row(
            key,
            f"{p.offered_per_day:,.0f}",
            f"{p.carried_per_day:,.0f}",
            f"{p.carried_share:.1%}",
            duration_text(p.p95_turn_latency_s),
            duration_text(p.p95_ttft_s),
            Text("yes", style="green") if p.met else Text("no", style="red"),
            f"{p.wall_time_s:,.0f} s",
            p.why,
        )
    table.caption = f"target: {target.describe()}"
    return table


def _probe_key(p: Probe, by: str) -> str:
    return str(p.servers) if by == "servers" else f"× {p.scale:.3g}"


def render_fleet(fleet: FleetSize, cost: PoolCost | None, catalog: GpuCatalog, console: Console) -> None:
    """The probes of a fleet search and its answer."""
    pool = fleet.pool
    card = catalog.gpu(pool.gpu).name
    console.print(
        _probe_table(
            f"Sizing pool {pool.name} of {fleet.scenario} ({pool.servers} server{'s' if pool.servers != 1 else ''} "
            f"in the scenario): {card} × {pool.gpus_per_server} per server, "
            f"{pool.model} {pool.precision}",
            fleet.probes,
            fleet.floor,
            fleet.target,
            "servers",
        )
    )
    if fleet.servers is None:
        body = Text(f"NO FLEET: {fleet.reason}.", style="bold red")
    else:
        body = Text(f"{fleet.servers} × {card} ", style="bold green")
        n = fleet.servers * pool.gpus_per_server
        body.append(f"({n} card{'s' if n != 1 else ''}): {fleet.reason}.")
        if cost is not None and cost.purchase_usd:
            gpu = catalog.gpu(pool.gpu)
            own_price = pool.purchase_usd_per_gpu is not None
            price = pool.purchase_usd_per_gpu if own_price else gpu.purchase_usd or 0.0
            whose = "the pool's price" if own_price else "the GPU catalogue's"
            cards = f"{pool.gpus_per_server} cards" if pool.gpus_per_server > 1 else "1 card"
            hours = "around the clock" if pool.schedule == "always_on" else "in business hours"
            body.append(
                f"\nCost: ${cost.purchase_usd:,.0f} up front (a server: {cards} at ${price:,.0f}, {whose}, + "
                f"${pool.server_usd:,.0f} for the rest of it) and ${cost.running_usd_per_month:,.0f}/month to run "
                f"(electricity at ${pool.electricity_usd_per_kwh:g}/kWh for the cards' full "
                f"{gpu.board_power_w:,.0f} W board power {hours}, an upper bound; hosting "
                f"${pool.hosting_usd_per_month:,.0f} a server, as the pool sets it: "
                "gpu_pools[].hosting_usd_per_month); "
                f"${cost.usd_per_month:,.0f}/month with the purchase amortised over {pool.amortisation_months} months."
            )
        elif cost is not None:  # rent is already a month's cost
            body.append(f"\nCost: ${cost.usd_per_month:,.0f}/month rented.")
    body.append(
        f"\nRoofline bound: at least {fleet.roofline_servers} server(s); {len(fleet.probes) + 1} "
        f"simulations, {fleet.wall_time_s:,.0f} s of simulation in all "
        "(wall seconds of each run, summed over the processes that ran them at once).",
        style="dim",
    )
    console.print(Panel(body, title="Least fleet", border_style="green" if fleet.servers else "red"))


def render_knee(result: Knee, servers: int, console: Console) -> None:
    """The probes of a knee search and its answer."""
    console.print(
        _probe_table(
            f"Capacity knee of {result.scenario} ({servers} GPU server(s))",
            result.probes,
            result.floor,
            result.target,
            "demand",
        )
    )
    if result.interviews_per_day is None:
        body = Text(f"NONE: {result.reason}.", style="bold red")
    else:
        body = Text(f"{result.interviews_per_day:,.0f} interviews per interviewing day ", style="bold green")
        body.append(f"within the target ({result.reason}).")
    body.append(
        f"\n{len(result.probes)} simulations, {result.wall_time_s:,.0f} s of simulation in all "
        "(wall seconds of each run, summed over the processes that ran them at once).",
        style="dim",
    )
    console.print(Panel(body, title="Knee", border_style="green" if result.interviews_per_day else "red"))


def _probe_json(p: Probe) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in vars(p).items()}


def _target_json(t: Target) -> dict[str, Any]:
    return {
        "p95_turn_latency_s": t.p95_turn_latency_s,
        "p95_ttft_s": t.p95_ttft_s,
        "carried_share": t.carried_share,
    }


def fleet_json(fleet: FleetSize, cost: PoolCost | None) -> dict[str, Any]:
    """A fleet search for ``--json``."""
    return {
        "scenario": fleet.scenario,
        "pool": fleet.pool.model_dump(),
        "target": _target_json(fleet.target),
        "servers": fleet.servers,
        "reason": fleet.reason,
        "roofline_servers": fleet.roofline_servers,
        "floor": _probe_json(fleet.floor),
        "probes": [_probe_json(p) for p in fleet.probes],
        "purchase_usd": cost.purchase_usd if cost else None,
        "usd_per_month": cost.usd_per_month if cost else None,
        "running_usd_per_month": cost.running_usd_per_month if cost else None,
        "wall_time_s": fleet.wall_time_s,
    }


def knee_json(result: Knee, servers: int) -> dict[str, Any]:
    """A knee search for ``--json``."""
    return {
        "scenario": result.scenario,
        "servers": servers,
        "target": _target_json(result.target),
        "interviews_per_day": result.interviews_per_day,
        "scale": result.scale,
        "upper_scale": result.upper_scale,
        "reason": result.reason,
        "floor": _probe_json(result.floor),
        "probes": [_probe_json(p) for p in result.probes],
        "wall_time_s": result.wall_time_s,
    }
