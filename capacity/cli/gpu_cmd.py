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
from capacity.gpu.calibration import check_rows
from capacity.gpu.profile import ServingProfile, serving_profile
from capacity.gpu.roofline import deployment
from capacity.report.gpu_tables import (
    profile_json,
    render_calibration,
    render_pairs,
    render_profile,
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
    max_batch: int,
) -> list[ServingProfile]:
    gpu_keys = [gpu] if gpu is not None else list(catalog.gpus)
    model_keys = [model] if model is not None else list(catalog.models)
    return [
        serving_profile(
            catalog,
            deployment(catalog, g, m, precision=precision, engine=engine, gpus=gpus),
            context,
            max_batch,
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
MaxBatchOption = Annotated[int, typer.Option("--max-batch", metavar="N", help="Most sequences a server runs at once.")]


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
    max_batch: MaxBatchOption = 256,
    as_json: JsonOption = False,
) -> None:
    """What a GPU × model × weight format serves, and the model's error on published rows.

    For one --gpu and --model: weights, KV capacity (tokens, and conversations of the
    context length), tokens/s at batch 1 and at the batch that saturates the server, prefill
    tokens/s, and the published rows for that pair. Otherwise every catalogue pair matching
    the options, then the calibration table (every published row, calibrated or held out).

    Examples:

        capacity gpu

        capacity gpu --gpu rtx4090 --model llama-3.1-8b --precision int4

    Exit status: 0 printed, 2 bad input.
    """
    with user_errors():
        config = load(scenario, providers, None) if scenario is not None else None
        # a loaded scenario carries the shipped catalogue already; --catalog merges a user file over it
        catalog = config.gpu_catalog if config is not None and catalog_path is None else load_catalog(catalog_path)
        if gpus_per_server < 1:
            raise UsageError(f"--gpus-per-server must be at least 1, got {gpus_per_server}")
        if max_batch < 1:
            raise UsageError(f"--max-batch must be at least 1, got {max_batch}")
        if context_tokens is not None and context_tokens < 1:
            raise UsageError(f"--context-tokens must be at least 1, got {context_tokens}")
        context = context_tokens or (scenario_context_tokens(config) if config is not None else DEFAULT_CONTEXT_TOKENS)
        catalog.precision(precision)
        catalog.engine(engine)
        profiles = _profiles(
            catalog,
            gpu=gpu,
            model=model,
            precision=precision,
            engine=engine,
            gpus=gpus_per_server,
            context=context,
            max_batch=max_batch,
        )
        single = gpu is not None and model is not None
        checks = [] if single else check_rows(catalog)
    if single:
        if as_json:
            print_json(profile_json(profiles[0]))
        else:
            render_profile(profiles[0], console)
        return
    if as_json:
        print_json({"pairs": [profile_json(p) for p in profiles], "calibration": [row_json(c) for c in checks]})
        return
    render_pairs(profiles, console)
    render_calibration(checks, console)
