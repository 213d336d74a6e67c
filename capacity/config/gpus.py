"""The GPU and open-model catalogue, and the self-hosted GPU pools a scenario may use.

The catalogue (``capacity/config/data/gpus.yaml``, shipped with the package) holds:

* **gpus** — datasheet figures per card: VRAM (and what the runtime reports of it), memory
  bandwidth, dense FP16 and FP8 tensor throughput (with FP32 accumulation, what vLLM and
  PyTorch kernels get), board power, purchase and rental prices, and the card's efficiency
  class (architecture and memory type: ``ada-gddr``, ``hopper-hbm``, …);
* **models** — the shape of each dense decoder (parameters, layers, KV heads, head size,
  model width, feed-forward size), which fixes its weight bytes, its KV-cache bytes per
  token and its activation memory;
* **precisions** — bytes per weight of each weight format (fp16, fp8, int8, int4), the
  tensor format its GEMMs run in, its KV-cache element size and how much of the memory
  bandwidth its kernels deliver relative to fp16;
* **engines** — each serving engine at a stated version: per-step CPU overhead (fixed and
  per sequence), the shares of peak bandwidth and peak FLOPS it reaches on each class of
  GPU (each entry naming the rows it was fitted on), its memory rules and scheduler;
* **benchmarks** — published throughput measurements the model is calibrated on or
  checked against (each marked ``calibrate`` or ``hold_out``), and **unmodelled** —
  published measurements the model cannot reproduce, with the reason.

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

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from capacity.config.base import Model
from capacity.config.yamldoc import YamlDocument, deep_merge, read_yaml, validate
from capacity.errors import ConfigError, UsageError

CATALOG_RESOURCE = "gpus.yaml"


MemoryType = Literal["gddr", "hbm"]
DRIVER_RESERVED_GIB = 0.42
"""Memory the driver keeps on a card: an RTX 3090's 24 GiB shows as 23.58 GiB to vLLM (issue 12, case 4)."""


class GpuSpec(Model):
    """One GPU model, as its vendor's datasheet and price lists give it."""

    name: str = Field(description="Display name.")
    architecture: str = Field(description="GPU architecture (ampere, ada, hopper, …): half of the efficiency class.")
    memory_type: MemoryType = Field(
        description="gddr or hbm: the other half of the efficiency class (HBM needs more requests in flight)."
    )
    vram_gb: PositiveFloat = Field(description="Memory on the card, GB as the datasheet writes it (GiB-sized).")
    memory_gib: PositiveFloat | None = Field(
        default=None,
        description="Memory the CUDA runtime reports, GiB (what an engine's memory share applies to); "
        f"none: vram_gb less {DRIVER_RESERVED_GIB} GiB kept by the driver.",
    )
    memory_bandwidth_gb_per_s: PositiveFloat = Field(description="Peak memory bandwidth, GB/s.")
    fp16_tflops: PositiveFloat = Field(
        description="Dense FP16 tensor throughput with FP32 accumulation (no sparsity), TFLOPS."
    )
    fp16_accumulate_tflops: PositiveFloat | None = Field(
        default=None,
        description="Dense FP16 tensor throughput with FP16 accumulation, TFLOPS, where it is higher (GeForce "
        "cards run FP32 accumulation at half rate); none: the same as fp16_tflops.",
    )
    fp8_tflops: PositiveFloat | None = Field(
        default=None,
        description="Dense FP8 tensor throughput with FP32 accumulation, TFLOPS; none: no FP8 tensor cores "
        "(FP8 weights are then widened to fp16 for the GEMMs).",
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

    @property
    def gpu_class(self) -> str:
        """The efficiency class, ``architecture-memory_type`` (``ada-gddr``, ``hopper-hbm``, …)."""
        return f"{self.architecture}-{self.memory_type}"

    @property
    def visible_memory_bytes(self) -> float:
        """Bytes the CUDA runtime reports for the card (vLLM's ``total_gpu_memory``)."""
        gib = self.memory_gib if self.memory_gib is not None else self.vram_gb - DRIVER_RESERVED_GIB
        return gib * 2**30


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
    compute: Literal["fp16", "fp8"] = Field(
        default="fp16",
        description="Tensor-core format the GEMMs run in: fp8 uses the card's FP8 peak where it has one; "
        "weight-only formats (int8, int4) widen to fp16.",
    )
    kv_cache_bytes_per_element: PositiveFloat | None = Field(
        default=None,
        description="Bytes per cached key or value element with this format (1: an FP8 KV cache, as "
        "TensorRT-LLM sets with FP8 weights); none: the catalogue's default.",
    )
    source: str = Field(description="Where the size comes from and how the factor was obtained.")


class Efficiency(Model):
    """What share of the peaks one engine reaches on one class of GPU, and how that was learnt."""

    bandwidth: float | None = Field(
        default=None, gt=0, le=1, description="η_bw: share of peak memory bandwidth decode reaches at fp16."
    )
    compute: float | None = Field(
        default=None, gt=0, le=1, description="η_c: share of the tensor peak that prefill GEMMs reach."
    )
    fitted_on: list[str] = Field(
        default_factory=list, description="Benchmark row ids the values were fitted on (empty: not fitted)."
    )
    same_as: str | None = Field(
        default=None, description="Take the values not given here from this entry of the same engine …"
    )
    compute_ratio_of: str | None = Field(
        default=None,
        description="… with η_c scaled by this engine's ratio between the two classes (compute does not "
        "carry across architectures as a share of peak).",
    )
    note: str = Field(default="", description="Why these values, in a few words.")

    @model_validator(mode="after")
    def _values_or_source(self) -> Efficiency:
        if self.same_as is None and (self.bandwidth is None or self.compute is None):
            raise ValueError("give bandwidth and compute, or same_as (a class to take the missing ones from)")
        if self.compute_ratio_of is not None and (self.same_as is None or self.compute is not None):
            raise ValueError("compute_ratio_of scales the compute taken from same_as: give same_as, not compute")
        return self


class EngineProfile(Model):
    """A serving engine at one version: its calibrated constants, memory rules and scheduler."""

    name: str = Field(description="Display name.")
    version: str = Field(description="Engine version(s) the constants were measured on.")
    step_overhead_s: NonNegativeFloat = Field(
        description="Fixed CPU time per scheduler step (scheduling, launches, sampling set-up), s."
    )
    step_overhead_per_sequence_s: NonNegativeFloat = Field(
        default=0.0, description="CPU time per sequence in a step (sampling, detokenising, bookkeeping), s."
    )
    fp16_accumulate: bool = Field(
        default=False,
        description="Whether the engine's fp16 GEMMs accumulate in fp16 (llama.cpp's cuBLAS path), so they "
        "run at the card's fp16_accumulate_tflops.",
    )
    efficiencies: dict[str, Efficiency] = Field(
        min_length=1,
        description="By GPU class (architecture-memory, e.g. ada-gddr) or memory type alone (gddr, hbm).",
    )
    gpu_memory_utilisation: float = Field(
        gt=0, le=1, description="Share of memory the engine may use (vLLM's gpu_memory_utilization)."
    )
    kv_memory_basis: Literal["total", "free"] = Field(
        default="total",
        description="total: the share is of the card's memory and covers weights, activations and KV cache "
        "(vLLM); free: the share is of what is left after weights and activations (TensorRT-LLM's "
        "kv_cache_free_gpu_mem_fraction).",
    )
    runtime_overhead_gib: NonNegativeFloat = Field(
        description="Memory per GPU outside weights, activations and KV cache (CUDA context, sampler "
        "buffers), GiB."
    )
    kv_reservation: Literal["grow", "full"] = Field(
        default="grow",
        description="grow: a sequence holds KV for its tokens so far and is preempted if the cache runs out "
        "(vLLM, SGLang); full: room for prompt + all output is reserved at admission, never preempted "
        "(TensorRT-LLM's guaranteed-no-evict).",
    )
    max_num_seqs: PositiveInt = Field(default=256, description="Default most sequences in a step.")
    max_num_batched_tokens: PositiveInt = Field(default=2048, description="Default token budget of a step.")
    prefix_caching: bool = Field(
        default=True, description="Whether the engine keeps finished requests' KV blocks for reuse by default."
    )
    tensor_parallel_efficiency: float = Field(
        gt=0,
        le=1,
        description="n GPUs in tensor parallel run n × this faster than one (n > 1; all-reduce costs).",
    )
    source: str = Field(description="How these constants were obtained.")

    def efficiency_key(self, gpu: GpuSpec) -> str | None:
        """The key of ``efficiencies`` that covers ``gpu``: its class, else its memory type; None if neither."""
        for key in (gpu.gpu_class, gpu.memory_type):
            if key in self.efficiencies:
                return key
        return None


class BenchmarkRow(Model):
    """One published throughput measurement, and how to reproduce its workload."""

    id: str = Field(description="Short unique name of the row.")
    gpu: str = Field(description="Catalogue GPU key.")
    model: str = Field(description="Catalogue model key (the model the row measured, or its twin in shape).")
    precision: str = Field(description="Catalogue precision key.")
    engine: str = Field(description="Catalogue engine key.")
    kind: Literal["decode", "prefill", "closed_loop", "offline"] = Field(
        description="decode: one stream generating output_tokens after prompt_tokens (llama-bench tg); "
        "prefill: one prompt of prompt_tokens (llama-bench pp); closed_loop: `concurrency` clients "
        "each sending prompt_tokens in / output_tokens out, back to back (vllm bench serve "
        "--max-concurrency); offline: `requests` queued at once, the engine picks the batch (trtllm-bench)."
    )
    prompt_tokens: NonNegativeInt = Field(default=0, description="Prompt length, tokens.")
    output_tokens: NonNegativeInt = Field(default=0, description="Output length, tokens.")
    concurrency: PositiveInt = Field(default=1, description="Requests in flight (closed_loop).")
    requests: PositiveInt | None = Field(
        default=None, description="Requests in the run (closed_loop: none → 16 per client; offline: required)."
    )
    max_batch: PositiveInt | None = Field(
        default=None, description="The engine's max batch in the run; none: the engine's default."
    )
    max_num_batched_tokens: PositiveInt | None = Field(
        default=None, description="The engine's token budget per step in the run; none: the engine's default."
    )
    measured_tokens_per_s: PositiveFloat = Field(
        description="Published figure: output tokens/s (decode, closed_loop, offline) or prompt tokens/s (prefill)."
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
        if self.kind == "offline" and self.requests is None:
            raise ValueError("an offline row needs requests (how many were queued)")
        return self


class UnmodelledRow(Model):
    """A published measurement the model cannot reproduce, kept in view with the reason."""

    id: str = Field(description="Short unique name of the row.")
    setup: str = Field(description="GPU, engine and version, model, precision, as published.")
    workload: str = Field(description="What was run, as published.")
    result: str = Field(description="The published result, with its unit.")
    reason: str = Field(description="Why the model does not reproduce it.")
    source: str = Field(description="Where it was published.")


class GpuCatalog(Model):
    """The whole catalogue file: GPUs, models, weight formats, engines and benchmark rows."""

    kv_cache_bytes_per_element: PositiveFloat = Field(
        default=2.0, description="Bytes per cached key or value element (2: fp16 KV cache)."
    )
    gpus: dict[str, GpuSpec] = Field(min_length=1, description="GPUs by key.")
    models: dict[str, ModelShape] = Field(min_length=1, description="Models by key.")
    precisions: dict[str, PrecisionSpec] = Field(min_length=1, description="Weight formats by key.")
    engines: dict[str, EngineProfile] = Field(min_length=1, description="Serving engines by key.")
    benchmarks: list[BenchmarkRow] = Field(
        default_factory=list, description="Published measurements the model reproduces."
    )
    unmodelled: list[UnmodelledRow] = Field(
        default_factory=list, description="Published measurements the model does not reproduce, with the reason."
    )

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(field path, message) for each row or efficiency naming an unknown key, and each repeated id."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for i, row in enumerate(self.benchmarks):
            if row.id in seen:
                out.append((("benchmarks", i, "id"), f"benchmark id {row.id!r} appears twice"))
            seen.add(row.id)
            for part, message in self._unknown_keys(row):
                out.append((("benchmarks", i, part), message))
        for key, engine in self.engines.items():
            for cls, eff in engine.efficiencies.items():
                where = ("engines", key, "efficiencies", cls)
                if eff.same_as is not None and eff.same_as not in engine.efficiencies:
                    out.append(((*where, "same_as"), f"engine {key!r} has no efficiencies for {eff.same_as!r}"))
                ratio = eff.compute_ratio_of
                if ratio is not None and (
                    ratio not in self.engines
                    or eff.same_as is None
                    or not {cls, eff.same_as} <= set(self.engines[ratio].efficiencies)
                ):
                    out.append(
                        ((*where, "compute_ratio_of"), f"engine {ratio!r} must be known and cover {cls!r} and "
                         f"{eff.same_as!r}")
                    )  # fmt: skip
                for row_id in eff.fitted_on:
                    if row_id not in seen:
                        out.append(((*where, "fitted_on"), f"no benchmark row {row_id!r}"))
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
        default=256,
        validation_alias=AliasChoices("max_batch", "max_num_seqs"),
        description="Most sequences a server runs at once (vLLM's max_num_seqs; either name is accepted).",
    )
    max_num_batched_tokens: PositiveInt = Field(
        default=2048, description="Most tokens (prefill + decode) one scheduler step processes."
    )
    chunked_prefill: bool = Field(
        default=True,
        description="Split long prompts across steps and mix them with decodes (vLLM V1); "
        "false: a step is all prefill or all decode (vLLM V0 without chunking).",
    )
    gpu_memory_utilization: float | None = Field(
        default=None, gt=0, le=1, description="Share of each GPU's memory the engine may use (none: the engine's)."
    )
    max_model_len: PositiveInt | None = Field(
        default=None,
        description="Longest prompt + output a request may have, tokens; the server refuses to start if the "
        "KV cache cannot hold one such request (none: the model's context, capped at what the cache holds).",
    )
    block_size: PositiveInt = Field(default=16, description="Tokens per KV-cache block (vLLM's default 16).")
    prefix_caching: bool | None = Field(
        default=None,
        description="Keep finished requests' KV blocks so a conversation's next turn prefills only its new "
        "tokens (vLLM automatic prefix caching, SGLang RadixAttention); none: the engine's default.",
    )
    affinity_load_factor: float | None = Field(
        default=1.25,
        ge=1,
        description="Conversation affinity: a conversation's turns go to the server that took its last turn "
        "(where its prefix is cached) while that server holds at most this factor times the pool's mean of "
        "outstanding requests, else to the shortest queue (consistent hashing with bounded loads; HAProxy's "
        "hash-balance-factor 125); none: every request joins the shortest queue.",
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
