"""The ``validate`` study as a table (Rich) and as JSON: simulated beside measured."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from capacity.report.run_tables import summary_json
from capacity.studies.validate import LATENCY_TOLERANCE, Overhead, Validation

__all__ = ["render_validation", "validation_json"]


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.3g}"


def _error(value: float) -> str:
    return "—" if math.isinf(value) else f"{value:+.1%}"


def render_validation(v: Validation, console: Console) -> None:
    """Print the figures side by side, with the relative error, the target and a verdict."""
    table = Table(
        title=f"validate {v.scenario}: first {v.interviews:,} interviews, seed {v.seed}, time scale {v.time_scale:g}×",
        title_justify="left",
    )
    for column, justify in (
        ("figure", "left"),
        ("simulated", "right"),
        ("measured live", "right"),
        ("relative error", "right"),
        ("target", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for f in v.figures:
        target = "" if f.target is None else f"±{f.target:.0%}"
        mark = "" if f.target is None else ("ok" if f.ok else "[red]MISSED[/red]")
        table.add_row(f.name, _number(f.simulated), _number(f.measured), _error(f.relative_error), target, mark)
    console.print(table)
    if v.shared_draws:
        console.print(
            "draws: shared — each provider call's failure, TTFT and decode speed drawn on both sides from one "
            "seeded decision per (candidate, interview, turn, attempt)",
            highlight=False,
        )
    else:
        console.print("draws: independent — each side drew its own failures and service times", highlight=False)
    if v.overhead is not None:
        console.print(_overhead_line(v.overhead, v.time_scale), highlight=False)
    if v.overhead_share > LATENCY_TOLERANCE:
        console.print(
            f"[yellow]note[/yellow]: at {v.time_scale:g}× the live overhead's p95 is {v.overhead_share:.0%} of the "
            f"simulated p95 turn latency (more than the ±{LATENCY_TOLERANCE:.0%} target): the latency "
            "comparison measures this machine's load as much as the model; a lower --time-scale shrinks it",
            highlight=False,
        )
    console.print(
        f"emulator: {v.emulator_429s:,} rate-limit refusals sent, {v.emulator_violations:,} limit violations "
        "seen by its independent audit"
    )
    if v.ok:
        console.print("[green]PASS[/green]: every figure with a target is within it")
    else:
        missed = ", ".join(f.name for f in v.figures if not f.ok)
        console.print(f"[red]FAIL[/red]: outside the target: {missed}", highlight=False)


def _ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1e3:.1f} ms"


def _overhead_line(o: Overhead, time_scale: float) -> str:
    """What the live side added, in wall ms and in run time at ``time_scale``."""
    parts = []
    if o.calls:
        parts.append(
            f"per call over the planned service time p50 {_ms(o.per_call_p50_s)}, p95 {_ms(o.per_call_p95_s)} "
            f"({o.calls:,} calls; p95 = {o.per_call_p95_s * time_scale:.3g} s of run time at {time_scale:g}×)"
        )
    parts.append(f"router event-loop lag p50 {_ms(o.lag_p50_s)}, p95 {_ms(o.lag_p95_s)}, max {_ms(o.lag_max_s)}")
    return "live overhead (wall): " + "; ".join(parts)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def validation_json(v: Validation) -> dict[str, Any]:
    """``simulated`` and ``measured`` summaries, and ``relative_error`` per figure."""
    return {
        "scenario": v.scenario,
        "interviews": v.interviews,
        "seed": v.seed,
        "time_scale": v.time_scale,
        "ok": v.ok,
        "simulated": summary_json(v.simulated, None, None),
        "measured": summary_json(v.measured, None, None),
        "figures": [
            {
                "name": f.name,
                "simulated": f.simulated,
                "measured": f.measured,
                "relative_error": None if math.isinf(f.relative_error) else f.relative_error,
                "target": f.target,
                "ok": f.ok,
            }
            for f in v.figures
        ],
        "relative_error": {f.name: (None if math.isinf(f.relative_error) else f.relative_error) for f in v.figures},
        "emulator": {"rate_limited": v.emulator_429s, "violations": v.emulator_violations},
        "shared_draws": v.shared_draws,
        "overhead_share": _finite(v.overhead_share),
        "overhead_wall_s": None
        if v.overhead is None
        else {
            "calls": v.overhead.calls,
            "per_call_p50": _finite(v.overhead.per_call_p50_s),
            "per_call_p95": _finite(v.overhead.per_call_p95_s),
            "lag_p50": _finite(v.overhead.lag_p50_s),
            "lag_p95": _finite(v.overhead.lag_p95_s),
            "lag_max": _finite(v.overhead.lag_max_s),
        },
    }
