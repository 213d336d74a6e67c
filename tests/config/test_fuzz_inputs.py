"""Fuzzing the inputs: however the shipped providers.yaml or scenario A is broken, loading it
either succeeds or raises :class:`~capacity.errors.ConfigError` / :class:`~capacity.errors.UsageError`
whose every problem is located (file and line, or ``--set``) — never another exception, never a
hang. Through the command line (a sample): exit status 2, no traceback, one line per problem.
Numeric options of simulate, size and live out of range: exit 2 naming the option, nothing runs.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import load_configuration
from capacity.config.yamldoc import MAX_DEPTH, MAX_FILE_BYTES, SET_ORIGIN
from capacity.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ROOT / "providers.yaml"
SCENARIO = ROOT / "scenarios" / "A.yaml"
PROVIDERS_DATA = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))
SCENARIO_DATA = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# values that are wrong somewhere in almost every field
BAD_VALUES = st.one_of(
    st.sampled_from([None, True, "", "abc", [], {}, [1, 2], {"x": 1}, -1, 0, -1e9, 1e308, 10**30]),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["2025-02-30", "2025-13-01", "Mars/Olympus", "no-such-provider", "no-such-model"]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key or index path in a parsed document (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


PROVIDER_PATHS = _paths(PROVIDERS_DATA)
SCENARIO_PATHS = _paths(SCENARIO_DATA)


@st.composite
def mutated(draw: st.DrawFn, data: Any, paths: list[tuple[Any, ...]]) -> Any:
    """``data`` with one to three fields replaced by a bad value, deleted, or given an unknown sibling."""
    doc = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            if not isinstance(parent, dict | list) or (
                isinstance(parent, list) and (not isinstance(part, int) or part >= len(parent))
            ):
                break
            if isinstance(parent, dict) and part not in parent:
                break
            parent = parent[part]
        else:
            last = path[-1]
            present = (isinstance(parent, dict) and last in parent) or (
                isinstance(parent, list) and isinstance(last, int) and last < len(parent)
            )
            if not present:
                continue
            action = draw(st.sampled_from(["replace", "delete", "unknown_key"]))
            if action == "replace":
                parent[last] = draw(BAD_VALUES)
            elif action == "delete":
                del parent[last]
            elif isinstance(parent, dict):
                parent[f"unexpected_{draw(st.integers(0, 9))}"] = draw(BAD_VALUES)
    return doc


def _assert_located(error: UserError, files: set[str]) -> None:
    """Every problem names one of ``files`` and a line, or comes from ``--set``."""
    assert isinstance(error, ConfigError | UserError)
    if isinstance(error, ConfigError):
        assert error.problems
        for problem in error.problems:
            assert problem.file in files | {SET_ORIGIN}, problem
            assert problem.line is not None or problem.file == SET_ORIGIN or "refused" in problem.message, problem
            assert "\n" not in str(problem)
    else:
        assert error.lines and all("\n" not in line for line in error.lines)


def _load_or_located(scenario: Path, providers: Path, overrides: tuple[str, ...] = ()) -> UserError | None:
    """Load; return the user error (asserted located) or None if the configuration loads."""
    try:
        load_configuration(scenario, providers, overrides)
    except UserError as exc:
        _assert_located(exc, {str(scenario), str(providers)})
        return exc
    return None


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@FUZZ
@given(doc=mutated(PROVIDERS_DATA, PROVIDER_PATHS))
def test_a_mutated_providers_file_loads_or_is_refused_with_located_problems(doc: Any, tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text(_dump(doc), encoding="utf-8")
    _load_or_located(SCENARIO, path)


@FUZZ
@given(doc=mutated(SCENARIO_DATA, SCENARIO_PATHS))
def test_a_mutated_scenario_loads_or_is_refused_with_located_problems(doc: Any, tmp_path: Path) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_text(_dump(doc), encoding="utf-8")
    _load_or_located(path, PROVIDERS)


def test_the_mutations_do_break_the_files(tmp_path: Path) -> None:
    """The fuzzer's bad values are refused where they land (the tests above are not vacuous)."""
    path = tmp_path / "broken.yaml"
    bad = copy.deepcopy(SCENARIO_DATA)
    bad["demand"]["interviews"] = -1
    bad["calendar"]["timezones"][0]["timezone"] = "Mars/Olympus"
    bad["routing"]["unexpected_0"] = math.inf
    path.write_text(_dump(bad), encoding="utf-8")
    error = _load_or_located(path, PROVIDERS)
    assert isinstance(error, ConfigError)
    assert sorted(p.field for p in error.problems) == [
        "calendar.timezones[0].timezone",
        "demand.interviews",
        "routing.unexpected_0",
    ]


def _text_mutations() -> st.SearchStrategy[bytes]:
    """Whole-file damage: truncation, junk, duplicate lines, deep nesting, sheer size, aliases."""
    text = SCENARIO.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    truncated = st.integers(0, len(text)).map(lambda n: text[:n].encode())
    junk = st.binary(max_size=200)
    inserted = st.tuples(st.integers(0, len(text)), st.text(min_size=1, max_size=5)).map(
        lambda t: (text[: t[0]] + t[1] + text[t[0] :]).encode()
    )
    duplicated = st.integers(0, len(lines) - 1).map(
        lambda i: "".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]).encode()
    )
    nested = st.integers(MAX_DEPTH + 1, 20_000).map(lambda n: ("demand: " + "[" * n + "]" * n + "\n").encode())
    enormous = st.just(("description: " + "x" * MAX_FILE_BYTES + "\n").encode())
    laughs = st.just(
        (
            "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(
                f"x-{b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]\n"
                for a, b in zip("abcdefgh", "bcdefghi", strict=True)
            )
            + text
        ).encode()
    )
    return st.one_of(truncated, junk, inserted, duplicated, nested, enormous, laughs, st.just(b""))


@FUZZ
@given(content=_text_mutations())
def test_a_damaged_scenario_file_loads_or_is_refused_with_located_problems(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "damaged.yaml"
    path.write_bytes(content)
    _load_or_located(path, PROVIDERS)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", ":1: expected a mapping at the top level of a Scenario file"),
        (b"\x00\xff junk", ":1: not UTF-8 text (byte 1)"),
        (("demand: " + "[" * 100 + "]" * 100).encode(), f":1: nested more than {MAX_DEPTH} levels deep; refused"),
        (b"seed: 1\nseed: 2\n", ":2: seed: duplicate key"),
        (b"seed: [1\n", ":2: YAML syntax error: "),
    ],
)
def test_whole_file_damage_is_named(content: bytes, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "damaged.yaml"
    path.write_bytes(content)
    error = _load_or_located(path, PROVIDERS)
    assert error is not None
    assert error.lines[0].startswith(f"{path}{expected}")


@FUZZ
@given(
    field=st.sampled_from(["demand.interviews", "calendar.start_date", "routing.turn_deadline_s", "seed",
                           "calendar.timezones[0].share", "routing.destinations[0].provider", "no.such.field"]),
    value=st.one_of(st.sampled_from(["-1", "0", ".nan", ".inf", "1e400", "2025-02-30", "Mars", "[", "{a: 1}", "''"]),
                    st.text(max_size=12)),
)
def test_bad_set_values_are_refused_with_located_problems(field: str, value: str) -> None:
    _load_or_located(SCENARIO, PROVIDERS, (f"{field}={value}",))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated(SCENARIO_DATA, SCENARIO_PATHS))
def test_the_cli_prints_one_line_per_problem_and_exits_2(doc: Any, tmp_path: Path) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_text(_dump(doc), encoding="utf-8")
    error = _load_or_located(path, PROVIDERS)
    result = CliRunner().invoke(app, ["plan", "-s", str(path), "--providers", str(PROVIDERS), "--json"])
    assert "Traceback" not in result.output
    if error is None:
        assert result.exit_code in (0, 1), result.output
        return
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.splitlines() == [f"error: {line}" for line in error.lines]


def _unboxed(text: str) -> str:
    """Click's usage error as one line of words: the Rich panel's borders and wrapping removed."""
    return " ".join(text.replace("│", " ").split())


NUMERIC_OPTIONS = [
    ("simulate", "--days"),
    ("simulate", "--replications"),
    ("simulate", "--seed"),
    ("size", "--days"),
    ("size", "--jobs"),
    ("size", "--servers"),
    ("size", "--gpus-per-server"),
    ("live", "--interviews"),
    ("live", "--routers"),
    ("live", "--time-scale"),
    ("live", "--seed"),
]
OUT_OF_RANGE = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=2**63),
    st.sampled_from(["0x10", "abc", "", "1e999", "nan", "-inf"]),
)


@settings(max_examples=60, deadline=None)
@given(option=st.sampled_from(NUMERIC_OPTIONS), value=OUT_OF_RANGE)
def test_numeric_options_out_of_range_exit_2_naming_the_option(option: tuple[str, str], value: int | str) -> None:
    command, name = option
    result = CliRunner().invoke(app, [command, name, str(value), "--no-progress"])
    assert result.exit_code == 2, (command, name, value, result.output)
    assert isinstance(result.exception, SystemExit)
    assert f"Invalid value for '{name}'" in _unboxed(result.stderr)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("command", "option"), [("simulate", "--days"), ("simulate", "--replications"),
                                                  ("size", "--days"), ("live", "--interviews"), ("live", "--routers")])
def test_zero_is_refused_where_at_least_one_is_needed(command: str, option: str) -> None:
    result = CliRunner().invoke(app, [command, option, "0", "--no-progress"])
    assert result.exit_code == 2
    message = _unboxed(result.stderr)
    assert f"Invalid value for '{option}'" in message and "greater than or equal to 1" in message, message
