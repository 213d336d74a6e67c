"""``capacity gpu``: one deployment's serving figures, every catalogue pair, the calibration.

Each figure is for one server and conversations of the stated context length; errors are
(modelled − measured) ÷ measured against published measurements, marked ``calibrate`` (the
constants were fitted to the row) or ``hold_out`` (the row only checks them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table

from capacity.gpu.calibration import RowCheck
from capacity.gpu.profile import ServingProfile


def row_json(check: RowCheck) -> dict[str, Any]:
    """A benchmark row, the model's figure and the error, as JSON."""
    row = check.row
    return {
        "id": row.id,
        "gpu": row.gpu,
        "model": row.model,
        "precision": row.precision,
        "engine": row.engine,
        "kind": row.kind,
        "concurrency": row.concurrency,
        "prompt_tokens": row.prompt_tokens,
        "output_tokens": row.output_tokens,
        "measured_tokens_per_s": row.measured_tokens_per_s,
        "modelled_tokens_per_s": round(check.modelled_tokens_per_s, 3),
        "error": round(check.error, 5),
        "role": row.role,
        "source": row.source,
    }


def profile_json(p: ServingProfile) -> dict[str, Any]:
    """One deployment's figures as JSON."""
    d = p.deployment
    return {
        "gpu": d.gpu_key,
        "model": d.model_key,
        "precision": d.precision_key,
        "engine": d.engine_key,
        "gpus_per_server": d.gpus,
        "fits": p.fits,
        "weights_gb": round(p.weights_gb, 3),
        "kv_bytes_per_token": p.kv_bytes_per_token,
        "kv_capacity_tokens": p.kv_capacity_tokens,
        "context_tokens": p.context_tokens,
        "concurrent_conversations": p.concurrent_conversations,
        "bandwidth_ceiling_tokens_per_s": round(p.bandwidth_ceiling_tokens_per_s, 3),
        "batch1_tokens_per_s": round(p.batch1_tokens_per_s, 3),
        "saturating_batch": p.saturating_batch,
        "max_output_tokens_per_s": round(p.max_output_tokens_per_s, 3),
        "limited_by": p.limited_by,
        "prefill_tokens_per_s": round(p.prefill_tokens_per_s, 3),
        "published": [row_json(c) for c in p.published],
    }


def _tokens(x: float) -> str:
    return f"{x:,.0f}" if x >= 1000 else f"{x:,.1f}"


def _error(check: RowCheck) -> str:
    return f"{100 * check.error:+.1f}%"


def render_profile(p: ServingProfile, console: Console) -> None:
    """One deployment's figures as a two-column table, then its published rows."""
    d = p.deployment
    table = Table(
        title=f"{d.gpu.name} × {d.gpus} · {d.model.name} · {d.precision_key} · {d.engine_key}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("weights", f"{p.weights_gb:,.2f} GB")
    table.add_row("KV cache per token", f"{p.kv_bytes_per_token:,.0f} B")
    if not p.fits:
        table.add_row(
            "KV capacity",
            f"{p.kv_capacity_tokens:,} tokens (does not fit a {p.context_tokens:,}-token conversation)",
        )
    else:
        table.add_row("KV capacity", f"{p.kv_capacity_tokens:,} tokens")
        table.add_row(
            f"conversations of {p.context_tokens:,} tokens at once", f"{p.concurrent_conversations:,}"
        )
        table.add_row("tokens/s, batch 1", _tokens(p.batch1_tokens_per_s))
        table.add_row("  ceiling: bandwidth ÷ weights", _tokens(p.bandwidth_ceiling_tokens_per_s))
        table.add_row("saturating batch", f"{p.saturating_batch:,} ({p.limited_by})")
        table.add_row("output tokens/s there", _tokens(p.max_output_tokens_per_s))
        table.add_row(
            f"prefill tokens/s ({p.context_tokens:,}-token prompt)", _tokens(p.prefill_tokens_per_s)
        )
    console.print(table)
    if p.published:
        render_calibration(p.published, console, title="Published rows for this GPU, model and format")


LIMIT_TAGS = {"kv cache": "kv", "max batch": "max", "compute": "flops", "does not fit": ""}


def render_pairs(profiles: Sequence[ServingProfile], console: Console) -> None:
    """One line per GPU × model pair."""
    if not profiles:
        return
    first = profiles[0]
    d = first.deployment
    table = Table(
        title=f"Every GPU × model: {d.precision_key} weights, {d.engine_key}, {d.gpus} GPU(s) per server, "
        f"conversations of {first.context_tokens:,} tokens",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("GPU", "left"),
        ("model", "left"),
        ("weights\nGB", "right"),
        ("KV\ntokens", "right"),
        ("convs", "right"),
        ("tok/s\nbatch 1", "right"),
        ("sat.\nbatch", "right"),
        ("tok/s\nthere", "right"),
        ("prefill\ntok/s", "right"),
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(name, justify=justify, no_wrap=i >= 2, overflow="fold")
    for p in profiles:
        d = p.deployment
        if not p.fits:
            table.add_row(d.gpu_key, d.model_key, f"{p.weights_gb:,.1f}", f"{p.kv_capacity_tokens:,}", "none")
            continue
        table.add_row(
            d.gpu_key,
            d.model_key,
            f"{p.weights_gb:,.1f}",
            f"{p.kv_capacity_tokens:,}",
            f"{p.concurrent_conversations:,}",
            _tokens(p.batch1_tokens_per_s),
            f"{p.saturating_batch:,} {LIMIT_TAGS[p.limited_by]}",
            _tokens(p.max_output_tokens_per_s),
            _tokens(p.prefill_tokens_per_s),
        )
    console.print(table)
    console.print(
        "convs: conversations whose KV cache fits at once; sat. batch: the batch where output tokens/s "
        "stop growing, bounded by the KV cache (kv), --max-batch (max) or compute (flops)."
    )


def _workload(row: RowCheck) -> str:
    r = row.row
    if r.kind == "prefill":
        return f"pp{r.prompt_tokens}"
    if r.kind == "decode":
        return f"tg{r.output_tokens}"
    return f"{r.prompt_tokens}/{r.output_tokens} ×{r.concurrency}"


def render_calibration(
    checks: Sequence[RowCheck], console: Console, title: str = "Calibration: the model against published rows"
) -> None:
    """Every benchmark row: measured, modelled, error, and whether it was fitted or held out."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("row", "left"),
        ("engine", "left"),
        ("workload", "left"),
        ("measured\ntok/s", "right"),
        ("modelled\ntok/s", "right"),
        ("error", "right"),
        ("role", "left"),
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(name, justify=justify, no_wrap=i >= 1, overflow="fold")
    for check in checks:
        row = check.row
        table.add_row(
            row.id,
            row.engine,
            _workload(check),
            _tokens(row.measured_tokens_per_s),
            _tokens(check.modelled_tokens_per_s),
            _error(check),
            "fitted" if row.role == "calibrate" else "held out",
        )
    console.print(table)
    held = [abs(c.error) for c in checks if c.row.role == "hold_out"]
    if held:
        console.print(f"Held-out rows: largest error {100 * max(held):.1f}% over {len(held)} rows.")
