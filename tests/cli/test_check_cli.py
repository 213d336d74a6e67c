"""``capacity check``: a baseline, a quota changed (it fails, naming what moved), restored (it passes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app, common

runner = CliRunner()
CHECKOUT = Path(__file__).resolve().parents[2]
TINY = ["--scenario", "A", "--days", "1", "--set", "demand.interviews=2000", "--set", "candidates.count=200"]
MISTRAL_LIMITS = "limits: {rps: 1, tpm: 500000, tokens_per_month: 1000000000}"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "baseline.json"
    result = runner.invoke(
        app, ["check", "--update", "--baseline", str(path), *TINY, "--replications", "3", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    return path


def _check(baseline: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["check", "--baseline", str(baseline), "--jobs", "1", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_baseline_stores_horizon_seed_overrides_and_tolerances(baseline: Path) -> None:
    data = json.loads(baseline.read_text(encoding="utf-8"))
    a = data["scenarios"]["A"]
    assert (a["days"], a["seed"], a["replications"]) == (1, 20251006, 3)
    assert a["set"] == ["demand.interviews=2000", "candidates.count=200"]
    assert a["simulate"]["completed"]["tolerance"] >= 2.0
    assert "requests_per_day[mistral/mistral-small-latest]" in a["plan"]
    assert "3 x sd" in data["tolerance_rule"]


def test_an_unchanged_model_passes_with_a_progress_bar_on_a_terminal(
    baseline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.err_console, "_force_terminal", True)
    result = runner.invoke(app, ["check", "--baseline", str(baseline), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "within tolerance" in result.stdout
    assert "\x1b[?25l" in result.stderr  # the bar (transient: what it writes first is the hidden cursor)


def test_a_changed_quota_fails_with_a_table_of_what_moved(baseline: Path, tmp_path: Path) -> None:
    providers = tmp_path / "providers.yaml"
    text = (CHECKOUT / "providers.yaml").read_text(encoding="utf-8")
    assert text.count(MISTRAL_LIMITS) == 1
    providers.write_text(
        text.replace(MISTRAL_LIMITS, MISTRAL_LIMITS.replace("tpm: 500000", "tpm: 5000")), encoding="utf-8"
    )

    status, output = _check(baseline, "--providers", str(providers))
    assert status == 1
    assert "numbers moved" in output
    assert "mistral" in output
    assert "moved" in output

    status, output = _check(baseline, "--providers", str(providers), "--json")
    assert status == 1
    failures = {f["name"] for f in json.loads(output)["failures"]}
    assert "requests_per_day[mistral/mistral-small-latest]" in failures
    assert "interviews_per_day" in failures

    shutil.copy(CHECKOUT / "providers.yaml", providers)  # restored: passes again
    status, output = _check(baseline, "--providers", str(providers))
    assert status == 0, output


def test_check_mistakes_are_usage_errors(baseline: Path, tmp_path: Path) -> None:
    status, output = _check(tmp_path / "missing.json")
    assert status == 2
    assert "capacity check --update" in output
    status, output = _check(baseline, "--set", "demand.interviews=5")
    assert status == 2
    status, output = _check(baseline, "--scenario", "B")
    assert status == 2
    assert "not in" in output
