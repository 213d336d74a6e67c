"""Issue 12's four public cases, each against its right value (within 15 %; case 4 to the block)."""

from __future__ import annotations

import numpy as np
import pytest

from capacity.config.gpus import GpuPool, load_catalog
from capacity.errors import UsageError
from capacity.gpu import AnalyticServer, ServerSettings, deployment
from capacity.gpu.calibration import check_rows
from capacity.gpu.pool import make_servers
from capacity.gpu.workload import poisson_requests, run_open_loop, summarize

CATALOG = load_catalog()
CHECKS = {c.row.id: c for c in check_rows(CATALOG)}


def test_case1_a100_saturates_near_vidurs_rate() -> None:
    # One A100-80GB, Llama 3.1 8B fp16, 1,500 in / 150 out, Poisson arrivals faster than it can serve:
    # the rate it sustains is its saturation. Vidur (profiled A100s): ≈ 6.5 requests/s, ≈ 980 output tok/s.
    dep = deployment(CATALOG, "a100-80gb", "llama-3.1-8b")
    requests = poisson_requests(np.random.default_rng(12), 12.0, 3000, 1500, 150)
    done = run_open_loop(AnalyticServer(dep), requests)
    served = summarize(done, 150)
    assert served.requests_per_s == pytest.approx(6.5, rel=0.15)
    assert served.output_tokens_per_s == pytest.approx(980, rel=0.15)


@pytest.mark.parametrize(
    ("row", "measured"),
    [
        ("a100-llama2-7b-tg", 73.8),
        ("h100pcie-llama2-7b-tg", 83.3),
        ("4090-llama2-7b-tg", 60.8),
        ("3090-llama2-7b-tg", 51.9),
        ("a6000-llama2-7b-tg", 44.0),
    ],
)
def test_case2_single_stream_decode_on_every_card_class(row: str, measured: float) -> None:
    check = CHECKS[row]
    assert check.row.measured_tokens_per_s == measured
    assert check.modelled_tokens_per_s == pytest.approx(measured, rel=0.15)


def test_case2_data_centre_cards_are_slower_than_their_bandwidth_suggests() -> None:
    # llama.cpp's one-stream kernels reach far less of HBM's bandwidth than of GDDR's
    a100 = deployment(CATALOG, "a100-80gb", "llama-2-7b", engine="llama.cpp")
    rtx = deployment(CATALOG, "rtx4090", "llama-2-7b", engine="llama.cpp")
    assert a100.bandwidth_ceiling_tokens_per_s > 2 * rtx.bandwidth_ceiling_tokens_per_s
    assert a100.decode_tokens_per_s(1, 0) < 1.35 * rtx.decode_tokens_per_s(1, 0)


@pytest.mark.parametrize(
    ("concurrency", "measured"), [(4, 210), (8, 377), (16, 644), (32, 975), (48, 1190)]
)
def test_case3_vllm_concurrency_sweep_on_one_rtx4090(concurrency: int, measured: float) -> None:
    check = CHECKS[f"4090-mistral7b-vllm-c{concurrency}"]
    assert (check.row.concurrency, check.row.measured_tokens_per_s) == (concurrency, measured)
    assert check.modelled_tokens_per_s == pytest.approx(measured, rel=0.15)


def test_case3_the_curve_bends() -> None:
    # measured: 644 → 975 → 1,190 tok/s (×1.51, then ×1.22) as concurrency goes 16 → 32 → 48
    c16, c32, c48 = (CHECKS[f"4090-mistral7b-vllm-c{c}"].modelled_tokens_per_s for c in (16, 32, 48))
    assert c32 / c16 < 1.65
    assert c48 / c32 < 1.35


def v0_settings(max_model_len: int) -> ServerSettings:
    """vLLM V0 below 32k context: no chunked prefill, so a step (and the profiling run) holds max_model_len tokens."""
    return ServerSettings(
        chunked_prefill=False, max_num_batched_tokens=None, max_model_len=max_model_len, gpu_memory_utilization=0.9
    )


def test_case4_kv_capacity_as_vllm_computes_it() -> None:
    dep = deployment(CATALOG, "rtx3090", "llama-3.1-8b")
    assert dep.gpu.visible_memory_bytes == pytest.approx(23.58 * 2**30)
    at_20k = dep.memory(v0_settings(20_000))
    at_29k = dep.memory(v0_settings(29_000))
    assert at_20k.kv_tokens == 31_232 and at_20k.blocks == 1_952
    assert at_29k.kv_tokens == 23_648 and at_29k.blocks == 1_478
    # the profiling run of a 29,000-token step takes 9,000 × 2 · 3 · (14,336 + 4,096) bytes more
    assert at_29k.activation_bytes - at_20k.activation_bytes == 9_000 * 110_592
    assert at_20k.problem is None


def test_case4_the_server_refuses_to_start() -> None:
    dep = deployment(CATALOG, "rtx3090", "llama-3.1-8b")
    problem = dep.memory(v0_settings(29_000)).problem
    assert problem is not None
    assert "max_model_len 29,000 is longer than the 23,648 tokens the KV cache holds" in problem
    with pytest.raises(UsageError, match=r"rtx3090×1 llama-3\.1-8b fp16 \(vllm\) would not start: max_model_len"):
        AnalyticServer(dep, v0_settings(29_000))
    AnalyticServer(dep, v0_settings(20_000))  # starts
    pool = GpuPool(
        name="home", gpu="rtx3090", model="llama-3.1-8b", chunked_prefill=False, max_num_batched_tokens=29_000,
        max_model_len=29_000, gpu_memory_utilization=0.9,
    )  # fmt: skip
    with pytest.raises(UsageError, match=r"gpu pool 'home': .* would not start"):
        make_servers(CATALOG, pool)


def test_other_refusals_name_their_reason() -> None:
    dep = deployment(CATALOG, "rtx3090", "llama-3.1-8b")
    assert "context of 131,072" in str(dep.memory(ServerSettings(max_model_len=200_000)).problem)
    v0_short_budget = ServerSettings(chunked_prefill=False, max_num_batched_tokens=4096, max_model_len=8192)
    assert "smaller than max_model_len" in str(dep.memory(v0_short_budget).problem)
    assert "no memory left" in str(dep.memory(ServerSettings(gpu_memory_utilization=0.6)).problem)
    phi = deployment(CATALOG, "rtx3090", "phi-3-medium")
    assert "no memory left" in str(phi.memory().problem)
