"""A continuous-batching inference server, as the simulation drives it.

The scheduler is vLLM's, simplified. Time advances in *steps*; at each step boundary:

1. **Room to grow.** Every decoding sequence writes one more token into the KV cache this
   step. If that does not fit, the most recently admitted running sequence is *preempted*
   (its cache is dropped and it returns to the front of the queue, to be recomputed from
   its prompt plus the tokens it already produced) until it fits. A step that preempted
   admits nobody.
2. **Admission.** Waiting requests are admitted first come, first served while the running
   batch is under ``max_batch`` and the KV cache can hold the prompt plus its first output
   token (reserved at admission); the first request that does not fit stops admission.
3. **The step.** With *chunked prefill* every decoding sequence gets one token and the rest
   of the ``max_num_batched_tokens`` budget goes to prompts still being prefilled, oldest
   first, a chunk at a time (admission stops when the budget is spent). Without it, a step
   is either a prefill step (whole prompts of the newly admitted requests, decoders paused)
   or a decode step.

The step's duration comes from the roofline (:meth:`Deployment.step_time_s`). The step that
finishes a prompt emits the first output token (time to first token); each later step
emits one token per sequence; a sequence leaves, freeing its cache, after its last token.

KV accounting is per token (vLLM's 16-token pages waste under one page per sequence, under
1 % at interview context lengths). A request larger than the whole cache is refused.

Two implementations follow this description: :class:`~capacity.gpu.stepped.SteppedServer`
executes every step (the slow reference) and :class:`~capacity.gpu.analytic.AnalyticServer`
sums runs of identical decode steps in closed form between events; they agree to rounding.

The simulation calls :meth:`BatchingServer.submit` at arrivals and
:meth:`BatchingServer.advance` whenever its clock reaches
:meth:`BatchingServer.next_event_time`. The server never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from capacity.errors import UsageError
from capacity.gpu.roofline import Deployment


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished request: when it was submitted, produced its first token and its last, s."""

    request_id: int
    submitted_s: float
    first_token_s: float
    finished_s: float


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The engine's scheduler limits."""

    max_batch: int = 256
    max_num_batched_tokens: int = 2048
    chunked_prefill: bool = True

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise UsageError(f"max_batch must be at least 1, got {self.max_batch}")
        if self.max_num_batched_tokens < self.max_batch:
            raise UsageError(
                f"max_num_batched_tokens ({self.max_num_batched_tokens}) must be at least max_batch "
                f"({self.max_batch})"
            )


class BatchingServer(Protocol):
    """What the simulation needs from a GPU inference server (times in seconds)."""

    def submit(self, now: float, request_id: int, prompt_tokens: int, output_tokens: int) -> None:
        """A request arrives at ``now`` (not earlier than any previous call's ``now``)."""
        ...

    def next_event_time(self) -> float:
        """Absolute time of the next state change (a step boundary where something happens); inf if idle."""
        ...

    def advance(self, now: float) -> list[Completion]:
        """Process everything up to ``now``; the requests finished by then (cheap when nothing is due)."""
        ...

    @property
    def queued(self) -> int:
        """Requests waiting for admission."""
        ...

    @property
    def running(self) -> int:
        """Requests admitted and not finished (prefilling or decoding)."""
        ...


def check_request(deployment: Deployment, prompt_tokens: int, output_tokens: int) -> None:
    """Refuse a request the server could never run: empty, or larger than the whole KV cache."""
    if prompt_tokens < 1 or output_tokens < 1:
        raise UsageError(
            f"a request needs at least one prompt and one output token, got {prompt_tokens}/{output_tokens}"
        )
    if prompt_tokens + output_tokens > deployment.kv_capacity_tokens:
        raise UsageError(
            f"a request of {prompt_tokens:,} + {output_tokens:,} tokens does not fit the "
            f"{deployment.kv_capacity_tokens:,}-token KV cache of {deployment.label}"
        )
