"""``capacity report`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()
SMALL = ["--set", "demand.interviews=2000", "--set", "candidates.count=200"]


def test_report_writes_a_page_and_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "A"
    result = runner.invoke(
        app,
        ["report", "--scenario", "A", "--days", "1", *SMALL, "--no-curve", "--jobs", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    page = (out / "README.md").read_text(encoding="utf-8")
    assert page.startswith("# Scenario A")
    for name in ("demand.png", "quota.png", "latency.png", "requests.png", "cost.png"):
        assert (out / name).is_file()
        assert f"]({name})" in page
    assert not (out / "capacity-curve.png").exists()
    assert str(out / "README.md") in result.stdout


def test_report_needs_exactly_one_of_scenario_and_all() -> None:
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2
    assert "either --scenario NAME or --all" in result.output
    result = runner.invoke(app, ["report", "--all", "--scenario", "A"])
    assert result.exit_code == 2


def test_report_all_regenerates_what_is_shipped_only() -> None:
    result = runner.invoke(app, ["report", "--all", "--days", "1"])
    assert result.exit_code == 2
    assert "no --days, --seed or --set" in result.output


def test_report_of_an_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--scenario", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown scenario 'nope'" in result.output
    result = runner.invoke(app, ["report", "--scenario", "A", "--days", "31", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "has 30 days" in result.output


def test_report_json_is_the_run_document_with_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "A"
    result = runner.invoke(
        app,
        ["report", "-s", "A", "--days", "1", *SMALL, "--no-curve", "--jobs", "1", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert str(out / "README.md") in document["files"]
    run = document["run"]
    assert run["scenario"] == "A"
    assert run["verdict"]["headline"] in (out / "README.md").read_text(encoding="utf-8")
    assert "router_refusals" in run["destinations"][0]
    assert len(run["timeseries"]["api_calls"]) >= 24 * 60
    assert document["plan"]["need_interviews_per_day"] == pytest.approx(2000 / 22)


def test_a_page_of_a_users_own_file_names_that_file(tmp_path: Path) -> None:
    own = tmp_path / "small.yaml"
    own.write_text("extends: A\ndemand: {kind: total, interviews: 2000, days: 30}\ncandidates: {count: 200}\n")
    out = tmp_path / "page"
    args = ["report", "--scenario", str(own), "--days", "1", "--no-curve", "--jobs", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    page = (out / "README.md").read_text(encoding="utf-8")
    assert f"A simulated run of `{own}` on `providers.yaml`" in page
    assert f"Regenerate with `capacity report --scenario {own}`" in page
    assert "scenarios/small.yaml" not in page
