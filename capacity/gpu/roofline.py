"""The roofline of one inference server: how long a batching step takes, how much KV fits.

A decoder reads all of its weights once per step, whatever the batch, and each sequence's
key/value cache; it computes about 2 FLOPs per parameter per token processed, plus the
attention scores. A step therefore takes

    step time = max(bytes read ÷ (η_bw · bandwidth), FLOPs ÷ (η_c · peak FLOPS)) ÷ speed-up + overhead

where *bytes read* = weight bytes + KV bytes of every context token the step attends to,
*FLOPs* = 2 · params · tokens processed + 4 · layers · d_model · (query × key token pairs),
η are the engine's calibrated efficiencies (η_bw also scaled by the weight format's kernels),
the speed-up of n GPUs in tensor parallel is n × efficiency (1 for one GPU), and the overhead
is a fixed cost per scheduler step. Prefill of many tokens is compute-bound; decode, one
token per sequence, is memory-bound until the batch nears the ridge point FLOPS ÷ bandwidth.

KV capacity = (VRAM · utilisation − weights − activation reserve) ÷ KV bytes per token, with
KV bytes per token = 2 (keys and values) · layers · KV heads · head size · bytes per element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.config.gpus import EngineProfile, GpuCatalog, GpuSpec, ModelShape, PrecisionSpec
from capacity.errors import UsageError

GB = 1e9
TFLOPS = 1e12


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
    gpus: int = 1
    kv_bytes_per_element: float = 2.0

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
    def usable_memory_bytes(self) -> float:
        """Memory the engine may use, all GPUs together, minus the activation reserve."""
        per_gpu = self.gpu.vram_gb * self.engine.gpu_memory_utilisation - self.engine.activation_overhead_gb
        return self.gpus * per_gpu * GB

    @property
    def kv_capacity_tokens(self) -> int:
        """Context tokens the KV cache holds once the weights are loaded (0 if they do not fit)."""
        free = self.usable_memory_bytes - self.weight_bytes
        return max(0, math.floor(free / self.kv_bytes_per_token))

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
            self.gpu.memory_bandwidth_gb_per_s
            * GB
            * self.engine.bandwidth_efficiency
            * self.precision.bandwidth_factor
        )

    @property
    def effective_flops(self) -> float:
        """FLOP/s one GPU's GEMMs reach: η_c × fp16 peak."""
        return self.gpu.fp16_tflops * TFLOPS * self.engine.compute_efficiency

    @property
    def overhead_s(self) -> float:
        """Fixed time per scheduler step, s."""
        return self.engine.step_overhead_s

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

    def step_time_s(self, new_tokens: float, kv_read_tokens: float, attention_pairs: float) -> float:
        """Duration of one batching step, s.

        ``new_tokens``: tokens processed (one per decoding sequence plus prefill tokens);
        ``kv_read_tokens``: cached context tokens the step reads; ``attention_pairs``: query ×
        key token pairs scored (a decoding sequence with c cached tokens scores c pairs; a
        prefill chunk of n tokens after p cached ones scores n · (p + n)).
        """
        busy = max(self.memory_time_s(kv_read_tokens), self.compute_time_s(new_tokens, attention_pairs))
        return busy / self.speedup + self.overhead_s

    def prefill_time_s(self, prompt_tokens: int) -> float:
        """One prompt alone through one step (no chunking, nothing else batched), s."""
        return self.step_time_s(prompt_tokens, 0.0, float(prompt_tokens) * prompt_tokens)

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


def deployment(
    catalog: GpuCatalog, gpu: str, model: str, *, precision: str = "fp16", engine: str = "vllm", gpus: int = 1
) -> Deployment:
    """Resolve catalogue keys into a Deployment; unknown keys raise UsageError."""
    if gpus < 1:
        raise UsageError(f"gpus per server must be at least 1, got {gpus}")
    return Deployment(
        gpu_key=gpu,
        model_key=model,
        precision_key=precision,
        engine_key=engine,
        gpu=catalog.gpu(gpu),
        model=catalog.model(model),
        precision=catalog.precision(precision),
        engine=catalog.engine(engine),
        gpus=gpus,
        kv_bytes_per_element=catalog.kv_cache_bytes_per_element,
    )
