"""Rich rendering of a :class:`RunResult` and its verdict, for people at a terminal."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from capacity import ENGINE
from capacity.report.fit import fitted
from capacity.report.lever_tables import run_levers_text
from capacity.report.verdict import Verdict, alternatives, clock
from capacity.result import RequestCounts, RunResult
from capacity.studies.replications import Interval
from capacity.studies.target import CARRIED_SHARE
from capacity.units import ErrorKind, limit_unit


def turn_counts(rq: RequestCounts) -> str:
    """The turns and how each was served, adding up to the total: template, cache, de-duplicated,
    provider, degraded, failed, and — when a script has them — answered ahead (deferred) and from
    a bank."""
    ahead = "".join(f", {n:,} {what}" for n, what in ((rq.deferred, "deferred"), (rq.bank, "bank")) if n)
    return (
        f"{rq.logical:,}: {rq.template:,} template, {rq.cache:,} cache, {rq.deduplicated:,} de-duplicated, "
        f"{rq.provider:,} provider, {rq.degraded:,} degraded, {rq.failed:,} failed{ahead}"
    )


def _ci(intervals: dict[str, Interval] | None, key: str, fmt: str) -> str:
    if not intervals or key not in intervals or intervals[key].n < 2:
        return ""
    iv = intervals[key]
    return f"  (95% CI {format(iv.low, fmt)} – {format(iv.high, fmt)}, n={iv.n})"


def _replicated(intervals: dict[str, Interval] | None) -> int:
    """Replications behind ``intervals`` (0 for a single run)."""
    n = max((iv.n for iv in (intervals or {}).values()), default=0)
    return n if n >= 2 else 0


def _value(intervals: dict[str, Interval] | None, key: str, value: float, fmt: str) -> str:
    """``value`` for one run; with replications, the mean over them and its 95% interval."""
    if not _replicated(intervals) or intervals is None or key not in intervals:
        return format(value, fmt)
    return f"mean {format(intervals[key].mean, fmt)} ({_ci(intervals, key, fmt).strip(' ()')})"


def replications_summary(result: RunResult, intervals: dict[str, Interval]) -> tuple[bool, str]:
    """Over replications: whether the means carry the demand (≥ 99 % carried, mean p95 turn
    latency within the target) and a sentence with both means and their 95% intervals."""
    n = _replicated(intervals)
    carried = intervals["carried_interviews_per_day"]
    p95 = intervals["turn_latency_p95_s"]
    done = sum(intervals[k].mean for k in ("completed", "degraded"))
    asked = done + sum(intervals[k].mean for k in ("failed", "unfinished"))
    share = done / asked if asked else 1.0
    modelled = not math.isnan(p95.mean)  # the fluid mode does not model turn latency: the carried share alone
    ok = share >= CARRIED_SHARE and (not modelled or p95.mean <= result.sla_p95_turn_latency_s)
    latency = (
        f"p95 turn latency {p95.mean:.2f} s (95% CI {p95.low:.2f} – {p95.high:.2f}; target "
        f"{result.sla_p95_turn_latency_s:g} s)"
        if modelled
        else "turn latency not modelled (fluid mode: judged on the carried share alone)"
    )
    text = (
        f"Over {n} replications: {'YES' if ok else 'NO'} on the means: carried {carried.mean:,.0f} interviews "
        "per calendar day "
        f"(95% CI {carried.low:,.0f} – {carried.high:,.0f}) of {result.need_interviews_per_day:,.0f} needed "
        f"({share:.0%}), {latency}. The findings below are replication 1's."
    )
    return ok, text


_OUTCOMES = ("completed", "degraded", "failed", "unfinished")
"""What became of the interviews requested (they add up to it)."""


def carries(result: RunResult, verdict: Verdict, intervals: dict[str, Interval] | None) -> bool:
    """Whether the plan carries the demand: on the means over replications where there are
    several (:func:`replications_summary`), else the single run's verdict."""
    if _replicated(intervals) and intervals is not None:
        return replications_summary(result, intervals)[0]
    return verdict.carries


def render_run(
    result: RunResult,
    verdict: Verdict,
    console: Console,
    intervals: dict[str, Interval] | None = None,
    *,
    providers_file: str | None = None,
    wall_time_s: float | None = None,
) -> None:
    """Summary, per-destination table, and the verdict; ``providers_file`` (the providers.yaml
    the run used) is named in the summary when given.

    With ``intervals`` over several replications, the headline numbers are their means with
    95% intervals (carried, interview counts, p50/p95 turn latency, cache hit rate, cost), the
    verdict opens with the answer on the means, and ``wall_time_s`` (the whole command's, s)
    replaces the first run's; a row that is replication 1's says "(run 1)".
    """
    iv = result.interviews
    n = _replicated(intervals)
    run1 = " (run 1)" if n else ""  # a row not averaged over the replications says whose it is
    which = f"{n} replications (means, 95% CI), seed {result.seed} first" if n else f"seed {result.seed}"
    summary = Table(
        title=f"Scenario {result.scenario}: {result.mode} run"
        + (" (fluid mode: per-minute flows, no latency)" if result.fidelity == "fluid" else "")
        + f", {which}, {result.days} day(s) from "
        f"{dt.datetime.fromisoformat(result.run_start_utc):%a %Y-%m-%d}",
        show_header=False,
        title_justify="left",
    )
    summary.add_column("what", style="bold")
    summary.add_column("value")
    rows: list[tuple[str, str]] = [
        # per calendar day, as the result counts them (`plan` adds the per interviewing day figures)
        ("need", f"{result.need_interviews_per_day:,.1f} interviews/calendar day"),  # as precise as "carried"
        (
            "carried",
            _value(intervals, "carried_interviews_per_day", result.carried_interviews_per_day, ",.1f")
            + " interviews/calendar day",
        ),
        (
            "interviews",
            f"{iv.requested:,} requested = {iv.completed:,} completed + {iv.degraded:,} degraded + "
            f"{iv.failed:,} failed + {iv.unfinished:,} unfinished",
        )
        if not n or intervals is None
        else (
            "interviews (means)",
            f"{sum(intervals[k].mean for k in _OUTCOMES):,.1f} requested = "
            + " + ".join(f"{intervals[k].mean:,.1f} {k}" for k in _OUTCOMES),
        ),
        *(
            [("latency", "not modelled in fluid mode (turn latency, time to first token, quota wait)")]
            if result.fidelity == "fluid"
            else [
                (
                    "turn latency",
                    f"p50 {_value(intervals, 'turn_latency_p50_s', result.turn_latency_s.p50, '.2f')} s, "
                    f"p95 {_value(intervals, 'turn_latency_p95_s', result.turn_latency_s.p95, '.2f')} s, "
                    f"p99 {result.turn_latency_s.p99:.2f} s{' (run 1)' if n else ''} "
                    f"(target p95 ≤ {result.sla_p95_turn_latency_s:g} s)",
                ),
                (
                    "time to first token" + run1,
                    f"p50 {result.ttft_s.p50:.2f} s, p95 {result.ttft_s.p95:.2f} s (target {result.sla_ttft_s:g} s)",
                ),
                ("quota wait" + run1, f"mean {result.queue_wait_s.mean:.2f} s, p95 {result.queue_wait_s.p95:.2f} s"),
            ]
        ),
        *_duration_row(result, run1),
        (
            "turns" + run1,
            f"{turn_counts(result.requests)}; {result.requests.api_calls:,} API calls",
        ),
        (
            "cache",
            f"hit rate {_value(intervals, 'cache_hit_rate', result.cache.hit_rate, '.1%')} of "
            f"{result.cache.lookups:,} cacheable lookups{run1}; "
            f"{result.cache.avoided_rate:.1%} of turns needed no API call{run1}",
        ),
        ("tokens" + run1, f"{result.tokens_per_interview:,.0f} API tokens per carried interview"),
        *_prompt_cache_row(result, run1),
        (
            "cost",
            f"${result.cost_usd:,.2f} (${result.cost_per_interview_usd:.4f} per carried interview)"
            if not n or intervals is None
            else f"mean ${intervals['cost_usd'].mean:,.2f} (95% CI ${intervals['cost_usd'].low:,.2f} – "
            f"${intervals['cost_usd'].high:,.2f}); ${result.cost_per_interview_usd:.4f} per carried interview (run 1)",
        ),
        (
            "wall time",
            (
                f"{wall_time_s:.1f} s for {n} replications"
                if n and wall_time_s is not None
                else f"{wall_time_s if wall_time_s is not None else result.wall_time_s:.1f} s"
            )
            + ("" if result.mode != "simulated" else f" ({'compiled' if ENGINE.compiled else 'pure-Python'} engine)"),
        ),
    ]
    if providers_file is not None:
        rows.append(("providers", providers_file))
    for k, v in rows:
        summary.add_row(k, v)
    console.print(summary)
    levers = run_levers_text(result)
    if levers is not None:
        console.print(levers)

    table = Table(title=f"Destinations{run1}", title_justify="left")
    longest = max((len(d.name) for d in result.destinations), default=11)
    roomy = console.width >= 150  # below that, a 28-character name on one line leaves the others too little
    # a name is never cut short with "…": whole on one line up to 28 characters where there is room (a fixed
    # width, which Rich fits the other columns around), else it folds. No column takes a min_width: Rich
    # honours it after fitting the table to the width, so the table grew past the console and lost its right
    # edge (the last column cut mid-word) when piped at 160 columns.
    table.add_column("destination", overflow="fold", width=min(longest, 28) if roomy else None)
    for col, justify in [
        ("accts", "right"),
        ("requests", "right"),
        ("errors", "right"),
        ("429s", "right"),
        ("tokens in/out", "right"),
        ("cost $", "right"),
        ("binding (full % of run)", "left"),
        ("binds from", "left"),
        ("first refused", "left"),
    ]:
        # numbers never wrap; window names and times wrap whole words when space is short, and a
        # word longer than its column folds rather than being cut with "…"
        table.add_column(
            col,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=justify == "right" and col != "tokens in/out",
            overflow="fold",
        )
    for d in result.destinations:
        firsts = [w for w in d.windows if w.first_blocked_s is not None]
        first = min(firsts, key=lambda w: w.first_blocked_s or 0.0) if firsts else None
        binding = next((w for w in d.windows if w.name == d.binding_window), None)
        table.add_row(
            d.name,
            str(d.accounts),
            f"{d.requests:,}",
            f"{sum(d.errors.values()):,}",
            f"{d.errors.get(ErrorKind.RATE_LIMITED, 0):,}",
            f"{d.tokens_in:,} / {d.tokens_out:,}" + (f" ({d.cached_tokens_in:,} cached)" if d.cached_tokens_in else ""),
            f"{d.cost_usd:,.2f}",
            f"{limit_unit(binding.name)} ({binding.full_share:.0%})" if binding else "—",
            clock(d.binding_from_s) if d.binding_from_s is not None else "—",
            f"{limit_unit(first.name)} {clock(first.first_blocked_s or 0.0)}" if first else "—",
        )
    console.print(fitted(table, console))
    good = verdict.carries
    opening: list[str] = []
    if n and intervals is not None:
        good, text = replications_summary(result, intervals)
        opening = [f"[bold]{text}[/bold]", ""]
    body = "\n".join(
        [
            *opening,
            f"[bold]{verdict.headline}[/bold]",
            *[f"• {f}" for f in verdict.findings],
            *(
                ["", f"[bold]To close the gap[/bold]{alternatives(len(verdict.options))}:"]
                + [f"• {o}" for o in verdict.options]
                if verdict.options
                else []
            ),
        ]
    )
    console.print(Panel(body, title="Verdict", border_style="green" if good else "red"))


def _duration_row(result: RunResult, run1: str) -> list[tuple[str, str]]:
    """How long the carried interviews lasted, from the start to the last answer (the fluid mode keeps it too)."""
    d = result.interview_duration_s
    if not d.count:
        return []
    return [("interview length" + run1, f"mean {d.mean / 60:.1f} min, p95 {d.p95 / 60:.1f} min ({d.count:,} carried)")]


def _prompt_cache_row(result: RunResult, run1: str) -> list[tuple[str, str]]:
    """The summary's line on provider prompt caching (none where no input token was cached); ``run1``
    marks it replication 1's."""
    pc = result.prompt_cache
    if not pc.cached_tokens_in:
        return []
    return [
        (
            "prompt cache" + run1,
            f"{pc.cached_tokens_in:,} input tokens read from provider prompt caches ({pc.cached_share:.1%} of input); "
            f"${pc.saved_usd:,.2f} saved at list price",
        )
    ]


def _instant(result: RunResult, run_s: float | None) -> dict[str, Any] | None:
    """A run time as both seconds since run start and an ISO 8601 UTC timestamp."""
    if run_s is None:
        return None
    start = dt.datetime.fromisoformat(result.run_start_utc)
    start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)
    return {"at_s": run_s, "at_utc": (start + dt.timedelta(seconds=run_s)).isoformat()}


def _first_minute(series: list[int], minute_s: float) -> float | None:
    return next((i * minute_s for i, v in enumerate(series) if v > 0), None)


def timeline_json(result: RunResult) -> dict[str, Any]:
    """When the plan ran out, as data: the first refusal (destination, window, instant), the
    first minute turns queued for quota and the first minute turns failed (instants), and the
    backlog (interviews not carried by the horizon)."""
    refusals = [
        (w.first_blocked_s, d.name, w.name)
        for d in result.destinations
        for w in d.windows
        if w.first_blocked_s is not None
    ]
    first = min(refusals) if refusals else None
    ts = result.timeseries
    return {
        "first_refused": None
        if first is None
        else {"destination": first[1], "window": first[2], **(_instant(result, first[0]) or {})},
        "first_queued": _instant(result, _first_minute(ts.queued_turns, ts.minute_s)),
        "first_failed": _instant(result, _first_minute(ts.failed_turns, ts.minute_s)),
        "backlog_interviews": result.backlog_interviews,
    }


def summary_json(
    result: RunResult,
    verdict: Verdict | None,
    intervals: dict[str, Interval] | None = None,
    *,
    providers_file: str | None = None,
    wall_time_s: float | None = None,
    replications: int = 1,
) -> dict[str, Any]:
    """The one JSON document of a run, for ``--json`` and ``--out`` alike: every field of the
    RunResult (per-minute and hourly series, CDFs included), the verdict (its own fields, plus its timeline as
    data: instants in seconds and ISO 8601 UTC, counts as numbers), the 95% intervals over
    replications with the answer on their means (``verdict_on_means``; ``verdict`` is replication
    1's; a fluid run's latency figures null, not modelled), the providers file, the engine that
    simulated it (``engine``: compiled or not, and why; simulations only) and the whole command's
    wall time, s."""
    data: dict[str, Any] = {
        "replications": replications,
        "providers_file": providers_file,
        **result.model_dump(mode="json", by_alias=True),
    }
    if result.mode == "simulated":  # which engine ran it (the same numbers either way, not the same speed)
        data["engine"] = {"compiled": ENGINE.compiled, "why": ENGINE.why}
    if result.fidelity == "fluid":  # latency not modelled: null, not a 0.0 that meets any target
        for key in ("turn_latency_s", "ttft_s", "queue_wait_s"):
            data[key] = {k: v if k == "count" else None for k, v in data[key].items()}
        for key in ("turn_latency_by_hour", "turn_latency_by_run_hour"):
            data[key] = [{**h, "p50_s": None, "p95_s": None} for h in data[key]]
    if wall_time_s is not None:
        data["wall_time_total_s"] = wall_time_s
    if verdict is not None:
        data["verdict"] = {**verdict.to_json(), "timeline": timeline_json(result)}
    if intervals:
        data["confidence_intervals_95"] = {
            k: {"mean": v.mean, "low": v.low, "high": v.high, "n": v.n} for k, v in intervals.items()
        }
        if verdict is not None and _replicated(intervals):
            ok, text = replications_summary(result, intervals)
            data["verdict_on_means"] = {"carries": ok, "summary": text}
    return data
