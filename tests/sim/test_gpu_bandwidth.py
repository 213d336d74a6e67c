"""A GPU pool in the simulator never beats the hardware: memory bandwidth bounds decode, compute prefill.

Scenario B-gpu shrunk to 200 interviews: every request the simulator sends to its GPU station
is recorded and checked against the card's peak memory bandwidth and FLOPS (no efficiency factor).
Prompt tokens found in the engine's prefix cache (the interview's earlier turns) need no prefill.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from simkit import record_gpu_requests

from capacity.config.loader import Configuration
from capacity.gpu.pool import pool_deployment
from capacity.gpu.server import Completion
from capacity.sim.model import Simulation

TINY = ("demand.interviews=200", "candidates.count=20")


def test_decode_never_beats_memory_bandwidth(load_scenario: Callable[..., Configuration]) -> None:
    """Every simulated request: a decode step reads all the weights; prefill computes every uncached prompt
    token."""
    config = load_scenario("B-gpu", *TINY)
    sim = Simulation(config)
    station = record_gpu_requests(sim)
    result = sim.run()
    records: list[tuple[int, int, Completion]] = [
        (prompt, output, event.value) for _, prompt, output, _, event in station.requests if event.processed
    ]
    conversations = [conversation for _, _, _, conversation, _ in station.requests]
    assert result.interviews.completed == 200
    assert len(records) == result.requests.api_calls > 4000
    pool = config.scenario.gpu_pools[0]
    dep = pool_deployment(config.gpu_catalog, pool)
    peak_bw = dep.gpus * dep.gpu.memory_bandwidth_gb_per_s * 1e9  # bytes/s, no efficiency factor
    step_floor = dep.weight_bytes / peak_bw  # one decode step reads every weight once
    ceiling = dep.bandwidth_ceiling_tokens_per_s  # ≈ 62.8 tokens/s for Llama 3.1 8B fp16 on a 4090
    assert ceiling == pytest.approx(1008e9 / 16.06e9)
    peak_flops = dep.gpu.fp16_tflops * 1e12
    for prompt, output, done in records:
        decode = done.finished_s - done.first_token_s
        assert decode >= (output - 1) * step_floor * (1 - 1e-9)
        assert output / (done.finished_s - done.submitted_s) <= ceiling
        # the prefill computes every prompt token not found in the prefix cache (the last one always)
        assert 0 <= done.cached_tokens < prompt
        computed = prompt - done.cached_tokens
        assert done.first_token_s - done.submitted_s >= 2 * dep.params * computed / peak_flops * (1 - 1e-9)
    # every request names its interview, and the engine's prefix cache serves most of the re-sent history
    assert None not in conversations and len(set(conversations)) == 200
    prompt_total = sum(p for p, _, _ in records)
    cached_total = sum(d.cached_tokens for _, _, d in records)
    assert 0.5 < cached_total / prompt_total < 1
    # and the pool as a whole never decodes faster than batch × bandwidth ceiling
    tokens_out = sum(o for _, o, _ in records)
    busy = max(d.finished_s for _, _, d in records) - min(d.submitted_s for _, _, d in records)
    assert tokens_out / busy <= pool.servers * pool.max_batch * ceiling
