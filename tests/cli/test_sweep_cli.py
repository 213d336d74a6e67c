"""``capacity sweep``: bad input refused in one line before any run; a small grid's files (CSV,
Markdown, figure) and JSON agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capacity.cli import app, common

runner = CliRunner()
TINY_B = ["-s", "B", "--set", "demand.interviews=40", "--set", "candidates.count=4"]


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the sweep's runs fail the test if they start."""

    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("a run started before the input was validated")

    monkeypatch.setattr("capacity.cli.sweep_cmd.run_grid", forbidden)


@pytest.mark.usefixtures("no_run")
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--grid", "providers.groq.accounts=1,0"], "error: --grid: providers.groq.accounts=0: Input should be"),
        (["--grid", "cache.ttl=60"], "error: --grid: cache.ttl=60: unknown key"),
        ([], "error: --grid: give at least one"),
        (["--grid", "cache.ttl_s=60", "--metric", "carried"], "error: --metric 'carried': not a headline number"),
        (["--grid", "cache.ttl_s=60", "--executor", "ray"], "error: --executor 'ray': choose process or dask"),
        (["--grid", "cache.ttl_s=60", "--scheduler", "tcp://127.0.0.1:8786"], "error: --scheduler is the address"),
        (["--grid", "cache.ttl_s=60", "--executor", "dask", "--scheduler", "h:1"], "error: --scheduler 'h:1'"),
        (["--grid", "cache.ttl_s=60", "--set", "cache.ttl_s=-1"], "error: --set: cache.ttl_s: Input should be greater"),
        (["--grid", "cache.ttl_s=60", "--fidelity", "warp"], "error: --fidelity warp: expected exact or fluid"),
        (["--grid", "cache.ttl_s=60", "--fidelity", "fluid", "--metric", "turn_latency_p95_s"],
         "error: --metric turn_latency_p95_s: turn latency is not modelled in fluid mode"),
        (["--grid", "routing.strategy=fill_first,latency_aware", "--fidelity", "fluid"],
         "error: --fidelity fluid: B with routing.strategy=latency_aware: routing.strategy latency_aware is not "
         "modelled in fluid mode"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_run(args: list[str], line: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", *TINY_B, "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(line)
    assert not (tmp_path / "out").exists()


def test_a_one_axis_sweep_writes_its_table_figure_and_json(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = ["sweep", *TINY_B, "--grid", "cache.ttl_s=600,86400", "-r", "2", "--workers", "1", "--out", str(out)]
    result = runner.invoke(app, [*args, "--metric", "cache_hit_rate", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # values as the configuration reads them (numbers, not their text: a new user's trial)
    assert [c["values"] for c in document["cells"]] == [{"cache.ttl_s": 600}, {"cache.ttl_s": 86400}]
    assert document["axes"] == [{"path": "cache.ttl_s", "values": [600, 86400]}]
    assert all(len(c["seeds"]) == len(c["runs"]) == 2 for c in document["cells"])
    with (out / "grid.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row, cell in zip(rows, document["cells"], strict=True):
        hit = cell["metrics"]["cache_hit_rate"]
        runs = [r["cache_hit_rate"] for r in cell["runs"]]
        assert float(row["cache_hit_rate_mean"]) == pytest.approx(hit["mean"]) == pytest.approx(sum(runs) / 2)
        assert float(row["cache_hit_rate_ci95_low"]) <= hit["mean"] <= float(row["cache_hit_rate_ci95_high"])
    assert float(rows[1]["cache_hit_rate_mean"]) > float(rows[0]["cache_hit_rate_mean"])  # a longer TTL hits more
    page = (out / "grid.md").read_text(encoding="utf-8")
    assert "| cache.ttl_s |" in page
    assert "![response-cache hit rate (0–1) over the grid](grid.png)" in page
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert document["files"]["png"] == str(out / "grid.png")
    # whether the replications tell the cells apart (a trial: a heatmap's contrast read as an effect)
    cells = document["cells"]
    low, high = (cells[i]["metrics"]["cache_hit_rate"] for i in (0, 1))
    apart = "the highest cell stands apart" if low["ci95_high"] < high["ci95_low"] else "not told apart"
    assert "On response-cache hit rate (0–1), " in page and apart in page


def test_a_terminal_gets_a_progress_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(common.err_console, "_force_terminal", True)
    args = ["sweep", *TINY_B, "--grid", "cache.ttl_s=600", "-r", "1", "--workers", "1", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "\x1b[?25l" in result.stderr  # what a live Rich bar writes first (the bar is transient)
    assert "written: " in result.stdout
    assert "No figure" not in result.stdout


def test_one_replication_has_no_interval_and_the_json_is_strict(tmp_path: Path) -> None:
    """Tried as a new user would: with ``-r 1`` the JSON said ``ci95_low: 0.0, ci95_high: null`` and the CSV a
    zero-width interval (low = high = mean); a fluid grid's JSON held ``-Infinity``, which JavaScript's
    ``JSON.parse`` refuses. No interval is none, everywhere, and every number is finite or null."""
    out = tmp_path / "one"
    args = ["sweep", *TINY_B, "--grid", "cache.ttl_s=600", "-r", "1", "--workers", "1", "--out", str(out)]
    result = runner.invoke(app, [*args, "--fidelity", "fluid", "--json"])
    assert result.exit_code == 0, result.output

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    document = json.loads(result.stdout, parse_constant=refuse)
    metrics = document["cells"][0]["metrics"]
    assert metrics["carried_interviews_per_day"]["mean"] > 0
    assert metrics["carried_interviews_per_day"]["ci95_low"] is None
    assert metrics["carried_interviews_per_day"]["ci95_high"] is None
    assert metrics["turn_latency_p95_s"] == {"mean": None, "ci95_low": None, "ci95_high": None}
    assert document["cells"][0]["runs"][0]["turn_latency_p95_s"] is None
    with (out / "grid.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert float(row["carried_interviews_per_day_mean"]) == metrics["carried_interviews_per_day"]["mean"]
    assert row["carried_interviews_per_day_ci95_low"] == row["carried_interviews_per_day_ci95_high"] == ""
