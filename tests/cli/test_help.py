"""Every command's ``--help``: an Examples section whose commands parse, metavars that read as
words, no text lost to Markdown, and ``check``'s options that apply only with ``--update``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config.paths import default_baseline_path
from tests.conftest import CHECKOUT

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]


def help_of(name: str) -> str:
    result = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_is_here() -> None:
    assert set(COMMANDS) >= {"check", "compare", "emulate", "gpu", "init", "live", "plan", "providers", "report",
                             "scenarios", "schema", "simulate", "size", "validate"}  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_examples_that_parse(name: str) -> None:
    text = help_of(name)
    assert "Examples:" in text
    examples = re.findall(r"^\s*(capacity [^\n│]*?)\s*$", text.split("Examples:")[1].split("Exit status")[0], re.M)
    assert examples, text
    for example in examples:
        words = shlex.split(example.split("  #")[0].split(" && ")[0].split(" > ")[0])
        assert words[1] == name
        command = GROUP.commands[name]  # type: ignore[attr-defined]
        command.make_context(name, words[2:])  # raises click.UsageError on an unknown option or bad value


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_metavars_read_as_words(name: str) -> None:
    text = help_of(name)
    panels = [line for line in text.splitlines() if line.startswith("│")]
    options = [line for line in panels if re.match(r"│\s+(-\w|--\w)", line)]
    assert options
    assert any(re.match(r"│\s+--help\s{2,}Show this message", line) for line in options)  # a flag: no type
    for line in panels:  # a value is named (N, FILE, FIELD=VALUE), never typed (<bool>, <list[str]>, <str>)
        assert not re.search(r"<[a-z][\w\[\], |]*>", line), line


def test_report_help_keeps_its_path_text() -> None:
    assert "reports/NAME/" in help_of("report")


def test_check_help_says_set_is_only_for_update() -> None:
    text = help_of("check")
    line = next(line for line in text.splitlines() if "--set" in line and "FIELD=VALUE" in line)
    assert "With --update only" in line


def test_check_finds_the_shipped_baseline_outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = default_baseline_path()
    assert found.resolve() == (CHECKOUT / "reports" / "baseline.json").resolve()
    missing = runner.invoke(app, ["check", "--baseline", "nowhere.json"])
    assert missing.exit_code == 2
    assert "without --baseline, `capacity check` uses ./reports/baseline.json" in missing.stderr
