"""The engine settings of one inference server: the flags an operator passes to vLLM.

``max_batch`` (vLLM's ``max_num_seqs``), ``max_num_batched_tokens``, chunked prefill,
``gpu_memory_utilization``, ``max_model_len``, the KV-cache block size and prefix caching.
Settings left at ``None`` take the engine profile's default (see
:meth:`ServerSettings.resolved`); the memory they leave for the KV cache, and whether the
server would start at all, is :func:`capacity.gpu.roofline.memory_budget`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from capacity.config.gpus import EngineProfile
from capacity.errors import UsageError

KvReservation = Literal["grow", "full"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The engine's scheduler limits and memory settings (None: the engine's default)."""

    max_batch: int = 256
    max_num_batched_tokens: int | None = 2048
    chunked_prefill: bool = True
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    block_size: int = 16
    prefix_caching: bool | None = None
    kv_reservation: KvReservation | None = None

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise UsageError(f"max_batch must be at least 1, got {self.max_batch}")
        if self.max_num_batched_tokens is not None and self.max_num_batched_tokens < self.max_batch:
            raise UsageError(
                f"max_num_batched_tokens ({self.max_num_batched_tokens}) must be at least max_batch "
                f"({self.max_batch})"
            )
        if self.gpu_memory_utilization is not None and not 0 < self.gpu_memory_utilization <= 1:
            raise UsageError(f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        if self.max_model_len is not None and self.max_model_len < 2:
            raise UsageError(f"max_model_len must be at least 2 tokens, got {self.max_model_len}")
        if self.block_size < 1:
            raise UsageError(f"block_size must be at least 1, got {self.block_size}")

    @property
    def step_token_budget(self) -> int:
        """Tokens one step may process (resolved settings only).

        Unset without chunked prefill, vLLM V0's rule: max(max_model_len, 2048), so the longest
        prompt fits one prefill step.
        """
        if self.max_num_batched_tokens is not None:
            return self.max_num_batched_tokens
        if not self.chunked_prefill and self.max_model_len is not None:
            return max(self.max_model_len, 2048)
        return 2048

    def resolved(self, engine: EngineProfile) -> ServerSettings:
        """These settings with every None replaced by the engine's default (max_model_len stays
        None: its default depends on the memory left, see ``memory_budget``)."""
        return replace(
            self,
            gpu_memory_utilization=(
                engine.gpu_memory_utilisation if self.gpu_memory_utilization is None else self.gpu_memory_utilization
            ),
            prefix_caching=engine.prefix_caching if self.prefix_caching is None else self.prefix_caching,
            kv_reservation=engine.kv_reservation if self.kv_reservation is None else self.kv_reservation,
        )

    @classmethod
    def engine_defaults(cls, engine: EngineProfile) -> ServerSettings:
        """What the engine runs with when given no flags."""
        return cls(
            max_batch=engine.max_num_seqs, max_num_batched_tokens=engine.max_num_batched_tokens
        ).resolved(engine)
