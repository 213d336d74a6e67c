"""``capacity providers`` through the command line (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()


def test_json_lists_every_provider_with_its_age() -> None:
    result = runner.invoke(app, ["providers", "--today", "2026-01-01", "--json"])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    by_name = {p["name"]: p for p in out["providers"]}
    assert {"gemini", "groq", "cerebras", "cloudflare", "huggingface", "openai"} <= by_name.keys()
    # Cloudflare read 2025-02-28 and SambaNova 2025-02-01: older than 180 days on 2026-01-01
    assert out["stale"] == ["cloudflare", "sambanova"]
    assert (by_name["cloudflare"]["age_days"], by_name["cloudflare"]["stale"]) == (307, True)
    assert (by_name["gemini"]["age_days"], by_name["gemini"]["stale"]) == (95, False)
    flash = by_name["gemini"]["models"][0]
    assert flash["limits"] == {"rpm": 15, "rpd": 200, "input_tpm": 1_000_000}  # Gemini's TPM counts input
    assert flash["prices"] == {"usd_per_mtok_in": 0.10, "usd_per_mtok_out": 0.40}
    # the credit belongs to the account, shared by its models (issue 11 case 1)
    assert by_name["huggingface"]["account_limits"] == {"credit_usd": 0.10, "credit_renews": "monthly"}
    assert by_name["huggingface"]["models"][0]["limits"] == {}
    assert by_name["gemini"]["source"].startswith("ai.google.dev")


def test_stale_threshold_is_adjustable() -> None:
    result = runner.invoke(app, ["providers", "--today", "2026-01-01", "--stale-days", "400", "--json"])
    assert json.loads(result.stdout)["stale"] == []
    result = runner.invoke(app, ["providers", "--today", "2026-01-01", "--stale-days", "90", "--json"])
    assert "gemini" in json.loads(result.stdout)["stale"]  # 95 days old


def test_table_marks_stale_entries() -> None:
    result = runner.invoke(app, ["providers", "--today", "2026-01-01"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "STALE" in result.stdout
    assert "2 stale: cloudflare, sambanova" in result.stdout
    assert "10,000 neurons/day" in result.stdout
    assert "per day: fixed at 00:00 America/Los_Angeles" in result.stdout


def test_bad_date_exits_2() -> None:
    result = runner.invoke(app, ["providers", "--today", "soon"])
    assert result.exit_code == 2
    assert "--today 'soon'" in result.stderr


def test_bad_providers_file_exits_2_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  - name: x\n    label: X\n    bogus: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["providers", "--providers", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: providers[0].bogus: unknown key" in result.stderr
    assert f"{path}:2: providers[0].billing: required field is missing" in result.stderr
