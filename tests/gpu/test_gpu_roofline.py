"""Roofline limits: nothing beats the memory bandwidth; more GPUs never carry more slowly."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config.gpus import load_catalog
from capacity.gpu import Deployment, deployment
from capacity.gpu.decode_run import DecodeRun
from capacity.gpu.profile import serving_profile

CATALOG = load_catalog()
ALL = [
    deployment(CATALOG, g, m, precision=p, engine=e, gpus=n)
    for g, m, p, e, n in itertools.product(
        CATALOG.gpus, CATALOG.models, CATALOG.precisions, CATALOG.engines, (1, 2, 4, 8)
    )
]


@pytest.mark.parametrize("dep", ALL, ids=lambda d: d.label)
def test_batch1_never_beats_bandwidth_over_weights(dep: Deployment) -> None:
    ceiling = dep.gpus * dep.gpu.memory_bandwidth_gb_per_s * 1e9 / dep.weight_bytes
    assert dep.bandwidth_ceiling_tokens_per_s == pytest.approx(ceiling)
    for context in (0, 1, 2500, 32_000):
        assert dep.decode_tokens_per_s(1, context) <= ceiling
    # and nothing but the weights' read at the fitted efficiency and the CPU time of the step
    # takes much of a batch-1 step
    reached = dep.efficiency.bandwidth * dep.precision.bandwidth_factor * dep.engine.tensor_parallel_efficiency
    read_s = 1.0 / (reached * ceiling)
    assert 1.0 / dep.decode_tokens_per_s(1, 0) <= (read_s + dep.step_overhead_s(1)) / 0.75


def test_batch1_figures_for_the_seed_pairs() -> None:
    # 4090 fp16: 1,008 GB/s ÷ 16.06 GB = 62.8 tok/s ceiling, at vLLM's fitted η_bw on Ada GeForce cards,
    # plus one token's GEMM time and the step overhead
    dep = deployment(CATALOG, "rtx4090", "llama-3.1-8b")
    assert dep.bandwidth_ceiling_tokens_per_s == pytest.approx(62.765, abs=1e-3)
    eta_bw, eta_c = dep.efficiency.bandwidth, dep.efficiency.compute
    step = 16.06e9 / (1008e9 * eta_bw) + 2 * 8.03e9 / (165e12 * eta_c) + dep.step_overhead_s(1)
    assert dep.decode_tokens_per_s(1, 0) == pytest.approx(1 / step, rel=1e-9)
    assert 0.7 * 62.765 < dep.decode_tokens_per_s(1, 0) < 0.9 * 62.765
    assert deployment(CATALOG, "rtx4090", "llama-3.1-8b", engine="llama.cpp").decode_tokens_per_s(
        1, 512
    ) == pytest.approx(54.3, rel=0.01)


def test_prefill_is_compute_bound_and_decode_memory_bound() -> None:
    dep = deployment(CATALOG, "a100-80gb", "llama-3.1-8b")
    assert dep.compute_time_s(2000, 2000 * 2000) > dep.memory_time_s(0)
    assert dep.compute_time_s(1, 2000) < dep.memory_time_s(2000)
    # prefill FLOPs = 2 · params · tokens + 4 · layers · d_model · n (n + 1) ÷ 2 (causal), at η_c of the
    # peak, plus one read of the weights, then the step overhead for one sequence
    flops = 2 * 8.03e9 * 2000 + 4 * 32 * 4096 * 2000 * 2001 / 2
    eta_bw, eta_c = dep.efficiency.bandwidth, dep.efficiency.compute
    expected = flops / (312e12 * eta_c) + 16.06e9 / (2039e9 * eta_bw) + dep.step_overhead_s(1)
    assert dep.prefill_time_s(2000) == pytest.approx(expected, rel=1e-9)
    # with 1,792 of the tokens in the prefix cache only 208 are computed, attending to all 2,000
    cached = 2 * 8.03e9 * 208 + 4 * 32 * 4096 * (208 * 1792 + 208 * 209 / 2)
    read = 16.06e9 + 131_072 * 1792
    expected = cached / (312e12 * eta_c) + read / (2039e9 * eta_bw) + dep.step_overhead_s(1)
    assert dep.prefill_time_s(2000, 1792) == pytest.approx(expected, rel=1e-9)


def test_fp8_uses_the_fp8_peak_and_an_fp8_kv_cache() -> None:
    h100 = deployment(CATALOG, "h100", "llama-3.1-8b", precision="fp8", engine="tensorrt-llm")
    assert h100.peak_tflops == 1979
    assert h100.kv_bytes_per_token == 65_536
    a100 = deployment(CATALOG, "a100-80gb", "llama-3.1-8b", precision="fp8", engine="tensorrt-llm")
    assert a100.peak_tflops == 312  # no FP8 tensor cores on Ampere: widened to fp16
    # llama.cpp accumulates its fp16 GEMMs in fp16: GeForce cards run that at twice the fp32-accumulate rate
    assert deployment(CATALOG, "rtx4090", "llama-3.1-8b", engine="llama.cpp").peak_tflops == 330
    assert deployment(CATALOG, "rtx4090", "llama-3.1-8b").peak_tflops == 165


def test_efficiencies_follow_the_gpu_class() -> None:
    h100 = deployment(CATALOG, "h100", "llama-3.1-8b")  # no vLLM row on Hopper: derived
    a100 = deployment(CATALOG, "a100-80gb", "llama-3.1-8b")
    trt = CATALOG.engines["tensorrt-llm"].efficiencies
    assert (h100.efficiency.key, a100.efficiency.key) == ("hopper-hbm", "ampere-hbm")
    assert h100.efficiency.bandwidth == a100.efficiency.bandwidth
    assert trt["hopper-hbm"].compute is not None and trt["ampere-hbm"].compute is not None
    ratio = trt["hopper-hbm"].compute / trt["ampere-hbm"].compute
    assert h100.efficiency.compute == pytest.approx(a100.efficiency.compute * ratio)
    assert h100.efficiency.fitted_on == ()
    l4 = deployment(CATALOG, "l4", "llama-3.1-8b")
    assert l4.efficiency.key == "ada-gddr"
    assert "4090-mistral7b-vllm-c16" in l4.efficiency.fitted_on


@settings(max_examples=60, deadline=None)
@given(
    pair=st.sampled_from([(g, m) for g in CATALOG.gpus for m in CATALOG.models]),
    precision=st.sampled_from(list(CATALOG.precisions)),
    gpus=st.integers(1, 7),
    batch=st.integers(1, 512),
    context=st.integers(0, 20_000),
)
def test_more_gpus_never_slower(
    pair: tuple[str, str], precision: str, gpus: int, batch: int, context: int
) -> None:
    fewer = deployment(CATALOG, *pair, precision=precision, gpus=gpus)
    more = deployment(CATALOG, *pair, precision=precision, gpus=gpus + 1)
    assert more.decode_step_time_s(batch, context) <= fewer.decode_step_time_s(batch, context)
    assert more.prefill_time_s(context + 1) <= fewer.prefill_time_s(context + 1)
    assert more.kv_capacity_tokens >= fewer.kv_capacity_tokens
    profile_fewer = serving_profile(CATALOG, fewer, context + 1)
    profile_more = serving_profile(CATALOG, more, context + 1)
    assert profile_more.max_output_tokens_per_s >= profile_fewer.max_output_tokens_per_s


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(1, 300),
    held=st.integers(0, 2_000_000),
    gpus=st.integers(1, 4),
    k=st.integers(0, 5000),
    gpu=st.sampled_from(list(CATALOG.gpus)),
)
def test_decode_run_sums_the_steps_exactly(batch: int, held: int, gpus: int, k: int, gpu: str) -> None:
    dep = deployment(CATALOG, gpu, "llama-3.1-8b", gpus=gpus)
    bw, flops = dep.effective_bandwidth, dep.effective_flops
    # the closed form of the fast server against the roofline evaluated step by step
    run = DecodeRun(
        (dep.weight_bytes + dep.kv_bytes_per_token * held) / bw
        + (2 * dep.params * batch + 4 * 32 * 4096 * held) / flops,
        dep.kv_bytes_per_token * batch / bw + 4 * 32 * 4096 * batch / flops,
        speedup=dep.speedup,
        overhead=dep.step_overhead_s(batch),
    )
    steps = [dep.step_time_s(batch, held + batch * j, held + batch * j) for j in range(min(k, 400))]
    for j, t in enumerate(steps[:50]):
        assert run.step(j) == pytest.approx(t, rel=1e-12)
    assert run.duration(len(steps)) == pytest.approx(sum(steps), rel=1e-9)
    total = run.duration(k)
    assert run.steps_within(total) == k
    if k > 0:
        assert run.steps_within(total - 1e-9 * total) == k - 1
        assert run.steps_within(total + 0.5 * run.step(k)) == k


def test_decode_run_hand_checked() -> None:
    run = DecodeRun(10.0, 0.5, speedup=2.0, overhead=0.5)
    expected = [(10 + 0.5 * j) / 2 + 0.5 for j in range(100)]  # 5.5 + 0.25 j: exact in binary
    assert run.duration(100) == pytest.approx(sum(expected), rel=1e-12)
    for k in (0, 1, 24, 25, 26, 99):
        assert run.steps_within(sum(expected[:k])) == k
