"""What one GPU × model × weight format can do: the figures ``capacity gpu`` prints.

All figures are for one server (``gpus`` GPUs in tensor parallel) and conversations whose
cached context is ``context_tokens`` long:

* weights and KV-cache capacity, in tokens and in concurrent conversations;
* output tokens/s of one stream (batch 1), never above bandwidth ÷ weight bytes;
* the batch that saturates the server and the output tokens/s there: throughput grows with
  the batch until decode turns compute-bound (the ridge) or the KV cache or ``max_batch``
  stops it — at interview context lengths it is nearly always the KV cache, because each
  sequence's cache read grows with the batch too;
* prefill tokens/s of one prompt of the context's length, and the time to first token of a
  conversation turn whose earlier context is still in the prefix cache;
* how the memory divides (weights, activations, runtime, KV cache) and whether the engine
  would start with these settings;
* the efficiencies used (which engine version and GPU class they were fitted on);
* the published rows measured on this GPU, model and format, against the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from capacity.config.gpus import GpuCatalog
from capacity.gpu.calibration import RowCheck, check_row
from capacity.gpu.roofline import GB, Deployment, MemoryBudget

NEW_TOKENS_PER_TURN = 210
"""Tokens a conversation adds per turn (the candidate's answer and the next question; the facts' ≈210)."""

Limit = Literal["compute", "kv cache", "max batch", "does not fit"]


@dataclass(frozen=True, slots=True)
class ServingProfile:
    """One deployment's serving figures at a given context length."""

    deployment: Deployment
    context_tokens: int
    weights_gb: float
    kv_bytes_per_token: float
    kv_capacity_tokens: int
    concurrent_conversations: int
    bandwidth_ceiling_tokens_per_s: float
    batch1_tokens_per_s: float
    saturating_batch: int
    max_output_tokens_per_s: float
    limited_by: Limit
    prefill_tokens_per_s: float
    cold_turn_ttft_s: float
    cached_turn_ttft_s: float
    memory: MemoryBudget
    published: tuple[RowCheck, ...]

    @property
    def fits(self) -> bool:
        """Whether the weights fit with room for at least one conversation."""
        return self.limited_by != "does not fit"


def ridge_batch(dep: Deployment, context_tokens: float, limit: int) -> int | None:
    """Smallest batch ≤ ``limit`` at which a decode step is compute-bound; None if none is."""
    for batch in range(1, limit + 1):
        read = batch * context_tokens
        if dep.compute_time_s(batch, read) >= dep.memory_time_s(read):
            return batch
    return None


def serving_profile(
    catalog: GpuCatalog, dep: Deployment, context_tokens: int, max_batch: int = 256
) -> ServingProfile:
    """The figures of ``dep`` for conversations of ``context_tokens`` cached tokens."""
    memory = dep.memory()
    kv_tokens = memory.kv_tokens if memory.problem is None else 0
    conversations = kv_tokens // max(1, context_tokens)
    published = tuple(
        check_row(catalog, row)
        for row in catalog.benchmarks
        if (row.gpu, row.model, row.precision) == (dep.gpu_key, dep.model_key, dep.precision_key)
    )
    batch1 = dep.decode_tokens_per_s(1, context_tokens)
    cold = dep.prefill_time_s(context_tokens)
    prefill = context_tokens / cold
    new = min(NEW_TOKENS_PER_TURN, context_tokens)
    cached = dep.prefill_time_s(context_tokens, (context_tokens - new) // memory.block_size * memory.block_size)
    if conversations < 1:
        starts = memory.problem is None
        return ServingProfile(
            dep, context_tokens, dep.weight_bytes / GB, dep.kv_bytes_per_token, kv_tokens, 0,
            dep.bandwidth_ceiling_tokens_per_s, batch1 if starts else 0.0, 0, 0.0, "does not fit",
            prefill if starts else 0.0, cold, cached, memory, published,
        )  # fmt: skip
    limit = min(conversations, max_batch)
    ridge = ridge_batch(dep, context_tokens, limit)
    limited_by: Limit
    if ridge is not None:
        batch, limited_by = ridge, "compute"
    else:
        batch, limited_by = limit, ("kv cache" if conversations <= max_batch else "max batch")
    return ServingProfile(
        deployment=dep,
        context_tokens=context_tokens,
        weights_gb=dep.weight_bytes / GB,
        kv_bytes_per_token=dep.kv_bytes_per_token,
        kv_capacity_tokens=kv_tokens,
        concurrent_conversations=conversations,
        bandwidth_ceiling_tokens_per_s=dep.bandwidth_ceiling_tokens_per_s,
        batch1_tokens_per_s=batch1,
        saturating_batch=batch,
        max_output_tokens_per_s=dep.decode_tokens_per_s(limit, context_tokens),
        limited_by=limited_by,
        prefill_tokens_per_s=prefill,
        cold_turn_ttft_s=cold,
        cached_turn_ttft_s=cached,
        memory=memory,
        published=published,
    )
