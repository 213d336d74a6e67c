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
    assert set(catalog.precisions) == {"fp16", "int8", "int4"}


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


def test_kv_bytes_per_token_hand_checked() -> None:
    catalog = load_catalog()
    llama = deployment(catalog, "rtx4090", "llama-3.1-8b")
    assert llama.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    phi = deployment(catalog, "h100", "phi-3-medium")
    assert phi.kv_bytes_per_token == 2 * 40 * 10 * 128 * 2 == 204_800


def test_kv_capacity_hand_checked() -> None:
    catalog = load_catalog()
    dep = deployment(catalog, "rtx4090", "llama-3.1-8b")
    # (24 GB × 0.9 − 16.06 GB weights − 1.5 GB activations) ÷ 131,072 B = 30,822.75
    assert dep.weight_bytes == pytest.approx(16.06e9)
    assert dep.kv_capacity_tokens == 30_822
    # the facts: "about 4 GB, about 30k tokens: roughly 12 concurrent 2.5k-token conversations"
    assert dep.kv_capacity_tokens // 2500 == 12
    # int4 weights (4.9 bits each) leave far more room
    assert deployment(catalog, "rtx4090", "llama-3.1-8b", precision="int4").kv_capacity_tokens == 115_826
    # two GPUs: twice the usable memory, the weights once: (2 × 20.1 − 16.06) GB ÷ 131,072 B
    assert deployment(catalog, "rtx4090", "llama-3.1-8b", gpus=2).kv_capacity_tokens == 184_173


def test_a_model_too_big_for_the_card_does_not_fit() -> None:
    dep = deployment(load_catalog(), "rtx3090", "phi-3-medium")
    assert dep.weight_bytes == pytest.approx(28e9)
    assert dep.kv_capacity_tokens == 0
    assert not dep.fits


def test_unknown_keys_are_usage_errors() -> None:
    catalog = load_catalog()
    with pytest.raises(UsageError, match=r"unknown GPU 'rtx5090' \(known: a100-40gb, a100-80gb"):
        deployment(catalog, "rtx5090", "llama-3.1-8b")
    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        deployment(catalog, "rtx4090", "llama-3.1-8b", precision="fp8")


def test_user_file_merges_over_the_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "gpus:\n"
        "  rtx4090: {rent_usd_per_hour: 0.45}\n"
        "  rtx5090:\n"
        "    name: RTX 5090\n"
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
    assert deployment(catalog, "rtx5090", "llama-3.1-8b").kv_capacity_tokens > 30_822


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
        ("model", "unknown model 'llama-3.2-1b' (known: llama-3.1-8b, mistral-7b, phi-3-medium)")
    ]


def test_scenario_accepts_gpu_pools(load_scenario: Callable[..., Configuration]) -> None:
    config = load_scenario(
        "A", "gpu_pools=[{name: home, gpu: rtx4090, model: llama-3.1-8b, servers: 3, ownership: owned}]"
    )
    (pool,) = config.scenario.gpu_pools
    assert (pool.servers, pool.gpus_per_server, pool.precision, pool.schedule) == (3, 1, "fp16", "always_on")
