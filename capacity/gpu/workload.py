"""Driving a batching server without the full simulation: open and closed loops, summaries.

These drivers call the server exactly as the SimPy simulation does (``submit`` at arrivals,
``advance`` at ``next_event_time``), so calibration, tests and benchmarks exercise the same
interface. Times are seconds; token counts are integers.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capacity.gpu.server import BatchingServer, Completion


@dataclass(frozen=True, slots=True)
class Request:
    """One request to replay: when it arrives and its size."""

    arrival_s: float
    prompt_tokens: int
    output_tokens: int


def poisson_requests(
    rng: np.random.Generator,
    rate_per_s: float,
    count: int,
    prompt_tokens: int | tuple[int, int],
    output_tokens: int | tuple[int, int],
) -> list[Request]:
    """``count`` requests arriving as a Poisson process; sizes fixed or uniform in [lo, hi]."""
    gaps = rng.exponential(1.0 / rate_per_s, size=count)
    arrivals = np.cumsum(gaps)

    def sizes(spec: int | tuple[int, int]) -> np.ndarray:
        if isinstance(spec, int):
            return np.full(count, spec, dtype=np.int64)
        return rng.integers(spec[0], spec[1] + 1, size=count)

    prompts, outputs = sizes(prompt_tokens), sizes(output_tokens)
    return [Request(float(a), int(p), int(o)) for a, p, o in zip(arrivals, prompts, outputs, strict=True)]


def run_open_loop(server: BatchingServer, requests: Sequence[Request]) -> list[Completion]:
    """Submit ``requests`` at their arrival times (sorted), then drain; every completion."""
    done: list[Completion] = []
    for i, req in enumerate(requests):
        while (t := server.next_event_time()) <= req.arrival_s:
            done += server.advance(t)
        server.submit(req.arrival_s, i, req.prompt_tokens, req.output_tokens)
    while (t := server.next_event_time()) < math.inf:
        done += server.advance(t)
    return done


def run_closed_loop(
    server: BatchingServer, concurrency: int, prompt_tokens: int, output_tokens: int, requests: int
) -> list[Completion]:
    """``concurrency`` clients, each sending its next request the moment the last one ends.

    All clients start at 0 (as ``vllm bench serve --max-concurrency`` does); ``requests`` in all.
    """
    sent = 0
    for _ in range(min(concurrency, requests)):
        server.submit(0.0, sent, prompt_tokens, output_tokens)
        sent += 1
    done: list[Completion] = []
    while (t := server.next_event_time()) < math.inf:
        finished = server.advance(t)
        done += finished
        for _ in finished:
            if sent < requests:
                server.submit(t, sent, prompt_tokens, output_tokens)
                sent += 1
    return done


@dataclass(frozen=True, slots=True)
class Turn:
    """One request of a conversation: sent ``think_s`` after the previous one finished (or at the
    conversation's start, for the first)."""

    prompt_tokens: int
    output_tokens: int
    think_s: float = 0.0


@dataclass(frozen=True, slots=True)
class TurnResult:
    """When one turn of one conversation was sent, produced its first token and its last, s, and how
    many of its prompt tokens the prefix cache served."""

    conversation: int
    turn: int
    submitted_s: float
    first_token_s: float
    finished_s: float
    cached_tokens: int = 0

    @property
    def ttft_s(self) -> float:
        """Time to first token, s."""
        return self.first_token_s - self.submitted_s


def run_conversations(
    server: BatchingServer, starts: Sequence[float], scripts: Sequence[Sequence[Turn]], *, reuse: bool = True
) -> list[TurnResult]:
    """Play conversations through ``server``: conversation i starts at ``starts[i]`` and sends the
    turns of ``scripts[i]`` one after another, each ``think_s`` after the previous answer.

    With ``reuse`` each request names its conversation, so the server may serve the prefix
    from its prefix cache; without, every turn is prefilled in full. Every turn's timings,
    in the order they finished.
    """
    pending: list[tuple[float, int, int]] = [(t, i, 0) for i, t in enumerate(starts) if scripts[i]]
    heapq.heapify(pending)
    sent: dict[int, tuple[int, int]] = {}
    out: list[TurnResult] = []
    next_id = 0
    while pending or server.next_event_time() < math.inf:
        due = pending[0][0] if pending else math.inf
        event = server.next_event_time()
        if event <= due:
            finished = server.advance(event)
        else:
            at, conv, turn = heapq.heappop(pending)
            step = scripts[conv][turn]
            server.submit(at, next_id, step.prompt_tokens, step.output_tokens, conv if reuse else None)
            sent[next_id] = (conv, turn)
            next_id += 1
            finished = server.advance(at)
        for done in finished:
            conv, turn = sent.pop(done.request_id)
            out.append(
                TurnResult(conv, turn, done.submitted_s, done.first_token_s, done.finished_s, done.cached_tokens)
            )
            if turn + 1 < len(scripts[conv]):
                heapq.heappush(pending, (done.finished_s + scripts[conv][turn + 1].think_s, conv, turn + 1))
    return out


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run of a server delivered."""

    completed: int
    makespan_s: float  # first arrival to last completion
    requests_per_s: float
    output_tokens_per_s: float
    p50_latency_s: float
    p95_latency_s: float
    p95_ttft_s: float


def summarize(completions: Sequence[Completion], output_tokens: Sequence[int] | int) -> RunSummary:
    """Throughput and latency percentiles of a run (request i produced ``output_tokens[i]`` tokens)."""
    if not completions:
        return RunSummary(0, 0.0, 0.0, 0.0, math.nan, math.nan, math.nan)
    start = min(c.submitted_s for c in completions)
    end = max(c.finished_s for c in completions)
    span = end - start
    latency = np.array([c.finished_s - c.submitted_s for c in completions])
    ttft = np.array([c.first_token_s - c.submitted_s for c in completions])
    if isinstance(output_tokens, int):
        tokens = output_tokens * len(completions)
    else:
        tokens = sum(output_tokens[c.request_id] for c in completions)
    return RunSummary(
        completed=len(completions),
        makespan_s=span,
        requests_per_s=len(completions) / span if span > 0 else math.inf,
        output_tokens_per_s=tokens / span if span > 0 else math.inf,
        p50_latency_s=float(np.percentile(latency, 50)),
        p95_latency_s=float(np.percentile(latency, 95)),
        p95_ttft_s=float(np.percentile(ttft, 95)),
    )
