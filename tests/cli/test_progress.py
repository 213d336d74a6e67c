"""The progress bar of long commands: drawn on a terminal, never with ``--json`` (a machine
reads that output, even from a terminal), and ``report`` draws a bar, not a line per run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app, common
from tests.conftest import readme_scenario

runner = CliRunner()
HIDE_CURSOR = "\x1b[?25l"
"""What a live progress bar writes first (the bar itself is transient, and a short run ends before it refreshes)."""
ONE_DAY = ["--days", "1", "--set", "demand.interviews=40", "--set", "candidates.count=4"]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """stderr taken for a terminal (Rich's force_terminal), and the README's week scenario."""
    monkeypatch.setattr(common.err_console, "_force_terminal", True)
    path = tmp_path / "week.yaml"
    path.write_text(readme_scenario(), encoding="utf-8")
    return path


def test_json_turns_the_bar_off_even_on_a_terminal(terminal: Path) -> None:
    assert common.show_progress(True) and not common.show_progress(True, as_json=True)
    drawn = runner.invoke(app, ["simulate", "-s", str(terminal), *ONE_DAY])
    assert drawn.exit_code == 0, drawn.output
    assert HIDE_CURSOR in drawn.stderr  # the bar, on stderr
    quiet = runner.invoke(app, ["simulate", "-s", str(terminal), *ONE_DAY, "--json"])
    assert quiet.exit_code == 0, quiet.output
    assert HIDE_CURSOR not in quiet.stderr
    assert quiet.stdout.lstrip().startswith("{")


def test_report_draws_a_bar_not_a_line_per_run(terminal: Path, tmp_path: Path) -> None:
    out = tmp_path / "page"
    done = runner.invoke(app, ["report", "-s", str(terminal), *ONE_DAY, "--no-curve", "--out", str(out), "-j", "1"])
    assert done.exit_code == 0, done.output
    assert HIDE_CURSOR in done.stderr  # the bar
    assert "done (" not in done.stderr  # no "run i/N done (…)" lines
    assert (out / "README.md").is_file()
    quiet = runner.invoke(app, ["report", "-s", str(terminal), *ONE_DAY, "--no-curve", "--out", str(out), "--json"])
    assert quiet.exit_code == 0, quiet.output
    assert HIDE_CURSOR not in quiet.stderr


def test_validate_draws_a_bar_of_the_live_runs_interviews(terminal: Path) -> None:
    # two interviews of A at 600×: the live side lasts seconds; the latency target is missed at
    # that scale (exit 1), the counts are not: the bar is what this test is about
    done = runner.invoke(app, ["validate", "-s", "A", "-n", "2", "--time-scale", "600"])
    assert done.exit_code in (0, 1), done.output
    assert HIDE_CURSOR in done.stderr  # the bar, on stderr
    assert "interviews carried" in done.stdout
