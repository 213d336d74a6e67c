"""``capacity gpu``: what a GPU × model × weight format serves, and how well the model fits
the published measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import JsonOption, ProvidersOption, console, load, print_json, user_errors
from capacity.config.gpus import GpuCatalog, load_catalog
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.gpu.calibration import check_rows, held_out_summary
from capacity.gpu.profile import ServingProfile, serving_profile
from capacity.gpu.roofline import check_startup, deployment
from capacity.gpu.settings import ServerSettings
from capacity.report.gpu_tables import (
    fits_json,
    profile_json,
    render_calibration,
    render_fits,
    render_pairs,
    render_profile,
    render_unmodelled,
    row_json,
)
from capacity.workload.script import compile_script

DEFAULT_CONTEXT_TOKENS = 2500
"""Context of a conversation when neither --context-tokens nor --scenario is given (the facts' example)."""


def scenario_context_tokens(config: Configuration) -> int:
    """Mean cached context of one API call of the scenario's interview: prompt + output, tokens."""
    turns = [t for t in compile_script(config.scenario.script).expected_tokens() if not t.template]
    return round(sum(t.input_tokens + t.output_tokens for t in turns) / len(turns))


def _profiles(
    catalog: GpuCatalog,
    *,
    gpu: str | None,
    model: str | None,
    precision: str,
    engine: str,
    gpus: int,
    context: int,
    settings: ServerSettings,
) -> list[ServingProfile]:
    gpu_keys = [gpu] if gpu is not None else list(catalog.gpus)
    model_keys = [model] if model is not None else list(catalog.models)
    return [
        serving_profile(
            catalog,
            deployment(catalog, g, m, precision=precision, engine=engine, gpus=gpus, settings=settings),
            context,
            settings.max_batch,
        )
        for g in gpu_keys
        for m in model_keys
    ]


GpuOption = Annotated[str | None, typer.Option("--gpu", metavar="GPU",
    help="Catalogue GPU (rtx4090, a100-80gb, …); all if omitted.")]
ModelOption = Annotated[str | None, typer.Option("--model", metavar="MODEL",
    help="Catalogue model (llama-3.1-8b, …); all if omitted.")]
PrecisionOption = Annotated[str, typer.Option("--precision", metavar="FORMAT", help="Weight format: fp16, int8, int4.")]
EngineOption = Annotated[str, typer.Option("--engine", metavar="ENGINE",
    help="Serving-engine profile: vllm or llama.cpp.")]
GpusPerServerOption = Annotated[int, typer.Option("--gpus-per-server", metavar="N",
    help="GPUs per server, in tensor parallel.")]
ContextOption = Annotated[
    int | None,
    typer.Option("--context-tokens", metavar="TOKENS",
        help="Cached tokens per conversation (default: the scenario's, else 2,500)."),
]
GpuScenarioOption = Annotated[
    str | None,
    typer.Option("--scenario", "-s", metavar="NAME|FILE",
        help="Take the context length from this scenario's interview."),
]
CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", metavar="FILE", help="A YAML file merged over the shipped GPU catalogue.")
]
MaxBatchOption = Annotated[
    int | None,
    typer.Option("--max-batch", "--max-num-seqs", metavar="N",
        help="Most sequences a server runs at once (default: the engine's)."),
]
BatchedTokensOption = Annotated[
    int | None,
    typer.Option("--max-num-batched-tokens", metavar="TOKENS",
        help="Token budget of one step (default: the engine's)."),
]
UtilizationOption = Annotated[
    float | None,
    typer.Option("--gpu-memory-utilization", metavar="SHARE",
        help="Share of GPU memory the engine may use (default: the engine's)."),
]
MaxModelLenOption = Annotated[
    int | None,
    typer.Option("--max-model-len", metavar="TOKENS",
        help="Longest request, tokens (default: the model's, capped at the KV cache)."),
]
BlockSizeOption = Annotated[int, typer.Option("--block-size", metavar="TOKENS", help="Tokens per KV-cache block.")]
ChunkedOption = Annotated[
    bool,
    typer.Option("--chunked-prefill/--no-chunked-prefill", help="Chunked prefill (off: vLLM V0's whole-prompt steps)."),
]


@app.command()
def gpu(
    *,
    gpu: GpuOption = None,
    model: ModelOption = None,
    precision: PrecisionOption = "fp16",
    engine: EngineOption = "vllm",
    gpus_per_server: GpusPerServerOption = 1,
    context_tokens: ContextOption = None,
    scenario: GpuScenarioOption = None,
    providers: ProvidersOption = None,
    catalog_path: CatalogOption = None,
    max_batch: MaxBatchOption = None,
    max_num_batched_tokens: BatchedTokensOption = None,
    gpu_memory_utilization: UtilizationOption = None,
    max_model_len: MaxModelLenOption = None,
    block_size: BlockSizeOption = 16,
    chunked_prefill: ChunkedOption = True,
    as_json: JsonOption = False,
) -> None:
    """What a GPU × model × weight format serves, and the model's error on published rows.

    For one --gpu and --model: how the memory divides under the engine settings (and whether
    the engine would start with them), KV capacity (tokens, and conversations of the context
    length), tokens/s at batch 1 and at the batch that saturates the server, prefill tokens/s,
    the time to first token of a turn with and without its prefix cached, the efficiencies
    used and the published rows for that pair. Otherwise every catalogue pair matching the
    options, then each engine's fitted constants and the calibration table: every published
    row, fitted or held out, with the model's error and the fit it used, and the rows the
    model does not reproduce.

    Examples:

        capacity gpu

        capacity gpu --gpu rtx4090 --model llama-3.1-8b --precision int4

        capacity gpu --gpu rtx3090 --model llama-3.1-8b --no-chunked-prefill --max-model-len 20000

    Exit status: 0 printed, 2 bad input (including settings the engine would not start with).
    """
    with user_errors():
        config = load(scenario, providers, None) if scenario is not None else None
        # a loaded scenario carries the shipped catalogue already; --catalog merges a user file over it
        catalog = config.gpu_catalog if config is not None and catalog_path is None else load_catalog(catalog_path)
        if gpus_per_server < 1:
            raise UsageError(f"--gpus-per-server must be at least 1, got {gpus_per_server}")
        if max_batch is not None and max_batch < 1:
            raise UsageError(f"--max-batch must be at least 1, got {max_batch}")
        if context_tokens is not None and context_tokens < 1:
            raise UsageError(f"--context-tokens must be at least 1, got {context_tokens}")
        context = context_tokens or (scenario_context_tokens(config) if config is not None else DEFAULT_CONTEXT_TOKENS)
        catalog.precision(precision)
        profile = catalog.engine(engine)
        settings = ServerSettings(
            max_batch=max_batch if max_batch is not None else profile.max_num_seqs,
            max_num_batched_tokens=(
                max_num_batched_tokens
                if max_num_batched_tokens is not None
                else (profile.max_num_batched_tokens if chunked_prefill else None)
            ),
            chunked_prefill=chunked_prefill,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            block_size=block_size,
        )
        profiles = _profiles(
            catalog,
            gpu=gpu,
            model=model,
            precision=precision,
            engine=engine,
            gpus=gpus_per_server,
            context=context,
            settings=settings,
        )
        single = gpu is not None and model is not None
        if single:
            check_startup(profiles[0].deployment, settings)  # settings the engine would refuse: exit 2
        checks = [] if single else check_rows(catalog)
    if single:
        if as_json:
            print_json(profile_json(profiles[0]))
        else:
            render_profile(profiles[0], console)
        return
    if as_json:
        summary = held_out_summary(checks)
        print_json(
            {
                "pairs": [profile_json(p) for p in profiles],
                "fits": fits_json(catalog),
                "calibration": [row_json(c) for c in checks],
                "held_out": None
                if summary is None
                else {
                    "rows": summary.rows,
                    "median_abs_error": round(summary.median, 5),
                    "largest_abs_error": round(summary.largest, 5),
                    "largest_row": summary.largest_row,
                },
                "unmodelled": [r.model_dump() for r in catalog.unmodelled],
            }
        )
        return
    render_pairs(profiles, console)
    render_fits(catalog, console)
    render_calibration(checks, console)
    render_unmodelled(catalog.unmodelled, console)
