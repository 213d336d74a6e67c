"""The two servers: the fast one agrees with the step-by-step reference; requests are conserved."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.gpus import GpuPool, load_catalog
from capacity.errors import UsageError
from capacity.gpu import (
    AnalyticServer,
    BatchingServer,
    Completion,
    Deployment,
    ServerSettings,
    SteppedServer,
    deployment,
)
from capacity.gpu.pool import make_servers
from capacity.gpu.workload import Request, poisson_requests, run_closed_loop, run_open_loop, summarize

CATALOG = load_catalog()
A100 = deployment(CATALOG, "a100-80gb", "llama-3.1-8b")
RTX4090 = deployment(CATALOG, "rtx4090", "llama-3.1-8b")
TRT_H100 = deployment(CATALOG, "h100", "llama-3.1-8b", precision="fp8", engine="tensorrt-llm")


def both(dep: Deployment, settings: ServerSettings, requests: list[Request]) -> tuple[list[Completion], ...]:
    """Completions of the reference and of the fast server on the same requests, by request id."""
    out = []
    for kind in (SteppedServer, AnalyticServer):
        done = run_open_loop(kind(dep, settings), requests)
        out.append(sorted(done, key=lambda c: c.request_id))
    return tuple(out)


WORKLOADS = [
    # (deployment, settings, rate/s, prompt range, output range): light, saturated, KV-starved
    (A100, ServerSettings(), 4.0, (200, 3000), (10, 300)),
    (A100, ServerSettings(max_batch=16, chunked_prefill=False), 12.0, (500, 2500), (50, 200)),
    (RTX4090, ServerSettings(), 3.0, (100, 4000), (10, 2000)),
    (RTX4090, ServerSettings(max_batch=64, max_num_batched_tokens=512), 2.0, (1500, 2500), (80, 120)),
    (RTX4090, ServerSettings(chunked_prefill=False), 3.0, (100, 4000), (10, 2000)),
    # TensorRT-LLM's guaranteed-no-evict: room for all output reserved at admission, never preempted
    (RTX4090, ServerSettings(kv_reservation="full"), 3.0, (100, 4000), (10, 2000)),
    (TRT_H100, TRT_H100.settings, 40.0, (100, 3000), (10, 1500)),
]


@pytest.mark.parametrize(("dep", "settings", "rate", "prompt", "output"), WORKLOADS)
def test_analytic_agrees_with_stepped(
    dep: Deployment, settings: ServerSettings, rate: float, prompt: tuple[int, int], output: tuple[int, int]
) -> None:
    requests = poisson_requests(np.random.default_rng(7), rate, 300, prompt, output)
    stepped, analytic = both(dep, settings, requests)
    tokens = [r.output_tokens for r in requests]
    s, a = summarize(stepped, tokens), summarize(analytic, tokens)
    assert a.requests_per_s == pytest.approx(s.requests_per_s, rel=0.02)
    assert a.p95_latency_s == pytest.approx(s.p95_latency_s, rel=0.02)
    # in fact they execute the same schedule: every time agrees to rounding
    for x, y in zip(stepped, analytic, strict=True):
        assert x.request_id == y.request_id
        assert y.first_token_s == pytest.approx(x.first_token_s, rel=1e-9, abs=1e-9)
        assert y.finished_s == pytest.approx(x.finished_s, rel=1e-9, abs=1e-9)


def test_kv_starved_workload_preempts_in_both() -> None:
    requests = poisson_requests(np.random.default_rng(7), 3.0, 300, (100, 4000), (10, 2000))
    stepped, analytic = SteppedServer(RTX4090), AnalyticServer(RTX4090)
    run_open_loop(stepped, requests)
    run_open_loop(analytic, requests)
    assert stepped.preemptions == analytic.preemptions > 20
    # reserving every request's whole output up front never preempts, and admits fewer at once
    full = ServerSettings(kv_reservation="full")
    stepped, analytic = SteppedServer(RTX4090, full), AnalyticServer(RTX4090, full)
    grow_span = max(c.finished_s for c in run_open_loop(AnalyticServer(RTX4090), requests))
    full_span = max(c.finished_s for c in run_open_loop(analytic, requests))
    run_open_loop(stepped, requests)
    assert stepped.preemptions == analytic.preemptions == 0
    assert full_span > grow_span


def replay(server: BatchingServer, requests: list[Request], conversations: int) -> list[Completion]:
    """``run_open_loop`` with request i naming conversation i mod ``conversations`` (none if 0)."""
    done: list[Completion] = []
    for i, req in enumerate(requests):
        while (t := server.next_event_time()) <= req.arrival_s:
            done += server.advance(t)
        conv = i % conversations if conversations else None
        server.submit(req.arrival_s, i, req.prompt_tokens, req.output_tokens, conv)
    while (t := server.next_event_time()) < math.inf:
        done += server.advance(t)
    return sorted(done, key=lambda c: c.request_id)


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(
        st.tuples(st.floats(0.0, 5.0), st.integers(1, 6000), st.integers(1, 600)), min_size=1, max_size=40
    ),
    max_batch=st.integers(1, 24),
    budget_extra=st.integers(0, 3000),
    chunked=st.booleans(),
    full=st.booleans(),
    conversations=st.integers(0, 4),
)
def test_conservation_and_agreement_on_random_workloads(
    arrivals: list[tuple[float, int, int]],
    max_batch: int,
    budget_extra: int,
    chunked: bool,
    full: bool,
    conversations: int,
) -> None:
    gaps = np.cumsum([a for a, _, _ in arrivals])
    requests = [Request(float(t), p, o) for t, (_, p, o) in zip(gaps, arrivals, strict=True)]
    settings = ServerSettings(max_batch, max_batch + budget_extra, chunked, kv_reservation="full" if full else "grow")
    small = deployment(CATALOG, "l4", "mistral-7b")  # a small KV cache: preemption and eviction happen
    stepped, analytic = SteppedServer(small, settings), AnalyticServer(small, settings)
    a, b = replay(analytic, requests, conversations), replay(stepped, requests, conversations)
    # every submitted request completes exactly once, after it was submitted
    assert [c.request_id for c in a] == list(range(len(requests)))
    for c, req in zip(a, requests, strict=True):
        assert c.submitted_s == req.arrival_s
        assert c.submitted_s < c.first_token_s <= c.finished_s
    for x, y in zip(b, a, strict=True):
        assert y.finished_s == pytest.approx(x.finished_s, rel=1e-9)
        assert y.first_token_s == pytest.approx(x.first_token_s, rel=1e-9)
    assert analytic.preemptions == stepped.preemptions
    if full:
        assert analytic.preemptions == 0
    cache_a, cache_b = analytic.prefix_cache, stepped.prefix_cache
    assert cache_a is not None and cache_b is not None
    assert (cache_a.hit_tokens, cache_a.evicted_tokens) == (cache_b.hit_tokens, cache_b.evicted_tokens)
    if conversations == 0:
        assert cache_a.hit_tokens == 0


def test_one_request_alone_hand_checked() -> None:
    server = AnalyticServer(A100)
    server.submit(10.0, 1, 1000, 5)
    prefill = A100.prefill_time_s(1000)
    assert server.next_event_time() == pytest.approx(10.0 + prefill)
    assert server.running == 1
    assert server.queued == 0
    (done,) = run_open_loop(server, [])
    decode = sum(A100.decode_step_time_s(1, 1001 + j) for j in range(4))
    assert (done.request_id, done.submitted_s) == (1, 10.0)
    assert done.first_token_s == pytest.approx(10.0 + prefill)
    assert done.finished_s == pytest.approx(10.0 + prefill + decode)


def test_next_event_time_is_stable_and_advance_cheap_when_nothing_is_due() -> None:
    server = AnalyticServer(A100)
    assert server.next_event_time() == math.inf
    assert server.advance(100.0) == []
    for i in range(8):
        server.submit(0.0, i, 1500, 400)
    # 12,000 prompt tokens in chunks of at most 2,048 tokens: a prefill step per event
    step = A100.decode_step_time_s(8, 1500)
    prefill_events = 0
    first = 0.0
    while server.next_event_time() - first < 20 * step:
        first = server.next_event_time()
        assert server.advance(first) == []
        prefill_events += 1
    assert prefill_events == 7
    due = server.next_event_time()  # then one decode run until the first sequence finishes
    assert due - first > 390 * step
    for now in np.linspace(first, due, 20, endpoint=False):
        assert server.advance(float(now)) == []
        assert server.next_event_time() == due
    assert len(server.advance(due)) == 1
    assert len(server.advance(math.inf)) == 7
    assert server.next_event_time() == math.inf


def test_an_arrival_joins_at_the_next_step_boundary() -> None:
    server = AnalyticServer(A100)
    server.submit(0.0, 0, 1000, 1000)
    server.advance(server.next_event_time())  # prefill done, a long decode run ahead
    far = server.next_event_time()
    server.submit(1.0, 1, 500, 10)
    joined = server.next_event_time()
    assert 1.0 < joined < 1.0 + 2 * A100.decode_step_time_s(1, 1100)
    assert joined < far
    assert server.queued == 1
    server.advance(joined)
    assert (server.queued, server.running) == (0, 2)


def test_requests_longer_than_the_engine_takes_are_refused() -> None:
    with pytest.raises(UsageError, match="longer than max_model_len 46,384 of rtx4090"):
        AnalyticServer(RTX4090).submit(0.0, 1, 46_000, 1000)
    short = ServerSettings(max_model_len=4096)
    with pytest.raises(UsageError, match="longer than max_model_len 4,096"):
        SteppedServer(RTX4090, short).submit(0.0, 1, 4000, 100)
    with pytest.raises(UsageError, match="at least one prompt and one output token"):
        SteppedServer(RTX4090).submit(0.0, 1, 100, 0)


def test_closed_loop_one_client_hand_checked() -> None:
    done = run_closed_loop(AnalyticServer(A100), 1, 1024, 128, 3)
    one = A100.prefill_time_s(1024) + sum(A100.decode_step_time_s(1, 1025 + j) for j in range(127))
    assert [c.finished_s for c in done] == pytest.approx([one, 2 * one, 3 * one])


def makespan(dep: Deployment, requests: list[Request]) -> float:
    return max(c.finished_s for c in run_open_loop(AnalyticServer(dep), requests))


@pytest.mark.parametrize(
    ("gpu", "model"), [("rtx4090", "llama-3.1-8b"), ("l4", "mistral-7b"), ("a100-80gb", "phi-3-medium")]
)
def test_more_gpus_per_server_never_carry_more_slowly(gpu: str, model: str) -> None:
    requests = poisson_requests(np.random.default_rng(3), 6.0, 400, (500, 3000), (20, 400))
    spans = [makespan(deployment(CATALOG, gpu, model, gpus=n), requests) for n in (1, 2, 4, 8)]
    assert spans == sorted(spans, reverse=True)
    assert spans[1] < spans[0]


def test_more_servers_never_fewer_completions() -> None:
    requests = poisson_requests(np.random.default_rng(5), 8.0, 2000, (1000, 3000), (50, 200))
    horizon = requests[-1].arrival_s
    counts = []
    for servers in (1, 2, 3, 4, 6):
        pool = GpuPool(name="p", gpu="rtx4090", model="llama-3.1-8b", servers=servers)
        fleet = make_servers(CATALOG, pool)
        finished = 0
        for i, req in enumerate(requests):  # join the server with the fewest requests in it
            for server in fleet:
                finished += len(server.advance(req.arrival_s))
            target = min(fleet, key=lambda s: s.queued + s.running)
            target.submit(req.arrival_s, i, req.prompt_tokens, req.output_tokens)
        finished += sum(len(server.advance(horizon + 30.0)) for server in fleet)  # what is in flight ends
        counts.append(finished)
    assert counts == sorted(counts)
    assert counts[0] < counts[-1] == pytest.approx(len(requests), rel=0.02)
