"""The seed's self-hosting claims, answered by roofline arithmetic."""

from __future__ import annotations

import pytest

from capacity.config.gpus import load_catalog
from capacity.gpu import deployment
from capacity.gpu.sizing import InterviewLoad, requests_per_s, size_server

CATALOG = load_catalog()
INTERVIEW = InterviewLoad(input_tokens=48_900, output_tokens=3_100, requests=25)  # scenario A's script


def test_rtx4090_llama_fp16_against_the_seeds_10000_a_day() -> None:
    dep = deployment(CATALOG, "rtx4090", "llama-3.1-8b")
    always = size_server(dep, INTERVIEW, hours_per_day=24)
    office = size_server(dep, INTERVIEW, hours_per_day=9)
    # 46,384 KV tokens ÷ (1,956 + 124) tokens per call = 22 calls at once
    assert (always.batch, always.limited_by) == (22, "kv cache")
    assert always.interviews_per_day == pytest.approx(7_325, rel=0.005)
    assert office.interviews_per_day == pytest.approx(always.interviews_per_day * 9 / 24)
    assert always.request_latency_s == pytest.approx(10.38, abs=0.01)  # far above a 3 s turn target
    sla = size_server(dep, INTERVIEW, hours_per_day=24, latency_target_s=3.0)
    # a 1,956-token prompt alone takes 0.30 s to prefill and 123 decode steps 2.4 s: only batch 1 fits 3 s
    assert (sla.batch, sla.limited_by, sla.meets_latency_target) == (1, "latency target", True)
    assert sla.interviews_per_day == pytest.approx(1_271, rel=0.005)
    assert size_server(dep, INTERVIEW, hours_per_day=9, latency_target_s=3.0).interviews_per_day == (
        pytest.approx(476.7, rel=0.005)
    )


def test_prefix_caching_raises_the_bound() -> None:
    # each call re-sends the conversation: all but the system prompt and ≈210 new tokens a turn can be cached
    dep = deployment(CATALOG, "rtx4090", "llama-3.1-8b")
    cached = InterviewLoad(48_900, 3_100, 25, cached_input_tokens=48_900 - 1_800 - 24 * 210)
    assert cached.cached_tokens_per_request == pytest.approx(1_682.4)  # (48,900 − 6,840) ÷ 25
    always = size_server(dep, cached, hours_per_day=24)
    assert always.batch == 22  # the cache holds the same calls: only the prefill work shrinks
    assert always.interviews_per_day == pytest.approx(15_337, rel=0.005)
    sla = size_server(dep, cached, hours_per_day=24, latency_target_s=3.0)
    assert sla.batch == 5
    assert sla.interviews_per_day == pytest.approx(5_866, rel=0.005)


def test_other_seed_pairs() -> None:
    mistral = size_server(deployment(CATALOG, "rtx4090", "mistral-7b"), INTERVIEW)
    assert mistral.interviews_per_day == pytest.approx(8_439, rel=0.005)  # the seed: ~12,000
    phi = size_server(deployment(CATALOG, "rtx3090", "phi-3-medium"), INTERVIEW)
    assert (phi.limited_by, phi.interviews_per_day) == ("does not fit", 0.0)  # the seed: ~8,000
    phi4 = size_server(deployment(CATALOG, "rtx3090", "phi-3-medium", precision="int4"), INTERVIEW)
    assert phi4.interviews_per_day == pytest.approx(2_463, rel=0.005)


def test_throughput_grows_with_the_batch_and_latency_with_it() -> None:
    dep = deployment(CATALOG, "a100-80gb", "llama-3.1-8b")
    rates = [requests_per_s(dep, 1956, 124, b) for b in range(1, 60)]
    assert rates == sorted(rates)
    latencies = [b / r for b, r in zip(range(1, 60), rates, strict=True)]
    assert latencies == sorted(latencies)


def test_an_unreachable_target_is_reported_not_hidden() -> None:
    slow = size_server(deployment(CATALOG, "l4", "llama-3.1-8b"), INTERVIEW, latency_target_s=1.0)
    assert slow.batch == 1
    assert not slow.meets_latency_target
    assert slow.request_latency_s > 1.0
