"""The roofline of one inference server: how long a batching step takes, how much KV fits.

A decoder reads all of its weights once per step, whatever the batch, and each sequence's
key/value cache; it computes about 2 FLOPs per parameter per token processed, plus the
attention scores. A step therefore takes

    step time = (bytes read ÷ (η_bw · bandwidth) + FLOPs ÷ (η_c · peak FLOPS)) ÷ speed-up
                + o₀ + o₁ · sequences in the step

where *bytes read* = weight bytes + KV bytes of every context token the step attends to,
*FLOPs* = 2 · params · tokens processed + 4 · layers · d_model · (query × key token pairs,
causal), η are the engine's efficiencies on this class of GPU (η_bw also scaled by the
weight format's kernels; the peak is the FP8 one for FP8 GEMMs on cards that have it, and
the fp16-accumulate one for engines whose GEMMs accumulate in fp16), the speed-up of n GPUs
in tensor parallel is n × efficiency (1 for one GPU), and o₀ + o₁·n is the engine's CPU
time per step (scheduling and launches, then sampling and bookkeeping per sequence), which
does not shrink with a faster GPU. Prefill of many tokens is compute-bound; decode, one
token per sequence, is memory-bound at small batches.

The two times add rather than overlap (a roofline's max): a step is a sequence of kernels —
GEMMs that read the weights, attention that reads the KV cache — and at the batches served
(tens to hundreds of sequences) a GEMM is neither purely memory- nor compute-bound. Fitted
on the published concurrency sweeps, the sum reproduces both the near-linear growth of
throughput at small batches and its bend at large ones (a max keeps rising until the
ridge); the efficiencies absorb the overlap that does happen.

Memory, as vLLM accounts it (:func:`memory_budget`): the engine may use
``gpu_memory_utilization`` of what the runtime reports; from that go the weights, the
activations of a profiling step of ``max_num_batched_tokens`` tokens (the feed-forward
peak: gate and up projections, their product and three hidden-size buffers, at 2 bytes —
2 · 3 · (mlp + d_model) bytes a token) and a fixed runtime reserve; the rest, in whole
blocks of ``block_size`` tokens at 2 · layers · KV heads · head size · bytes per element a
token, is the KV cache. TensorRT-LLM instead gives the KV cache a share of what is free
after weights and activations. A server whose weights do not fit, or whose cache cannot
hold one request of ``max_model_len`` tokens, does not start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capacity.config.gpus import EngineProfile, GpuCatalog, GpuSpec, ModelShape, PrecisionSpec
from capacity.errors import UsageError
from capacity.gpu.settings import ServerSettings

GB = 1e9
GIB = 2**30
TFLOPS = 1e12
ACTIVATION_BYTES_PER_ELEMENT = 2.0  # fp16/bf16 activations, whatever the weight format


@dataclass(frozen=True, slots=True)
class EfficiencyChoice:
    """The efficiencies a deployment runs at, and where they come from."""

    bandwidth: float
    compute: float
    key: str  # the engine's efficiencies entry used (a GPU class or a memory type)
    fitted_on: tuple[str, ...]  # benchmark rows behind the values; empty when derived
    note: str


def choose_efficiency(catalog: GpuCatalog, engine_key: str, gpu: GpuSpec) -> EfficiencyChoice:
    """The engine's efficiencies on ``gpu``'s class (or memory type), derived entries resolved.

    Raises UsageError when the engine has none for the card.
    """
    engine = catalog.engine(engine_key)
    key = engine.efficiency_key(gpu)
    if key is None:
        raise UsageError(
            f"engine {engine_key!r} has no efficiencies for GPU class {gpu.gpu_class!r} "
            f"(known: {', '.join(sorted(engine.efficiencies))}); add one in a --catalog file"
        )
    return resolve_efficiency(catalog, engine_key, key)


def resolve_efficiency(catalog: GpuCatalog, engine_key: str, key: str, depth: int = 0) -> EfficiencyChoice:
    """The values of one efficiencies entry of an engine, taking what it leaves out from ``same_as``."""
    engine = catalog.engine(engine_key)
    eff = engine.efficiencies[key]
    if eff.same_as is None:
        assert eff.bandwidth is not None and eff.compute is not None  # checked by the model
        return EfficiencyChoice(eff.bandwidth, eff.compute, key, tuple(eff.fitted_on), eff.note)
    if depth > 4:
        raise UsageError(f"engine {engine_key!r}: efficiencies refer to each other in a loop at {key!r}")
    base = resolve_efficiency(catalog, engine_key, eff.same_as, depth + 1)
    compute = eff.compute if eff.compute is not None else base.compute
    if eff.compute_ratio_of is not None:
        other = catalog.engine(eff.compute_ratio_of)
        here = resolve_efficiency(catalog, eff.compute_ratio_of, key, depth + 1)
        there = resolve_efficiency(catalog, eff.compute_ratio_of, eff.same_as, depth + 1)
        assert key in other.efficiencies  # checked when the catalogue is loaded
        compute = base.compute * here.compute / there.compute
    bandwidth = eff.bandwidth if eff.bandwidth is not None else base.bandwidth
    return EfficiencyChoice(bandwidth, min(compute, 1.0), key, tuple(eff.fitted_on), eff.note)


@dataclass(frozen=True, slots=True)
class MemoryBudget:
    """How one server's memory divides, all GPUs together (bytes), and whether it starts."""

    usable_bytes: float  # the engine's share of the memory the runtime reports
    weight_bytes: float
    activation_bytes: float  # the profiling step's peak
    runtime_bytes: float
    kv_bytes: float
    block_size: int
    blocks: int
    max_model_len: int  # as given, or the default: the model's context capped at the cache
    problem: str | None  # why the engine would refuse to start; None if it starts

    @property
    def kv_tokens(self) -> int:
        """Tokens the KV cache holds (whole blocks)."""
        return self.blocks * self.block_size


@dataclass(frozen=True, slots=True)
class Deployment:
    """One copy of a model served on ``gpus`` GPUs of one server, by one engine."""

    gpu_key: str
    model_key: str
    precision_key: str
    engine_key: str
    gpu: GpuSpec
    model: ModelShape
    precision: PrecisionSpec
    engine: EngineProfile
    efficiency: EfficiencyChoice
    gpus: int = 1
    kv_bytes_per_element: float = 2.0
    settings: ServerSettings = field(default_factory=ServerSettings)

    @property
    def label(self) -> str:
        """``rtx4090×1 llama-3.1-8b fp16 (vllm)``."""
        return f"{self.gpu_key}×{self.gpus} {self.model_key} {self.precision_key} ({self.engine_key})"

    @property
    def params(self) -> float:
        """Parameters of the model."""
        return self.model.params_b * 1e9

    @property
    def weight_bytes(self) -> float:
        """Bytes of weights held (and read every step), all GPUs together."""
        return self.params * self.precision.bytes_per_param

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one context token occupies: 2 · layers · KV heads · head size · bytes."""
        m = self.model
        return 2.0 * m.layers * m.kv_heads * m.head_dim * self.kv_bytes_per_element

    @property
    def activation_bytes_per_token(self) -> float:
        """Peak activation bytes per token of a step, per GPU: 2 · 3 · (mlp ÷ GPUs + d_model)."""
        m = self.model
        return ACTIVATION_BYTES_PER_ELEMENT * 3.0 * (m.mlp_dim / self.gpus + m.d_model)

    def memory(self, settings: ServerSettings | None = None) -> MemoryBudget:
        """How the memory divides under ``settings`` (default: the deployment's own)."""
        return memory_budget(self, settings or self.settings)

    @property
    def kv_capacity_tokens(self) -> int:
        """Context tokens the KV cache holds with the deployment's settings (0 if the weights do not fit)."""
        return self.memory().kv_tokens

    @property
    def fits(self) -> bool:
        """Whether the weights fit and leave some room for KV cache."""
        return self.kv_capacity_tokens > 0

    @property
    def speedup(self) -> float:
        """Speed-up of tensor parallelism over one GPU: n × efficiency for n > 1."""
        return 1.0 if self.gpus == 1 else self.gpus * self.engine.tensor_parallel_efficiency

    @property
    def effective_bandwidth(self) -> float:
        """Bytes/s one GPU's decode kernels reach: η_bw × format factor × peak."""
        return (
            self.gpu.memory_bandwidth_gb_per_s * GB * self.efficiency.bandwidth * self.precision.bandwidth_factor
        )

    @property
    def peak_tflops(self) -> float:
        """The tensor peak the GEMMs run at: FP8 for FP8 formats on cards with FP8 tensor cores, else
        FP16 (with fp16 accumulation for engines that use it, on cards where that is faster)."""
        if self.precision.compute == "fp8" and self.gpu.fp8_tflops is not None:
            return self.gpu.fp8_tflops
        if self.engine.fp16_accumulate and self.gpu.fp16_accumulate_tflops is not None:
            return self.gpu.fp16_accumulate_tflops
        return self.gpu.fp16_tflops

    @property
    def effective_flops(self) -> float:
        """FLOP/s one GPU's GEMMs reach: η_c × peak."""
        return self.peak_tflops * TFLOPS * self.efficiency.compute

    @property
    def overhead_s(self) -> float:
        """Fixed CPU time per scheduler step, s."""
        return self.engine.step_overhead_s

    @property
    def overhead_per_sequence_s(self) -> float:
        """CPU time per sequence in a step, s."""
        return self.engine.step_overhead_per_sequence_s

    def step_overhead_s(self, sequences: int) -> float:
        """CPU time of a step carrying ``sequences`` sequences, s."""
        return self.engine.step_overhead_s + self.engine.step_overhead_per_sequence_s * sequences

    @property
    def bandwidth_ceiling_tokens_per_s(self) -> float:
        """The physical limit of one stream: peak bandwidth of all GPUs ÷ weight bytes, tokens/s."""
        return self.gpus * self.gpu.memory_bandwidth_gb_per_s * GB / self.weight_bytes

    # The step-time model. Linear coefficients are exposed so the fast server can sum
    # thousands of decode steps in closed form with exactly the same arithmetic.

    def memory_time_s(self, kv_read_tokens: float) -> float:
        """Time to stream the weights and ``kv_read_tokens`` of KV cache, before the speed-up, s."""
        return (self.weight_bytes + self.kv_bytes_per_token * kv_read_tokens) / self.effective_bandwidth

    def compute_time_s(self, new_tokens: float, attention_pairs: float) -> float:
        """Time to run ``new_tokens`` through the weights and score the attention pairs (no speed-up), s."""
        flops = (
            2.0 * self.params * new_tokens + 4.0 * self.model.layers * self.model.d_model * attention_pairs
        )
        return flops / self.effective_flops

    def step_time_s(
        self, new_tokens: float, kv_read_tokens: float, attention_pairs: float, sequences: int | None = None
    ) -> float:
        """Duration of one batching step, s.

        ``new_tokens``: tokens processed (one per decoding sequence plus prefill tokens);
        ``kv_read_tokens``: cached context tokens the step reads; ``attention_pairs``: query ×
        key token pairs scored (a decoding sequence with c cached tokens scores c pairs; a
        prefill chunk of n tokens after p cached ones scores n · p + n (n + 1) ÷ 2, causally);
        ``sequences``: sequences in the step (default ``new_tokens``, a pure decode step).
        """
        busy = self.memory_time_s(kv_read_tokens) + self.compute_time_s(new_tokens, attention_pairs)
        n = round(new_tokens) if sequences is None else sequences
        return busy / self.speedup + self.step_overhead_s(n)

    def prefill_time_s(self, prompt_tokens: int, cached_tokens: int = 0) -> float:
        """One prompt alone through one step (no chunking, nothing else batched), s.

        ``cached_tokens`` of its prefix are already in the KV cache (prefix caching): only the
        rest is computed, attending to them as well.
        """
        n = prompt_tokens - cached_tokens
        return self.step_time_s(n, float(cached_tokens), causal_pairs(cached_tokens, n), sequences=1)

    def decode_step_time_s(self, batch: int, context_tokens: float) -> float:
        """One decode step of ``batch`` sequences with ``context_tokens`` cached each, s."""
        read = batch * context_tokens
        return self.step_time_s(batch, read, read)

    def decode_tokens_per_s(self, batch: int, context_tokens: float) -> float:
        """Output tokens/s of ``batch`` sequences decoding together at a given context."""
        return batch / self.decode_step_time_s(batch, context_tokens)

    def generation_time_s(self, output_tokens: int, start_context: int = 0) -> float:
        """One stream generating ``output_tokens`` after ``start_context`` cached ones, s (llama-bench tg)."""
        return sum(self.decode_step_time_s(1, start_context + i) for i in range(output_tokens))


def causal_pairs(cached: float, new: float) -> float:
    """Query × key pairs a chunk of ``new`` tokens scores after ``cached`` ones, causally masked."""
    return new * cached + new * (new + 1) / 2.0


def memory_budget(dep: Deployment, settings: ServerSettings) -> MemoryBudget:
    """How ``dep``'s memory divides under ``settings``, and the reason it would not start, if any.

    See the module docstring for the rules; the figures are for all GPUs of the server.
    """
    s = settings.resolved(dep.engine)
    n = dep.gpus
    engine = dep.engine
    assert s.gpu_memory_utilization is not None
    visible = dep.gpu.visible_memory_bytes
    budget_tokens = s.step_token_budget
    activation = dep.activation_bytes_per_token * budget_tokens
    runtime = engine.runtime_overhead_gib * GIB
    if engine.kv_memory_basis == "total":
        usable = s.gpu_memory_utilization * visible
        kv_per_gpu = usable - dep.weight_bytes / n - activation - runtime
    else:
        usable = visible
        kv_per_gpu = s.gpu_memory_utilization * (visible - dep.weight_bytes / n - activation - runtime)
    block_bytes = s.block_size * dep.kv_bytes_per_token / n
    blocks = max(0, math.floor(kv_per_gpu / block_bytes))
    kv_tokens = blocks * s.block_size
    context = dep.model.max_context_tokens
    max_len = s.max_model_len if s.max_model_len is not None else min(context, kv_tokens)
    problem: str | None = None
    if kv_per_gpu <= 0 or blocks == 0:
        problem = (
            f"no memory left for the KV cache: {dep.weight_bytes / n / GB:.2f} GB of weights, "
            f"{activation / GB:.2f} GB of activations for a {budget_tokens:,}-token step and "
            f"{runtime / GB:.2f} GB of runtime per GPU against {usable / GB:.2f} GB usable "
            f"(gpu_memory_utilization {s.gpu_memory_utilization:g})"
        )
    elif s.max_model_len is not None and s.max_model_len > context:
        problem = f"max_model_len {s.max_model_len:,} is longer than {dep.model.name}'s context of {context:,} tokens"
    elif not s.chunked_prefill and s.max_model_len is not None and budget_tokens < s.max_model_len:
        problem = (
            f"max_num_batched_tokens ({budget_tokens:,}) is smaller than max_model_len ({s.max_model_len:,}) "
            "without chunked prefill: longer prompts could never be scheduled"
        )
    elif max_len > kv_tokens:
        problem = (
            f"max_model_len {max_len:,} is longer than the {kv_tokens:,} tokens the KV cache holds "
            f"({blocks:,} blocks of {s.block_size}); raise gpu_memory_utilization or lower max_model_len"
        )
    return MemoryBudget(
        usable_bytes=n * usable,
        weight_bytes=dep.weight_bytes,
        activation_bytes=n * activation,
        runtime_bytes=n * runtime,
        kv_bytes=n * max(0.0, kv_per_gpu),
        block_size=s.block_size,
        blocks=blocks,
        max_model_len=max_len,
        problem=problem,
    )


def check_startup(dep: Deployment, settings: ServerSettings) -> MemoryBudget:
    """The memory budget of a server that starts; UsageError naming the reason if it would not."""
    budget = memory_budget(dep, settings)
    if budget.problem is not None:
        raise UsageError(f"{dep.label} would not start: {budget.problem}")
    return budget


def deployment(
    catalog: GpuCatalog,
    gpu: str,
    model: str,
    *,
    precision: str = "fp16",
    engine: str = "vllm",
    gpus: int = 1,
    settings: ServerSettings | None = None,
) -> Deployment:
    """Resolve catalogue keys into a Deployment; unknown keys raise UsageError.

    ``settings`` default to the engine's (its max_num_seqs, token budget, memory share).
    """
    if gpus < 1:
        raise UsageError(f"gpus per server must be at least 1, got {gpus}")
    gpu_spec = catalog.gpu(gpu)
    prec = catalog.precision(precision)
    eng = catalog.engine(engine)
    kv_element = prec.kv_cache_bytes_per_element or catalog.kv_cache_bytes_per_element
    return Deployment(
        gpu_key=gpu,
        model_key=model,
        precision_key=precision,
        engine_key=engine,
        gpu=gpu_spec,
        model=catalog.model(model),
        precision=prec,
        engine=eng,
        efficiency=choose_efficiency(catalog, engine, gpu_spec),
        gpus=gpus,
        kv_bytes_per_element=kv_element,
        settings=settings if settings is not None else ServerSettings.engine_defaults(eng),
    )
