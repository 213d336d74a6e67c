"""``capacity report`` through the command line."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.cli.report_cmd import variant_folder
from capacity.studies.runner import Task

T = TypeVar("T")

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


def test_a_variant_never_overwrites_the_shipped_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tried as a new user would: `report -s A --days 2` wrote into reports/A, over the shipped month."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "-s", "A", "--days", "1", *SMALL, "--no-curve", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "A-1-day-custom" / "README.md").is_file()
    assert not (tmp_path / "reports" / "A").exists()
    assert variant_folder("A", None, None, False) == "A"  # the scenario as shipped: its own page
    assert variant_folder("A", 2, None, False) == "A-2-days"
    assert variant_folder("B", None, 7, False) == "B-seed-7"
    assert variant_folder("A", 5, 3, True) == "A-5-days-seed-3-custom"


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
    assert f"Regenerate with `capacity report --scenario {own} --days 1`" in page  # its own horizon too
    assert "scenarios/small.yaml" not in page


TINY = "demand: {kind: per_day, interviews: 200, days: 1}\ncandidates: {count: 20}\n"
LEVERS = {
    "scenarios/Tb.yaml": ("", "extends: B\ndescription: tiny free tiers\n" + TINY),
    "scenarios/Tb-levers.yaml": ("", "extends: Tb\nrouting: {session_affinity: true}\n"),
}


def test_report_all_runs_every_study_in_one_pool_and_a_shared_run_once(
    config_copy: Callable[[dict[str, tuple[str, str]]], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--all on stand-ins: a page of Tb (a curve of two points) and the levers of Tb; the page's run
    is also the levers' "none" row and the curve's point at Tb's own demand (its one day)."""
    from capacity.cli import report_cmd
    from capacity.report import pages
    from capacity.studies import runner as runner_module
    from capacity.studies import runs

    monkeypatch.setattr(runs, "curve_tasks", functools.partial(runs.curve_tasks, factors=(0.5, 1.0)))
    monkeypatch.chdir(config_copy(LEVERS))
    monkeypatch.setattr(pages, "ALL_SCENARIOS", ("Tb",))
    monkeypatch.setattr(report_cmd, "SHIPPED_COMPARISONS", ())
    monkeypatch.setattr(report_cmd, "SHIPPED_LEVERS", (("Tb", "Tb-levers"),))
    pools: list[tuple[int, int]] = []  # (tasks asked for, runs made) per call of the pool
    real = runner_module.run_tasks

    def spy(tasks: Sequence[Task[T]], processes: int = 1, **kwargs: Any) -> list[T]:
        made: list[int] = []
        results = real(tasks, processes, done=lambda finished, _total, _label: made.append(finished))
        pools.append((len(tasks), len(made)))
        return results

    monkeypatch.setattr(runner_module, "run_tasks", spy)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--all", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # one pool of six tasks: Tb's run, its curve at × 0.5 and × 1, the levers' none, prompt caching
    # alone and all; Tb's run, the curve's × 1 and "none" are one simulation: four runs made
    assert pools == [(6, 4)]
    assert (out / "Tb" / "README.md").is_file()
    levers_page = (out / "levers-Tb" / "README.md").read_text(encoding="utf-8")
    assert "| none (Tb) |" in levers_page and "| all (Tb-levers) |" in levers_page
    assert "levers-Tb" in (out / "README.md").read_text(encoding="utf-8")


def test_a_short_report_explains_why_it_carries_more_than_the_static_plan(tmp_path: Path) -> None:
    """Tried as a new user would: A's 2-day page said the simulation spends the quotas "with per-minute limits
    binding at the peaks" beside its own 1,430 a day carried against the plan's 1,045."""
    args = ["report", "-s", "A", "--days", "2", "--no-curve", "--jobs", "1", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    page = " ".join((tmp_path / "README.md").read_text(encoding="utf-8").split())
    assert "falls short of the need" in page and "It carried more, " in page
    assert "in 2 day(s) of a 30-day demand, monthly caps and one-time credits are spent freely" in page
