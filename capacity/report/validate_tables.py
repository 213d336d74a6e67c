"""The ``validate`` study as a table (Rich) and as JSON: simulated beside measured."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from capacity.report.run_tables import summary_json
from capacity.studies.validate import Validation

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
    console.print(
        f"emulator: {v.emulator_429s:,} rate-limit refusals sent, {v.emulator_violations:,} limit violations "
        "seen by its independent audit"
    )
    if v.ok:
        console.print("[green]PASS[/green]: every figure with a target is within it")
    else:
        missed = ", ".join(f.name for f in v.figures if not f.ok)
        console.print(f"[red]FAIL[/red]: outside the target: {missed}", highlight=False)


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
    }
