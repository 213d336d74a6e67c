"""Rich rendering of a :class:`RunResult` and its verdict, for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from capacity.report.verdict import Verdict, clock
from capacity.result import RunResult
from capacity.studies.replications import Interval


def _ci(intervals: dict[str, Interval] | None, key: str, fmt: str) -> str:
    if not intervals or key not in intervals or intervals[key].n < 2:
        return ""
    iv = intervals[key]
    return f"  (95% CI {format(iv.low, fmt)} – {format(iv.high, fmt)}, n={iv.n})"


def render_run(
    result: RunResult,
    verdict: Verdict,
    console: Console,
    intervals: dict[str, Interval] | None = None,
    *,
    providers_file: str | None = None,
) -> None:
    """Summary, per-destination table, and the verdict; ``providers_file`` (the providers.yaml
    the run used) is named in the summary when given."""
    iv = result.interviews
    summary = Table(
        title=f"Scenario {result.scenario}: {result.mode} run, seed {result.seed}, {result.days} day(s)",
        show_header=False,
        title_justify="left",
    )
    summary.add_column("what", style="bold")
    summary.add_column("value")
    rows: list[tuple[str, str]] = [
        ("need", f"{result.need_interviews_per_day:,.0f} interviews/day"),
        (
            "carried",
            f"{result.carried_interviews_per_day:,.1f} interviews/day"
            + _ci(intervals, "carried_interviews_per_day", ",.1f"),
        ),
        (
            "interviews",
            f"{iv.requested:,} requested = {iv.completed:,} completed + {iv.degraded:,} degraded + "
            f"{iv.failed:,} failed + {iv.unfinished:,} unfinished",
        ),
        (
            "turn latency",
            f"p50 {result.turn_latency_s.p50:.2f} s, p95 {result.turn_latency_s.p95:.2f} s, "
            f"p99 {result.turn_latency_s.p99:.2f} s (target p95 ≤ {result.sla_p95_turn_latency_s:g} s)"
            + _ci(intervals, "turn_latency_p95_s", ".2f"),
        ),
        (
            "time to first token",
            f"p50 {result.ttft_s.p50:.2f} s, p95 {result.ttft_s.p95:.2f} s (target {result.sla_ttft_s:g} s)",
        ),
        ("quota wait", f"mean {result.queue_wait_s.mean:.2f} s, p95 {result.queue_wait_s.p95:.2f} s"),
        (
            "turns",
            f"{result.requests.logical:,}: {result.requests.template:,} template, {result.requests.cache:,} cache, "
            f"{result.requests.deduplicated:,} de-duplicated, {result.requests.provider:,} provider, "
            f"{result.requests.degraded:,} degraded, {result.requests.failed:,} failed; "
            f"{result.requests.api_calls:,} API calls",
        ),
        (
            "cache",
            f"hit rate {result.cache.hit_rate:.1%} of {result.cache.lookups:,} cacheable lookups; "
            f"{result.cache.avoided_rate:.1%} of turns needed no API call",
        ),
        ("tokens", f"{result.tokens_per_interview:,.0f} API tokens per carried interview"),
        ("cost", f"${result.cost_usd:,.2f} (${result.cost_per_interview_usd:.4f} per carried interview)"),
        ("wall time", f"{result.wall_time_s:.1f} s"),
    ]
    if providers_file is not None:
        rows.append(("providers", providers_file))
    for k, v in rows:
        summary.add_row(k, v)
    console.print(summary)

    table = Table(title="Destinations", title_justify="left")
    longest = max((len(d.name) for d in result.destinations), default=11)
    roomy = console.width >= 120  # below that, nine columns cannot all keep their minimum widths
    # a name is never cut short with "…": it wraps, whole on one line up to 28 characters
    table.add_column("destination", overflow="fold", min_width=min(longest, 28) if roomy else None)
    for col, justify in [
        ("accts", "right"),
        ("requests", "right"),
        ("refused", "right"),
        ("errors", "right"),
        ("tokens in/out", "right"),
        ("cost $", "right"),
        ("binding", "left"),
        ("first refused", "left"),
    ]:
        # numbers never wrap; the window names and times wrap whole words when space is short
        table.add_column(
            col,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=justify == "right" and col != "tokens in/out",
            min_width=9 if roomy and justify == "left" else None,
        )
    for d in result.destinations:
        firsts = [w for w in d.windows if w.first_blocked_s is not None]
        first = min(firsts, key=lambda w: w.first_blocked_s or 0.0) if firsts else None
        table.add_row(
            d.name,
            str(d.accounts),
            f"{d.requests:,}",
            f"{d.rejected:,}",
            f"{sum(d.errors.values()):,}",
            f"{d.tokens_in:,} / {d.tokens_out:,}",
            f"{d.cost_usd:,.2f}",
            d.binding_window or "—",
            f"{first.name} {clock(first.first_blocked_s or 0.0)}" if first else "—",
        )
    console.print(table)
    body = "\n".join(
        [
            f"[bold]{verdict.headline}[/bold]",
            *[f"• {f}" for f in verdict.findings],
            *(
                [""] + ["[bold]To close the gap:[/bold]"] + [f"• {o}" for o in verdict.options]
                if verdict.options
                else []
            ),
        ]
    )
    console.print(Panel(body, title="Verdict", border_style="green" if verdict.carries else "red"))


def summary_json(
    result: RunResult, verdict: Verdict | None, intervals: dict[str, Interval] | None = None
) -> dict[str, Any]:
    """The RunResult summary for ``--json`` (per-minute series and CDFs left out)."""
    data = result.model_dump(exclude={"timeseries", "turn_latency_cdf", "turn_latency_by_hour"})
    for d in data["destinations"]:
        d.pop("hourly_requests", None)
        for w in d["windows"]:
            w.pop("hourly_peak_fraction", None)
    if verdict is not None:
        data["verdict"] = verdict.to_json()
    if intervals:
        data["confidence_intervals_95"] = {
            k: {"mean": v.mean, "low": v.low, "high": v.high, "n": v.n} for k, v in intervals.items()
        }
    return data
