"""The GPU catalogue: shipped file found as package data, hand-checked arithmetic, user overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from capacity.config import Configuration
from capacity.config.gpus import GpuPool, load_catalog, shipped_catalog_path
from capacity.errors import ConfigError, UsageError
from capacity.gpu import deployment


def test_shipped_catalogue_is_package_data() -> None:
    with shipped_catalog_path() as path:
        assert path.name == "gpus.yaml"
        assert path.parent.name == "data"
        assert path.is_file()
    catalog = load_catalog()
    assert {"rtx3090", "rtx4090", "l4", "a100-80gb", "h100", "h200"} <= set(catalog.gpus)
    assert {"llama-3.1-8b", "mistral-7b", "phi-3-medium"} <= set(catalog.models)
    assert set(catalog.precisions) == {"fp16", "fp8", "int8", "int4"}
    assert {"vllm", "tensorrt-llm", "llama.cpp"} <= set(catalog.engines)


def test_datasheet_figures_match_the_facts() -> None:
    catalog = load_catalog()
    figures = {
        key: (g.vram_gb, g.memory_bandwidth_gb_per_s, g.fp16_tflops, g.board_power_w)
        for key, g in catalog.gpus.items()
    }
    assert figures["rtx3090"] == (24, 936, 71, 350)
    assert figures["rtx4090"] == (24, 1008, 165, 450)
    assert figures["l4"] == (24, 300, 121, 72)
    assert figures["a100-80gb"] == (80, 2039, 312, 400)
    assert figures["h100"] == (80, 3350, 989, 700)
    assert figures["h200"] == (141, 4800, 989, 700)
    # the seed: 3 × RTX 4090 ≈ $5,000–6,000
    assert catalog.gpus["rtx4090"].purchase_usd == pytest.approx(5500 / 3, abs=1)
    # purchase prices only where a source gives one
    assert catalog.gpus["h100"].purchase_usd is None
    classes = {key: g.gpu_class for key, g in catalog.gpus.items()}
    assert classes["rtx4090"] == classes["l4"] == classes["l40s"] == "ada-gddr"
    assert classes["rtx3090"] == classes["rtx-a6000"] == "ampere-gddr"
    assert classes["a100-40gb"] == classes["a100-80gb"] == "ampere-hbm"
    assert classes["h100"] == classes["h200"] == classes["h100-pcie"] == "hopper-hbm"


def test_every_engine_covers_every_gpu_and_states_its_version() -> None:
    catalog = load_catalog()
    for key, engine in catalog.engines.items():
        assert engine.version, key
        for gpu in catalog.gpus:
            dep = deployment(catalog, gpu, "llama-3.1-8b", engine=key)
            assert 0 < dep.efficiency.bandwidth <= 1 and 0 < dep.efficiency.compute <= 1, (key, gpu)


def test_kv_bytes_per_token_hand_checked() -> None:
    catalog = load_catalog()
    llama = deployment(catalog, "rtx4090", "llama-3.1-8b")
    assert llama.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    phi = deployment(catalog, "h100", "phi-3-medium")
    assert phi.kv_bytes_per_token == 2 * 40 * 10 * 128 * 2 == 204_800


def test_kv_capacity_hand_checked() -> None:
    catalog = load_catalog()
    dep = deployment(catalog, "rtx4090", "llama-3.1-8b")
    assert dep.weight_bytes == pytest.approx(16.06e9)
    # vLLM: 0.9 × 23.58 GiB − 16.06 GB weights − 2,048 tokens × 2 · 3 · (14,336 + 4,096) B of activations
    # − 0.391 GiB runtime = 6.079 GB → 2,899 blocks of 16 tokens × 131,072 B
    usable = 0.9 * 23.58 * 2**30 - 16.06e9 - 2048 * 110_592 - 0.391 * 2**30
    assert usable // (16 * 131_072) == 2_899
    assert dep.kv_capacity_tokens == 46_384
    budget = dep.memory()
    assert (budget.blocks, budget.block_size, budget.problem) == (2_899, 16, None)
    assert budget.max_model_len == 46_384  # the model's 131,072 capped at what the cache holds
    # more than the facts' "about 4 GB, about 30k tokens": chunked prefill profiles a 2,048-token step
    assert dep.kv_capacity_tokens // 2500 == 18
    # int4 weights (4.9 bits each) leave far more room
    assert deployment(catalog, "rtx4090", "llama-3.1-8b", precision="int4").kv_capacity_tokens == 131_392
    # two GPUs: each holds half the weights, half of each token's KV and half the feed-forward activations
    assert deployment(catalog, "rtx4090", "llama-3.1-8b", gpus=2).kv_capacity_tokens == 216_640


def test_a_model_too_big_for_the_card_does_not_fit() -> None:
    dep = deployment(load_catalog(), "rtx3090", "phi-3-medium")
    assert dep.weight_bytes == pytest.approx(28e9)
    assert dep.kv_capacity_tokens == 0
    assert not dep.fits


def test_unknown_keys_are_usage_errors() -> None:
    catalog = load_catalog()
    with pytest.raises(UsageError, match=r"unknown GPU 'rtx5090' \(known: a100-40gb, a100-80gb"):
        deployment(catalog, "rtx5090", "llama-3.1-8b")
    with pytest.raises(UsageError, match="unknown precision 'fp4'"):
        deployment(catalog, "rtx4090", "llama-3.1-8b", precision="fp4")


def test_user_file_merges_over_the_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "gpus:\n"
        "  rtx4090: {rent_usd_per_hour: 0.45}\n"
        "  rtx5090:\n"
        "    name: RTX 5090\n"
        "    architecture: blackwell\n"
        "    memory_type: gddr\n"
        "    vram_gb: 32\n"
        "    memory_bandwidth_gb_per_s: 1792\n"
        "    fp16_tflops: 209\n"
        "    board_power_w: 575\n"
        "    source: my notes\n",
        encoding="utf-8",
    )
    catalog = load_catalog(extra)
    assert catalog.gpus["rtx4090"].rent_usd_per_hour == 0.45
    assert catalog.gpus["rtx4090"].memory_bandwidth_gb_per_s == 1008  # untouched fields kept
    assert deployment(catalog, "rtx5090", "llama-3.1-8b").kv_capacity_tokens > 46_384
    assert deployment(catalog, "rtx5090", "llama-3.1-8b").efficiency.key == "gddr"  # no Blackwell fit


def test_user_file_mistakes_name_file_and_line(tmp_path: Path) -> None:
    extra = tmp_path / "bad.yaml"
    extra.write_text(
        "gpus:\n  rtx4090:\n    memory_bandwidth_gb_per_s: -5\n    colour: green\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_catalog(extra)
    lines = info.value.lines
    assert f"{extra}:3: gpus.rtx4090.memory_bandwidth_gb_per_s: Input should be greater than 0" in lines
    assert f"{extra}:4: gpus.rtx4090.colour: unknown key" in lines


def test_benchmark_rows_must_name_known_keys(tmp_path: Path) -> None:
    extra = tmp_path / "rows.yaml"
    extra.write_text(
        "benchmarks:\n"
        "  - {id: x, gpu: rtx9999, model: llama-3.1-8b, precision: fp16, engine: vllm,\n"
        "     kind: decode, output_tokens: 10, measured_tokens_per_s: 5, role: hold_out, source: me}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"rows\.yaml:2: benchmarks\[0\]\.gpu: unknown gpu 'rtx9999'"):
        load_catalog(extra)


def test_pool_needs_a_token_budget_that_holds_a_batch() -> None:
    with pytest.raises(ValueError, match="max_num_batched_tokens"):
        GpuPool(name="p", gpu="rtx4090", model="llama-3.1-8b", max_batch=512, max_num_batched_tokens=256)
    pool = GpuPool(name="p", gpu="rtx4090", model="llama-3.2-1b")
    assert load_catalog().pool_problems(pool) == [
        ("model", "unknown model 'llama-3.2-1b' (known: llama-2-7b, llama-3.1-8b, mistral-7b, phi-3-medium)")
    ]


def test_pool_engine_settings_reach_the_server() -> None:
    from capacity.gpu.pool import pool_deployment

    pool = GpuPool.model_validate(
        {"name": "p", "gpu": "rtx4090", "model": "llama-3.1-8b", "max_num_seqs": 64, "max_num_batched_tokens": 4096,
         "gpu_memory_utilization": 0.85, "max_model_len": 8192, "block_size": 32, "prefix_caching": False}
    )  # fmt: skip
    assert pool.max_batch == 64  # vLLM's name is accepted
    dep = pool_deployment(load_catalog(), pool)
    budget = dep.memory()
    assert (budget.block_size, budget.max_model_len, budget.problem) == (32, 8192, None)
    assert budget.kv_tokens < deployment(load_catalog(), "rtx4090", "llama-3.1-8b").kv_capacity_tokens
    assert dep.settings.prefix_caching is False


def test_scenario_accepts_gpu_pools(load_scenario: Callable[..., Configuration]) -> None:
    config = load_scenario(
        "A", "gpu_pools=[{name: home, gpu: rtx4090, model: llama-3.1-8b, servers: 3, ownership: owned}]"
    )
    (pool,) = config.scenario.gpu_pools
    assert (pool.servers, pool.gpus_per_server, pool.precision, pool.schedule) == (3, 1, "fp16", "always_on")
