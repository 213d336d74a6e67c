"""``capacity plan`` through the command line (typer's CliRunner)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()


def plan_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["plan", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def test_seed_claims_reproduces_the_seed_and_corrects_it() -> None:
    status, out = plan_json("--scenario", "seed-claims")
    assert status == 0
    seed = out["seed_method"]
    first, second = seed["tables"]
    assert (first["rows_sum_interviews_per_day"], first["seed_interviews_per_month"]) == (1090, 32_700)
    assert (second["rows_sum_interviews_per_day"], second["seed_interviews_per_month"]) == (1560, 46_800)
    assert seed["optimized_interviews_per_day"] == pytest.approx(2262)
    assert seed["seed_optimized_interviews_per_day"] == 2262
    assert seed["compounded_interviews_per_day"] == pytest.approx(2606.5, abs=0.1)
    together = next(r for r in second["rows"] if r["provider"] == "Together AI")
    assert (together["seed_method_interviews_per_day"], together["corrected_interviews_per_day"]) == (
        138,
        1661,
    )
    assert any("≈ 2,606/day" in line for line in out["corrections"])
    assert out["need_interviews_per_calendar_day"] == pytest.approx(1666.67, abs=0.01)
    assert out["need_interviews_per_day"] == pytest.approx(2272.73, abs=0.01)
    assert {p["binding_limit"] for p in out["providers"]} == {"rpd", "rpm", "tpd"}


@pytest.mark.parametrize(("scenario", "need", "capacity"), [("A", 2272.73, 1045.35), ("B", 50_000, 1070.11)])
def test_real_quotas_fall_short_and_the_plan_exits_0(scenario: str, need: float, capacity: float) -> None:
    status, out = plan_json("--scenario", scenario, "--seed-claims")
    assert status == 0
    assert out["need_interviews_per_day"] == pytest.approx(need, abs=0.01)
    assert out["interviews_per_day"] == pytest.approx(capacity, abs=0.01)
    assert out["carries_need"] is False
    gemini = next(p for p in out["providers"] if p["label"] == "gemini/gemini-2.0-flash")
    assert (gemini["binding_limit"], gemini["requests_per_day"]) == ("rpd", 200)
    contradicted = {c["seed_provider"] for c in out["seed_contradictions"]}
    assert {
        "Cloudflare Workers AI",
        "Hugging Face",
        "DeepSeek",
        "GitHub Models",
        "Mistral La Plateforme",
    } <= contradicted
    assert "seed_method" not in out


def test_set_override_changes_the_plan() -> None:
    # one account of Gemini 2.0 Flash only: 200 requests ÷ 25 = 8 interviews a day
    status, out = plan_json(
        "--scenario", "A", "--set", "routing.destinations=[{provider: gemini, model: gemini-2.0-flash}]"
    )
    assert status == 0
    assert out["interviews_per_day"] == 8


def test_paid_plan_carries_the_need_with_exit_0() -> None:
    status, out = plan_json(
        "--scenario", "B", "--set", "routing.destinations=[{provider: openai, model: gpt-4o-mini}]"
    )
    assert status == 0
    assert out["interviews_per_day"] is None  # unbounded: no limit stated
    assert out["monthly_cost_usd"] > 0


def test_a_demand_that_ends_within_a_month_is_also_priced_whole() -> None:
    # 500 interviews over one working week on gpt-4o-mini: the monthly cost is that rate kept up
    # for A's 22 interviewing days a month; the week itself costs 5/22 of it
    args = ["--scenario", "A", "--set", "routing.destinations=[{provider: openai, model: gpt-4o-mini}]",
            "--set", "demand.interviews=500", "--set", "demand.days=5", "--set", "candidates.count=50"]
    status, out = plan_json(*args)
    assert status == 0
    monthly = out["monthly_cost_usd"]
    text = runner.invoke(app, ["plan", *args]).output
    whole = f"The whole demand (500 interviews over 5 interviewing day(s)): ${monthly * 5 / 22:,.2f} of API traffic"
    assert whole in " ".join(text.split())
    # a month's demand (A's 30 days) needs no such line
    assert "The whole demand" not in runner.invoke(app, ["plan", "--scenario", "A"]).output


def test_table_output_names_the_binding_limits() -> None:
    result = runner.invoke(app, ["plan", "--scenario", "A", "--seed-claims"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out = result.stdout
    assert "FALLS SHORT" in out
    assert "account neurons_per_day: 10,000" in out  # the account's allowance, shared by its models
    assert "2,273 per interviewing day" in out
    assert "1,667/calendar day" in out
    assert "contradicted" in out


def test_seed_claims_table_shows_both_methods() -> None:
    result = runner.invoke(app, ["plan", "--scenario", "seed-claims"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out = result.stdout
    assert "1,090" in out
    assert "1,560" in out
    assert "2,262" in out
    assert "46,800/month" in out
    assert "⌊3,600 ÷ 26⌋ = 138 (per hour read as per day)" in out
    assert "What the seed's arithmetic gets wrong" in out


def test_unknown_scenario_exits_2() -> None:
    result = runner.invoke(app, ["plan", "--scenario", "Z"])
    assert result.exit_code == 2
    assert "unknown scenario 'Z'" in result.stderr


def test_help_documents_exit_status() -> None:
    result = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--fail-if-short" in result.stdout
    assert "Examples" in result.stdout


@pytest.mark.parametrize(("scenario", "status"), [("A", 1), ("B-paid", 0)])
def test_fail_if_short_gates_on_the_answer(scenario: str, status: int) -> None:
    result = runner.invoke(app, ["plan", "-s", scenario, "--fail-if-short", "--json"])
    assert result.exit_code == status
    assert json.loads(result.stdout)["carries_need"] is (status == 0)


def test_seed_claims_table_only_on_request() -> None:
    plain = runner.invoke(app, ["plan", "-s", "A"], env={"COLUMNS": "200"})
    assert plain.exit_code == 0
    assert "FALLS SHORT" in plain.stdout
    assert "The seed's claimed quotas" not in plain.stdout
    asked = runner.invoke(app, ["plan", "-s", "A", "--seed-claims"], env={"COLUMNS": "200"})
    assert "The seed's claimed quotas against the 2025 sources" in asked.stdout


def test_a_script_over_github_models_input_cap_falls_short_and_fails_the_gate() -> None:
    # issue 11 case 5: 9,000-token system prompts against GitHub Models' 8,000 input tokens a request
    status, out = plan_json(
        "--scenario",
        "A",
        "--fail-if-short",
        "--set",
        "routing.destinations=[{provider: github-models, model: openai/gpt-4o-mini}]",
        "--set",
        "demand={kind: per_day, interviews: 5, days: 1}",
        "--set",
        "candidates.count=5",
        "--set",
        "candidates.interviews_each=1",
        "--set",
        "script.system_prompt_tokens=9000",
    )
    assert status == 1
    assert out["interviews_per_day"] == 0
    assert out["providers"][0]["binding_limit"] == "max_input_tokens_per_request"


def test_a_missing_scenario_file_is_named_as_a_file() -> None:
    result = runner.invoke(app, ["plan", "-s", "missing.yaml"])
    assert result.exit_code == 2
    assert "no file missing.yaml here, and no shipped scenario 'missing'" in result.stderr


def test_plan_table_keeps_long_destination_names_whole() -> None:
    # 160 columns, as piped without COLUMNS: Fireworks' 58-character model path folds, never "…"
    out = runner.invoke(app, ["plan", "-s", "A"], env={"COLUMNS": "160"}).stdout
    assert "…" not in out
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("Capacity per interviewing day"))
    names = "".join(line.split("│")[1].strip() for line in lines[top:] if line.startswith("│"))  # folded, joined
    assert "fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct" in names
    assert "cloudflare/@cf/meta/llama-3.1-8b-instruct-fp8-fast" in names
    assert max(len(line) for line in lines) <= 160
