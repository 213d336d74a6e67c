"""``capacity simulate`` and the app's face through a real process, where exit status, the
terminal width and the shell matter: exit 0 on a finished answer, ``--fail-if-short`` for CI
gates, COLUMNS honoured when piped, the providers file named, bare ``capacity`` and shell
completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import readme_scenario

CAPACITY = [sys.executable, "-m", "capacity"]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | env
    return subprocess.run([*CAPACITY, *args], cwd=cwd, env=environ, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("week")
    (folder / "week.yaml").write_text(readme_scenario(), encoding="utf-8")
    return folder


def test_a_plan_that_falls_short_is_still_an_answer(week: Path) -> None:
    done = run(["simulate", "-s", "week.yaml", "--no-progress"], week)
    assert done.returncode == 0, done.stderr
    assert "NO: it carries" in done.stdout
    gated = run(["simulate", "-s", "week.yaml", "--no-progress", "--fail-if-short"], week)
    assert gated.returncode == 1
    assert "NO: it carries" in gated.stdout
    planned = run(["plan", "-s", "week.yaml", "--fail-if-short"], week)
    assert planned.returncode == 1
    assert "FALLS SHORT" in planned.stdout


def test_piped_tables_take_columns_and_keep_names_whole(week: Path) -> None:
    for columns in (100, 140):
        out = run(["simulate", "-s", "week.yaml", "--no-progress"], week, COLUMNS=str(columns)).stdout
        lines = out.splitlines()
        assert max(len(line) for line in lines) == columns
        assert "…" not in out
        table = "".join(line.strip("│ ") for line in lines)  # names folded over lines read whole
        assert "gemini/gemini-2.5-flash-lite" in table.replace("│", "").replace(" ", "")
    wide = run(["simulate", "-s", "week.yaml", "--no-progress"], week).stdout
    assert max(len(line) for line in wide.splitlines()) == 160  # piped without COLUMNS
    assert "│ gemini/gemini-2.5-flash-lite │" in wide  # 160 columns: the name whole on one line
    for out in (wide, run(["simulate", "-s", "week.yaml", "--no-progress"], week, COLUMNS="120").stdout):
        lines = out.splitlines()
        top = next(i for i, line in enumerate(lines) if line.startswith("Destinations"))
        bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
        # the table fits the width: every line keeps its right edge (none cut mid-column)
        assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in lines[top + 1 : bottom + 1])


def test_simulate_names_the_providers_file_it_used(week: Path) -> None:
    out = run(["simulate", "-s", "week.yaml", "--no-progress"], week, COLUMNS="200").stdout
    line = next(line for line in out.splitlines() if "│ providers" in line)
    named = Path(line.split("│")[2].strip())
    assert named.name == "providers.yaml"
    assert named.is_file()
    mine = week / "providers.yaml"
    mine.write_text(named.read_text(encoding="utf-8"), encoding="utf-8")
    try:
        out = run(["simulate", "-s", "week.yaml", "--no-progress"], week, COLUMNS="200").stdout
        assert f"│ providers           │ {mine} " in out  # ./providers.yaml comes first
    finally:
        mine.unlink()


def test_bare_capacity_prints_help_and_succeeds(tmp_path: Path) -> None:
    done = run([], tmp_path)
    assert done.returncode == 0
    assert "Usage:" in done.stdout
    assert "simulate" in done.stdout


def test_shell_completion_completes_commands_and_scenarios(tmp_path: Path) -> None:
    # Typer's completion protocol for bash: the words typed and the index of the one completed
    def complete(words: str) -> list[str]:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "capacity")],  # the console script: completion keys on its name
            cwd=tmp_path,
            env=os.environ | {"_CAPACITY_COMPLETE": "complete_bash", "COMP_WORDS": words,
                              "COMP_CWORD": str(len(words.split()) - 1)},
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.split()

    assert complete("capacity simu") == ["simulate"]
    assert complete("capacity simulate --fail") == ["--fail-if-short"]
    assert complete("capacity simulate -s B-g") == ["B-gpu", "B-gpu-24h", "B-groq"]


def test_on_an_80_column_terminal_the_destinations_are_stacked_not_squeezed(week: Path) -> None:
    # a new user's trial: at 80 columns the ten-column table wrapped to 4 characters a column
    out = run(["simulate", "-s", "week.yaml", "--no-progress"], week, COLUMNS="80").stdout
    lines = out.splitlines()
    top = lines.index("Destinations")
    assert lines[top + 1].strip() == "groq/llama-3.1-8b-instant"  # each destination a heading, its name whole
    assert lines[top + 2].split() == ["accts", "1"]
    assert any(line.strip() == "gemini/gemini-2.5-flash-lite" for line in lines[top:])
    plan = run(["plan", "-s", "week.yaml"], week, COLUMNS="80").stdout
    assert "  Binding limit" in plan and "Capacity per interviewing day, by destination" in plan
