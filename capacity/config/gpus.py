"""The GPU and open-model catalogue, and the self-hosted GPU pools a scenario may use.

The catalogue (``capacity/config/data/gpus.yaml``, shipped with the package) holds:

* **gpus** — datasheet figures per card: VRAM, memory bandwidth, dense FP16 tensor
  throughput (with FP32 accumulation, what vLLM and PyTorch kernels get), board power,
  purchase and rental prices;
* **models** — the shape of each dense decoder (parameters, layers, KV heads, head size,
  model width), which fixes its weight bytes and its KV-cache bytes per token;
* **precisions** — bytes per weight of each weight format (fp16, int8, int4) and how much
  of the memory bandwidth its kernels deliver relative to fp16;
* **engines** — the serving engine's calibrated efficiencies (share of peak bandwidth and
  peak FLOPS reached, fixed overhead per scheduler step) and its memory reservations;
* **benchmarks** — published throughput measurements the model is calibrated on or
  checked against (each marked ``calibrate`` or ``hold_out``).

A user file given with ``--catalog`` is merged over the shipped one key by key, so it can
add a GPU or change one price without repeating the rest. Every mistake is reported with
the file and line it came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from capacity.config.base import Model
from capacity.config.yamldoc import YamlDocument, deep_merge, read_yaml, validate
from capacity.errors import ConfigError, UsageError

CATALOG_RESOURCE = "gpus.yaml"


class GpuSpec(Model):
    """One GPU model, as its vendor's datasheet and price lists give it."""

    name: str = Field(description="Display name.")
    vram_gb: PositiveFloat = Field(description="Memory on the card, GB (as the datasheet writes it).")
    memory_bandwidth_gb_per_s: PositiveFloat = Field(description="Peak memory bandwidth, GB/s.")
    fp16_tflops: PositiveFloat = Field(
        description="Dense FP16 tensor throughput with FP32 accumulation (no sparsity), TFLOPS."
    )
    board_power_w: PositiveFloat = Field(description="Typical board power, W.")
    purchase_usd: NonNegativeFloat | None = Field(
        default=None, description="Purchase price of one card, USD; none where no source gives one."
    )
    rent_usd_per_hour: NonNegativeFloat | None = Field(
        default=None, description="Typical rental price of one card, USD per GPU-hour."
    )
    rent_usd_per_hour_range: tuple[NonNegativeFloat, NonNegativeFloat] | None = Field(
        default=None,
        description="Cheapest and dearest rental price seen (spot to on-demand), USD per GPU-hour.",
    )
    source: str = Field(description="Where these figures come from.")


class ModelShape(Model):
    """The shape of a dense decoder-only transformer, which fixes its memory and compute."""

    name: str = Field(description="Display name.")
    params_b: PositiveFloat = Field(description="Parameters, billions.")
    layers: PositiveInt = Field(description="Transformer layers.")
    d_model: PositiveInt = Field(description="Hidden size (model width).")
    query_heads: PositiveInt = Field(description="Attention query heads.")
    kv_heads: PositiveInt = Field(description="Key/value heads (grouped-query attention).")
    head_dim: PositiveInt = Field(description="Size of one attention head.")
    mlp_dim: PositiveInt = Field(description="Feed-forward inner size.")
    max_context_tokens: PositiveInt = Field(description="Longest context the model accepts, tokens.")
    source: str = Field(description="Where the shape comes from.")


class PrecisionSpec(Model):
    """A weight format: its size per parameter and how well its kernels use the bandwidth."""

    bytes_per_param: PositiveFloat = Field(description="Bytes per weight, scales and zero points included.")
    bandwidth_factor: PositiveFloat = Field(
        le=1.5,
        description="Share of the fp16 kernels' effective bandwidth this format's kernels reach "
        "(dequantisation costs); 1 for fp16.",
    )
    source: str = Field(description="Where the size comes from and how the factor was obtained.")


class EngineProfile(Model):
    """A serving engine's calibrated efficiencies and memory reservations."""

    name: str = Field(description="Display name.")
    bandwidth_efficiency: float = Field(
        gt=0, le=1, description="η_bw: share of peak memory bandwidth decode reaches at fp16."
    )
    compute_efficiency: float = Field(
        gt=0, le=1.2, description="η_c: share of the fp16_tflops peak that prefill reaches."
    )
    step_overhead_s: NonNegativeFloat = Field(
        description="Fixed time per scheduler step (launches, sampling, scheduling), s."
    )
    gpu_memory_utilisation: float = Field(
        gt=0, le=1, description="Share of VRAM the engine may use (vLLM's gpu_memory_utilization)."
    )
    activation_overhead_gb: NonNegativeFloat = Field(
        description="Memory per GPU kept for activations, CUDA graphs and the runtime, GB."
    )
    tensor_parallel_efficiency: float = Field(
        gt=0,
        le=1,
        description="n GPUs in tensor parallel run n × this faster than one (n > 1; all-reduce costs).",
    )
    source: str = Field(description="How these constants were obtained.")


class BenchmarkRow(Model):
    """One published throughput measurement, and how to reproduce its workload."""

    id: str = Field(description="Short unique name of the row.")
    gpu: str = Field(description="Catalogue GPU key.")
    model: str = Field(description="Catalogue model key (the model the row measured, or its twin in shape).")
    precision: str = Field(description="Catalogue precision key.")
    engine: str = Field(description="Catalogue engine key.")
    kind: Literal["decode", "prefill", "closed_loop"] = Field(
        description="decode: one stream generating output_tokens from an empty context (llama-bench tg); "
        "prefill: one prompt of prompt_tokens (llama-bench pp); closed_loop: `concurrency` clients "
        "each sending prompt_tokens in / output_tokens out, back to back (vllm bench serve)."
    )
    prompt_tokens: NonNegativeInt = Field(default=0, description="Prompt length, tokens.")
    output_tokens: NonNegativeInt = Field(default=0, description="Output length, tokens.")
    concurrency: PositiveInt = Field(default=1, description="Requests in flight (closed_loop).")
    measured_tokens_per_s: PositiveFloat = Field(
        description="Published figure: output tokens/s (decode, closed_loop) or prompt tokens/s (prefill)."
    )
    role: Literal["calibrate", "hold_out"] = Field(
        description="calibrate: the constants are fitted to it; hold_out: only checked against."
    )
    source: str = Field(description="Where the figure was published.")

    @model_validator(mode="after")
    def _workload_given(self) -> BenchmarkRow:
        if self.kind == "prefill" and self.prompt_tokens == 0:
            raise ValueError("a prefill row needs prompt_tokens")
        if self.kind != "prefill" and self.output_tokens == 0:
            raise ValueError(f"a {self.kind} row needs output_tokens")
        return self


class GpuCatalog(Model):
    """The whole catalogue file: GPUs, models, weight formats, engines and benchmark rows."""

    kv_cache_bytes_per_element: PositiveFloat = Field(
        default=2.0, description="Bytes per cached key or value element (2: fp16 KV cache)."
    )
    gpus: dict[str, GpuSpec] = Field(min_length=1, description="GPUs by key.")
    models: dict[str, ModelShape] = Field(min_length=1, description="Models by key.")
    precisions: dict[str, PrecisionSpec] = Field(min_length=1, description="Weight formats by key.")
    engines: dict[str, EngineProfile] = Field(min_length=1, description="Serving engines by key.")
    benchmarks: list[BenchmarkRow] = Field(default_factory=list, description="Published measurements.")

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(field path, message) for each benchmark row naming an unknown key or a repeated id."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for i, row in enumerate(self.benchmarks):
            if row.id in seen:
                out.append((("benchmarks", i, "id"), f"benchmark id {row.id!r} appears twice"))
            seen.add(row.id)
            for part, message in self._unknown_keys(row):
                out.append((("benchmarks", i, part), message))
        return out

    def _unknown_keys(self, item: BenchmarkRow | GpuPool) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        tables: tuple[tuple[str, Mapping[str, object]], ...] = (
            ("gpu", self.gpus),
            ("model", self.models),
            ("precision", self.precisions),
            ("engine", self.engines),
        )
        for part, table in tables:
            key = getattr(item, part)
            if key not in table:
                out.append((part, f"unknown {part} {key!r} (known: {', '.join(sorted(table))})"))
        return out

    def gpu(self, key: str) -> GpuSpec:
        """The GPU called ``key``; a UsageError naming the known keys otherwise."""
        return _pick(self.gpus, key, "GPU")

    def model(self, key: str) -> ModelShape:
        """The model called ``key``; a UsageError naming the known keys otherwise."""
        return _pick(self.models, key, "model")

    def precision(self, key: str) -> PrecisionSpec:
        """The weight format called ``key``; a UsageError naming the known keys otherwise."""
        return _pick(self.precisions, key, "precision")

    def engine(self, key: str) -> EngineProfile:
        """The serving engine called ``key``; a UsageError naming the known keys otherwise."""
        return _pick(self.engines, key, "engine")

    def pool_problems(self, pool: GpuPool) -> list[tuple[str, str]]:
        """(field, message) for each catalogue key of ``pool`` that is unknown; empty if all known."""
        return self._unknown_keys(pool)


T = TypeVar("T")


def _pick(table: Mapping[str, T], key: str, what: str) -> T:
    if key not in table:
        raise UsageError(f"unknown {what} {key!r} (known: {', '.join(sorted(table))})")
    return table[key]


class GpuPool(Model):
    """A pool of identical self-hosted inference servers that destinations can point at.

    Each server holds ``gpus_per_server`` GPUs running one copy of the model in tensor
    parallel, behind a continuous-batching engine such as vLLM.
    """

    name: str = Field(description="Name destinations use to refer to this pool.")
    gpu: str = Field(description="Catalogue GPU key (rtx4090, a100-80gb, …).")
    model: str = Field(description="Catalogue model key (llama-3.1-8b, …).")
    precision: str = Field(default="fp16", description="Catalogue weight format key (fp16, int8, int4).")
    engine: str = Field(default="vllm", description="Catalogue serving-engine key.")
    servers: PositiveInt = Field(default=1, description="Servers in the pool.")
    gpus_per_server: PositiveInt = Field(default=1, description="GPUs per server, in tensor parallel.")
    max_batch: PositiveInt = Field(
        default=256, description="Most sequences a server runs at once (max_num_seqs)."
    )
    max_num_batched_tokens: PositiveInt = Field(
        default=2048, description="Most tokens (prefill + decode) one scheduler step processes."
    )
    chunked_prefill: bool = Field(
        default=True,
        description="Split long prompts across steps and mix them with decodes (vLLM V1); "
        "false: a step is all prefill or all decode (vLLM V0 without chunking).",
    )
    ownership: Literal["owned", "rented"] = Field(
        default="owned", description="owned: bought and amortised; rented: paid per GPU-hour."
    )
    purchase_usd_per_gpu: NonNegativeFloat | None = Field(
        default=None, description="Price of one GPU, USD (none: the catalogue's)."
    )
    server_usd: NonNegativeFloat = Field(
        default=0.0, description="Price of one server without its GPUs (chassis, CPU, RAM, PSU), USD."
    )
    amortisation_months: PositiveInt = Field(
        default=36, description="Months over which owned hardware is paid off."
    )
    electricity_usd_per_kwh: NonNegativeFloat = Field(default=0.15, description="Electricity price, USD/kWh.")
    hosting_usd_per_month: NonNegativeFloat = Field(
        default=0.0, description="Rack space, network and upkeep per server, USD/month."
    )
    rent_usd_per_gpu_hour: NonNegativeFloat | None = Field(
        default=None, description="Rental price of one GPU, USD/hour (none: the catalogue's)."
    )
    schedule: Literal["always_on", "business_hours"] = Field(
        default="always_on",
        description="always_on: servers run 24/7; business_hours: rented servers run (and are paid) only "
        "during the scenario's business hours.",
    )

    @model_validator(mode="after")
    def _budget_holds_a_batch(self) -> GpuPool:
        if self.max_num_batched_tokens < self.max_batch:
            raise ValueError(
                f"max_num_batched_tokens ({self.max_num_batched_tokens}) must be at least max_batch "
                f"({self.max_batch}): every running sequence decodes one token per step"
            )
        return self


@contextmanager
def shipped_catalog_path() -> Iterator[Path]:
    """The catalogue file installed with the package, as a real path while the context lasts."""
    with resources.as_file(resources.files("capacity.config") / "data" / CATALOG_RESOURCE) as path:
        yield path


def load_catalog(extra: Path | None = None) -> GpuCatalog:
    """The shipped catalogue, with ``extra`` (a user YAML file) merged over it if given.

    Mappings merge key by key (a user file may change one field of one GPU); lists such as
    ``benchmarks`` are replaced whole. Mistakes raise ConfigError with file and line.
    """
    with shipped_catalog_path() as path:
        doc = read_yaml(path)
    if extra is not None:
        user = read_yaml(extra)
        if user.data is not None:
            lines = dict(doc.lines)
            lines.update({p: loc for p, loc in user.lines.items() if p})
            doc = YamlDocument(user.file, deep_merge(doc.data, user.data), lines)
    catalog = validate(doc, GpuCatalog)
    problems = [doc.problem(path, message) for path, message in catalog.reference_problems()]
    if problems:
        raise ConfigError(problems)
    return catalog
