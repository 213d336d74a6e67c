"""``capacity gpu``: one pair, every pair, JSON, and user mistakes (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()


def test_one_pair_as_json() -> None:
    result = runner.invoke(app, ["gpu", "--gpu", "rtx4090", "--model", "llama-3.1-8b", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kv_capacity_tokens"] == 46_384
    assert data["kv_bytes_per_token"] == 131_072
    assert data["weights_gb"] == 16.06
    assert data["context_tokens"] == 2500
    assert data["concurrent_conversations"] == 18
    assert data["batch1_tokens_per_s"] < data["bandwidth_ceiling_tokens_per_s"] == 62.765
    assert 45 < data["batch1_tokens_per_s"] < 55
    assert (data["saturating_batch"], data["limited_by"]) == (18, "kv cache")
    assert 580 < data["max_output_tokens_per_s"] < 660
    assert data["memory"]["kv_blocks"] == 2_899
    assert data["memory"]["starts"] is True
    assert data["efficiency"]["class"] == "ada-gddr"
    assert "4090-mistral7b-vllm-c16" in data["efficiency"]["fitted_on"]
    assert data["turn_ttft_s"]["prefix_cached"] < 0.2 * data["turn_ttft_s"]["cold"]
    rows = {r["id"]: r for r in data["published"]}
    assert set(rows) == {"4090-llama8b-fp16-tg", "4090-llama8b-fp16-pp"}
    assert abs(rows["4090-llama8b-fp16-tg"]["error"]) < 0.002


def test_one_pair_as_a_table() -> None:
    result = runner.invoke(app, ["gpu", "--gpu", "rtx4090", "--model", "llama-3.1-8b", "--precision", "int4"])
    assert result.exit_code == 0, result.output
    assert "131,392 tokens" in result.output
    assert "4090-llama8b-q4-tg" in result.output


def test_every_pair_and_the_calibration() -> None:
    result = runner.invoke(app, ["gpu", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["pairs"]) == 11 * 4
    phi = next(p for p in data["pairs"] if (p["gpu"], p["model"]) == ("rtx3090", "phi-3-medium"))
    assert (phi["fits"], phi["kv_capacity_tokens"], phi["memory"]["starts"]) == (False, 0, False)
    roles = {r["id"]: (r["role"], r["error"], r["fit"]) for r in data["calibration"]}
    assert len(roles) == 39
    assert all(abs(e) <= 0.20 for role, e, _ in roles.values() if role == "hold_out")
    assert roles["S09"][2] == "tensorrt-llm 0.13.0 / 0.17 · hopper-hbm"
    assert data["held_out"]["rows"] == 18
    assert data["held_out"]["median_abs_error"] <= 0.10
    assert {f["engine"] for f in data["fits"]} == {"vllm", "tensorrt-llm", "llama.cpp"}
    assert len(data["unmodelled"]) == 5
    table = runner.invoke(app, ["gpu"], terminal_width=200)
    assert table.exit_code == 0
    assert "held out" in table.output
    assert "Held-out rows: median absolute error" in table.output
    assert "over 18 rows." in table.output
    assert "Published rows not reproduced" in table.output
    assert "ShareGPT" in table.output


def test_context_from_a_scenario_and_more_gpus() -> None:
    args = ["gpu", "--gpu", "rtx4090", "--model", "llama-3.1-8b", "--scenario", "A", "--json"]
    one = json.loads(runner.invoke(app, args).stdout)
    assert one["context_tokens"] == 2081  # mean prompt + output of scenario A's 25 API calls
    assert one["concurrent_conversations"] == 22
    two = json.loads(runner.invoke(app, [*args, "--gpus-per-server", "2"]).stdout)
    assert two["gpus_per_server"] == 2
    assert two["kv_capacity_tokens"] > one["kv_capacity_tokens"]
    assert two["batch1_tokens_per_s"] > one["batch1_tokens_per_s"]


def test_bad_gpu_exits_2_with_one_line() -> None:
    result = runner.invoke(app, ["gpu", "--gpu", "rtx5090", "--model", "llama-3.1-8b"])
    assert result.exit_code == 2
    assert (
        "unknown GPU 'rtx5090' (known: a100-40gb, a100-80gb, gh200, h100, h100-pcie, h200, l4, l40s, rtx-a6000, "
        "rtx3090, rtx4090)"
        in result.output
    )
    assert "Traceback" not in result.output
    assert runner.invoke(app, ["gpu", "--precision", "fp4"]).exit_code == 2
    assert runner.invoke(app, ["gpu", "--gpus-per-server", "0"]).exit_code == 2


def test_bad_catalog_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "cat.yaml"
    bad.write_text("models:\n  llama-3.1-8b:\n    layers: many\n", encoding="utf-8")
    result = runner.invoke(app, ["gpu", "--catalog", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: models.llama-3.1-8b.layers:" in result.output.replace("\n", "")


def test_settings_the_engine_would_refuse_exit_2_with_the_reason() -> None:
    args = ["gpu", "--gpu", "rtx3090", "--model", "llama-3.1-8b", "--no-chunked-prefill"]
    args += ["--gpu-memory-utilization", "0.9"]
    ok = runner.invoke(app, [*args, "--max-model-len", "20000", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["kv_capacity_tokens"] == 31_232
    refused = runner.invoke(app, [*args, "--max-model-len", "29000"], terminal_width=300)
    assert refused.exit_code == 2
    assert "would not start: max_model_len 29,000 is longer than the 23,648 tokens the KV cache holds" in refused.output
    assert "Traceback" not in refused.output
