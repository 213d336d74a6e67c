"""``capacity gpu``: one deployment's serving figures, every catalogue pair, the calibration.

Each figure is for one server and conversations of the stated context length; errors are
(modelled − measured) ÷ measured against published measurements, marked ``calibrate`` (the
constants were fitted to the row) or ``hold_out`` (the row only checks them), each with the
fit (engine, version, GPU class) it was modelled with; published rows the model cannot
reproduce are listed with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table

from capacity.config.gpus import GpuCatalog, UnmodelledRow
from capacity.gpu.calibration import RowCheck, held_out_summary
from capacity.gpu.profile import ServingProfile
from capacity.gpu.roofline import GB, resolve_efficiency


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
        "fit": check.fit,
        "source": row.source,
    }


def fits_json(catalog: GpuCatalog) -> list[dict[str, Any]]:
    """Every engine's constants: version, step overhead and each efficiency entry."""
    return [
        {
            "engine": key,
            "version": e.version,
            "step_overhead_s": e.step_overhead_s,
            "step_overhead_per_sequence_s": e.step_overhead_per_sequence_s,
            "efficiencies": {
                cls: {
                    "bandwidth": eff.bandwidth,
                    "compute": eff.compute,
                    "fitted_on": eff.fitted_on,
                    "same_as": eff.same_as,
                    "compute_ratio_of": eff.compute_ratio_of,
                    "note": eff.note,
                }
                for cls, eff in e.efficiencies.items()
            },
        }
        for key, e in catalog.engines.items()
    ]


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
        "turn_ttft_s": {"cold": round(p.cold_turn_ttft_s, 5), "prefix_cached": round(p.cached_turn_ttft_s, 5)},
        "memory": {
            "usable_gb": round(p.memory.usable_bytes / GB, 3),
            "activations_gb": round(p.memory.activation_bytes / GB, 3),
            "runtime_gb": round(p.memory.runtime_bytes / GB, 3),
            "kv_gb": round(p.memory.kv_bytes / GB, 3),
            "kv_blocks": p.memory.blocks,
            "block_size": p.memory.block_size,
            "max_model_len": p.memory.max_model_len,
            "starts": p.memory.problem is None,
            "problem": p.memory.problem,
        },
        "efficiency": {
            "engine_version": d.engine.version,
            "class": d.efficiency.key,
            "bandwidth": d.efficiency.bandwidth,
            "compute": d.efficiency.compute,
            "fitted_on": list(d.efficiency.fitted_on),
        },
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
    m = p.memory
    table.add_row("weights", f"{p.weights_gb:,.2f} GB")
    table.add_row(
        "memory",
        f"{m.usable_bytes / GB:,.2f} GB usable: {m.activation_bytes / GB:,.2f} activations, "
        f"{m.runtime_bytes / GB:,.2f} runtime, {m.kv_bytes / GB:,.2f} KV",
    )
    table.add_row("KV cache per token", f"{p.kv_bytes_per_token:,.0f} B")
    rows = d.efficiency.fitted_on
    origin = f"fitted on {len(rows)} row(s): {', '.join(rows)}" if rows else "not fitted"
    if d.efficiency.note:
        origin += f"; {d.efficiency.note}"
    table.add_row(
        "efficiencies",
        f"η_bw {d.efficiency.bandwidth:.3f}, η_c {d.efficiency.compute:.3f}: {d.engine_key} {d.engine.version} "
        f"on {d.efficiency.key} ({origin})",
    )
    table.add_row(
        "step overhead",
        f"{1000 * d.overhead_s:.2f} ms + {1e6 * d.overhead_per_sequence_s:.1f} µs per sequence",
    )
    if m.problem is not None:
        table.add_row("would not start", m.problem)
    elif not p.fits:
        table.add_row(
            "KV capacity",
            f"{p.kv_capacity_tokens:,} tokens (does not fit a {p.context_tokens:,}-token conversation)",
        )
    else:
        table.add_row("KV capacity", f"{p.kv_capacity_tokens:,} tokens ({m.blocks:,} blocks of {m.block_size})")
        table.add_row("max_model_len", f"{m.max_model_len:,}")
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
        table.add_row(
            "time to first token of a turn, idle server",
            f"{p.cold_turn_ttft_s:.3f} s; {p.cached_turn_ttft_s:.3f} s with the conversation's prefix cached",
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
    if r.kind == "offline":
        return f"{r.prompt_tokens}/{r.output_tokens}, {r.requests:,} queued"
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
        ("fit (engine version · GPU class)", "left"),
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
            check.fit,
        )
    console.print(table)
    summary = held_out_summary(checks)
    if summary is not None:
        console.print(
            f"Held-out rows: median absolute error {100 * summary.median:.1f}%, largest "
            f"{100 * summary.largest:.1f}% ({summary.largest_row}) over {summary.rows} rows."
        )


def render_fits(catalog: GpuCatalog, console: Console) -> None:
    """Each engine's fitted constants: version, step overhead, efficiencies per GPU class."""
    table = Table(
        title="Fits: each engine version's constants (η_bw, η_c per GPU class; CPU time per step)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("engine", "left"),
        ("version", "left"),
        ("class", "left"),
        ("η_bw", "right"),
        ("η_c", "right"),
        ("fitted on / taken from", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold")

    for key, engine in catalog.engines.items():
        overhead = (
            f"step: {1000 * engine.step_overhead_s:.2f} ms + {1e6 * engine.step_overhead_per_sequence_s:.1f} µs/seq"
        )
        table.add_row(key, engine.version, "", "", "", overhead)
        for cls, eff in engine.efficiencies.items():
            chosen = resolve_efficiency(catalog, key, cls)
            origin = ", ".join(eff.fitted_on)
            if eff.same_as is not None:
                origin = (origin + "; " if origin else "") + f"rest from {eff.same_as}"
                if eff.compute_ratio_of:
                    origin += f", η_c × {eff.compute_ratio_of}'s ratio"
            table.add_row("", "", cls, f"{chosen.bandwidth:.3f}", f"{chosen.compute:.3f}", origin)
    console.print(table)


def render_unmodelled(rows: Sequence[UnmodelledRow], console: Console) -> None:
    """Published rows the model does not reproduce, and why."""
    if not rows:
        return
    table = Table(
        title="Published rows not reproduced", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for name in ("rows", "setup", "result", "why not"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row.id, row.setup, row.result, row.reason)
    console.print(table)
