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
    # 30,822 KV tokens ÷ (1,956 + 124) tokens per call = 14 calls at once
    assert (always.batch, always.limited_by) == (14, "kv cache")
    assert always.interviews_per_day == pytest.approx(7_988, rel=0.005)
    assert office.interviews_per_day == pytest.approx(always.interviews_per_day * 9 / 24)
    assert always.request_latency_s == pytest.approx(6.06, abs=0.01)  # far above a 3 s turn target
    sla = size_server(dep, INTERVIEW, hours_per_day=24, latency_target_s=3.0)
    assert (sla.batch, sla.limited_by, sla.meets_latency_target) == (2, "latency target", True)
    assert sla.interviews_per_day == pytest.approx(2_337, rel=0.005)
    assert size_server(dep, INTERVIEW, hours_per_day=9, latency_target_s=3.0).interviews_per_day == (
        pytest.approx(876.5, rel=0.005)
    )


def test_other_seed_pairs() -> None:
    mistral = size_server(deployment(CATALOG, "rtx4090", "mistral-7b"), INTERVIEW)
    assert mistral.interviews_per_day == pytest.approx(9_925, rel=0.005)  # the seed: ~12,000
    phi = size_server(deployment(CATALOG, "rtx3090", "phi-3-medium"), INTERVIEW)
    assert (phi.limited_by, phi.interviews_per_day) == ("does not fit", 0.0)  # the seed: ~8,000
    phi4 = size_server(deployment(CATALOG, "rtx3090", "phi-3-medium", precision="int4"), INTERVIEW)
    assert phi4.interviews_per_day == pytest.approx(3_314, rel=0.005)


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
