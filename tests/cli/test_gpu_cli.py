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
    assert data["kv_capacity_tokens"] == 30_822
    assert data["kv_bytes_per_token"] == 131_072
    assert data["weights_gb"] == 16.06
    assert data["context_tokens"] == 2500
    assert data["concurrent_conversations"] == 12
    assert data["batch1_tokens_per_s"] < data["bandwidth_ceiling_tokens_per_s"] == 62.765
    assert 45 < data["batch1_tokens_per_s"] < 55
    assert (data["saturating_batch"], data["limited_by"]) == (12, "kv cache")
    assert 450 < data["max_output_tokens_per_s"] < 520
    rows = {r["id"]: r for r in data["published"]}
    assert set(rows) == {"4090-llama8b-fp16-tg", "4090-llama8b-fp16-pp"}
    assert abs(rows["4090-llama8b-fp16-tg"]["error"]) < 0.002


def test_one_pair_as_a_table() -> None:
    result = runner.invoke(app, ["gpu", "--gpu", "rtx4090", "--model", "llama-3.1-8b", "--precision", "int4"])
    assert result.exit_code == 0, result.output
    assert "115,826 tokens" in result.output
    assert "4090-llama8b-q4-tg" in result.output


def test_every_pair_and_the_calibration() -> None:
    result = runner.invoke(app, ["gpu", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["pairs"]) == 7 * 3
    phi = next(p for p in data["pairs"] if (p["gpu"], p["model"]) == ("rtx3090", "phi-3-medium"))
    assert (phi["fits"], phi["kv_capacity_tokens"]) == (False, 0)
    roles = {r["id"]: (r["role"], r["error"]) for r in data["calibration"]}
    assert len(roles) == 10
    assert all(abs(e) <= 0.25 for role, e in roles.values() if role == "hold_out")
    table = runner.invoke(app, ["gpu"])
    assert table.exit_code == 0
    assert "held out" in table.output
    assert "Held-out rows: largest error 16.1% over 6 rows." in table.output


def test_context_from_a_scenario_and_more_gpus() -> None:
    args = ["gpu", "--gpu", "rtx4090", "--model", "llama-3.1-8b", "--scenario", "A", "--json"]
    one = json.loads(runner.invoke(app, args).stdout)
    assert one["context_tokens"] == 2081  # mean prompt + output of scenario A's 25 API calls
    assert one["concurrent_conversations"] == 14
    two = json.loads(runner.invoke(app, [*args, "--gpus-per-server", "2"]).stdout)
    assert two["gpus_per_server"] == 2
    assert two["kv_capacity_tokens"] > one["kv_capacity_tokens"]
    assert two["batch1_tokens_per_s"] > one["batch1_tokens_per_s"]


def test_bad_gpu_exits_2_with_one_line() -> None:
    result = runner.invoke(app, ["gpu", "--gpu", "rtx5090", "--model", "llama-3.1-8b"])
    assert result.exit_code == 2
    assert (
        "unknown GPU 'rtx5090' (known: a100-40gb, a100-80gb, h100, h200, l4, rtx3090, rtx4090)"
        in result.output
    )
    assert "Traceback" not in result.output
    assert runner.invoke(app, ["gpu", "--precision", "fp8"]).exit_code == 2
    assert runner.invoke(app, ["gpu", "--gpus-per-server", "0"]).exit_code == 2


def test_bad_catalog_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "cat.yaml"
    bad.write_text("models:\n  llama-3.1-8b:\n    layers: many\n", encoding="utf-8")
    result = runner.invoke(app, ["gpu", "--catalog", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: models.llama-3.1-8b.layers:" in result.output.replace("\n", "")
