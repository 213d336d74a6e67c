"""How many interviews a day one inference server carries: roofline arithmetic, no simulation.

An interview makes ``requests`` API calls carrying, in all, ``input_tokens`` of prompt and
``output_tokens`` of answer; each call is taken as the average one (prompt p, output q).
A server running b calls at once, in steady state, spends per finished call

    one prefill of p − c tokens  +  (q − 1) decode steps of the batch ÷ b

(every step of the batch advances all b calls; c is the part of the prompt found in the
prefix cache — the conversation so far, when its blocks survived the think time — which
needs no prefill), so it finishes R(b) calls per second, and by
Little's law each call takes b ÷ R(b) seconds. The batch is bounded by the KV cache
(capacity ÷ (p + q) calls fit at once), by ``max_batch`` and, if a latency target is given,
by the largest batch whose call latency stays within it. Interviews per day = R(b) ×
utilisation × serving hours × 3600 ÷ calls per interview.

This is an upper bound of the kind the seed document's table claims: it assumes calls
arrive exactly when a slot frees; random arrivals need headroom (``utilisation`` < 1), and
the simulation measures the queueing that this arithmetic leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from capacity.gpu.roofline import Deployment
from capacity.units import HOUR_S


@dataclass(frozen=True, slots=True)
class InterviewLoad:
    """Token use of one interview on the model."""

    input_tokens: float
    output_tokens: float
    requests: int
    cached_input_tokens: float = 0.0
    """Of the input, tokens served from the engine's prefix cache (no prefill)."""

    @property
    def prompt_tokens_per_request(self) -> float:
        """Mean prompt of a call, tokens."""
        return self.input_tokens / self.requests

    @property
    def output_tokens_per_request(self) -> float:
        """Mean output of a call, tokens."""
        return self.output_tokens / self.requests

    @property
    def cached_tokens_per_request(self) -> float:
        """Mean prompt tokens of a call found in the prefix cache."""
        return self.cached_input_tokens / self.requests


@dataclass(frozen=True, slots=True)
class ServerSizing:
    """One server's daily interview capacity and what bounds it."""

    batch: int
    limited_by: Literal["kv cache", "max batch", "latency target", "does not fit"]
    requests_per_s: float
    request_latency_s: float
    meets_latency_target: bool
    hours_per_day: float
    interviews_per_day: float


def requests_per_s(
    dep: Deployment, prompt_tokens: float, output_tokens: float, batch: int, cached_tokens: float = 0.0
) -> float:
    """Calls per second a server finishes at a steady batch of ``batch`` concurrent calls
    (``cached_tokens`` of each prompt served from the prefix cache)."""
    context = prompt_tokens + output_tokens / 2.0  # mean cached context over a call's decode
    prefill = dep.prefill_time_s(round(prompt_tokens), min(round(cached_tokens), round(prompt_tokens) - 1))
    decode = max(0.0, output_tokens - 1.0) * dep.decode_step_time_s(batch, context) / batch
    return 1.0 / (prefill + decode)


def size_server(
    dep: Deployment,
    load: InterviewLoad,
    *,
    hours_per_day: float = 24.0,
    latency_target_s: float | None = None,
    max_batch: int = 256,
    utilisation: float = 1.0,
) -> ServerSizing:
    """Interviews per day one server of ``dep`` carries (see the module docstring)."""
    p, q, c = load.prompt_tokens_per_request, load.output_tokens_per_request, load.cached_tokens_per_request
    kv_batch = int(dep.kv_capacity_tokens // (p + q))
    if kv_batch < 1:
        return ServerSizing(0, "does not fit", 0.0, float("inf"), False, hours_per_day, 0.0)
    limit = min(kv_batch, max_batch)
    limited_by: Literal["kv cache", "max batch", "latency target", "does not fit"]
    limited_by = "kv cache" if kv_batch <= max_batch else "max batch"
    batch = limit
    if latency_target_s is not None:
        # latency b ÷ R(b) grows with b: take the largest batch that meets the target
        while batch > 1 and batch / requests_per_s(dep, p, q, batch, c) > latency_target_s:
            batch -= 1
        if batch < limit:
            limited_by = "latency target"
    rate = requests_per_s(dep, p, q, batch, c)
    latency = batch / rate
    per_day = rate * utilisation * hours_per_day * HOUR_S / load.requests
    meets = latency_target_s is None or latency <= latency_target_s
    return ServerSizing(batch, limited_by, rate, latency, meets, hours_per_day, per_day)
