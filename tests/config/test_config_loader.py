"""The loader: every kind of bad input is one located problem, never a traceback.

Each case breaks one line of a copy of the shipped files and checks the problem names the
file, the line and the field; the same mistakes through ``capacity plan`` exit with status 2
and print that line on stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import load_configuration, load_providers
from capacity.errors import ConfigError, UsageError

GEMINI_LIMITS = "limits: {rpm: 15, rpd: 200, input_tpm: 1000000}"
GEMINI_LIMITS_FIELD = "providers[0].models[0].limits"

Copy = Callable[[dict[str, tuple[str, str]]], Path]
LineOf = Callable[[Path, str], int]

# (edit of providers.yaml, text on the line the problem is reported at, field, words of the message)
PROVIDER_CASES = {
    "yaml syntax error": (
        "limits: {rpm: 15, rpd: 200 input_tpm: 1000000}",
        "limits: {rpm: 15, rpd: 200 input_tpm",
        "",
        "YAML syntax error",
    ),
    "unknown key": (
        "limits: {rpm: 15, rpd: 200, input_tpm: 1000000, rpx: 3}",
        "rpx: 3",
        f"{GEMINI_LIMITS_FIELD}.rpx",
        "unknown key",
    ),
    "wrong type": (
        "limits: {rpm: 15, rpd: lots, input_tpm: 1000000}",
        "rpd: lots",
        f"{GEMINI_LIMITS_FIELD}.rpd",
        "valid integer",
    ),
    "negative limit": (
        "limits: {rpm: 15, rpd: -200, input_tpm: 1000000}",
        "rpd: -200",
        f"{GEMINI_LIMITS_FIELD}.rpd",
        "greater than or equal to 0",
    ),
    "negative credit": (
        "limits: {rpm: 15, rpd: 200, input_tpm: 1000000, credit_usd: -1}",
        "credit_usd: -1",
        f"{GEMINI_LIMITS_FIELD}.credit_usd",
        "greater than or equal to 0",
    ),
}


@pytest.mark.parametrize("case", sorted(PROVIDER_CASES))
def test_bad_providers_file_names_file_line_and_field(case: str, config_copy: Copy, line_of: LineOf) -> None:
    new, marker, field, words = PROVIDER_CASES[case]
    folder = config_copy({"providers.yaml": (GEMINI_LIMITS, new)})
    path = folder / "providers.yaml"
    with pytest.raises(ConfigError) as caught:
        load_providers(path)
    (problem,) = caught.value.problems
    assert problem.file == str(path)
    assert problem.line == line_of(path, marker)
    assert problem.field == field
    assert words in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}:")


def test_missing_field_is_reported_at_its_parent(config_copy: Copy, line_of: LineOf) -> None:
    folder = config_copy({"providers.yaml": ("    billing: free\n    accounts: 1\n", "    accounts: 1\n")})
    path = folder / "providers.yaml"
    with pytest.raises(ConfigError) as caught:
        load_providers(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field, problem.message) == (
        line_of(path, "- name: gemini"),
        "providers[0].billing",
        "required field is missing",
    )


def test_duplicate_key_is_a_problem(config_copy: Copy, line_of: LineOf) -> None:
    folder = config_copy(
        {
            "providers.yaml": (
                "    accounts: 1\n    scope: project\n",
                "    accounts: 1\n    accounts: 2\n    scope: project\n",
            )
        }
    )
    path = folder / "providers.yaml"
    with pytest.raises(ConfigError) as caught:
        load_providers(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field, problem.message) == (
        line_of(path, "accounts: 2"),
        "providers[0].accounts",
        "duplicate key",
    )


def test_several_problems_are_all_reported(config_copy: Copy) -> None:
    folder = config_copy({"providers.yaml": (GEMINI_LIMITS, "limits: {rpm: -1, rpd: -2, input_tpm: 1000000}")})
    with pytest.raises(ConfigError) as caught:
        load_providers(folder / "providers.yaml")
    assert sorted(p.field for p in caught.value.problems) == [
        f"{GEMINI_LIMITS_FIELD}.rpd",
        f"{GEMINI_LIMITS_FIELD}.rpm",
    ]


# scenario files: a child of A in the same folder, with one mistake
SCENARIO_CASES = {
    "unknown provider": (
        "routing:\n  destinations:\n    - {provider: nope, model: m}\n",
        "provider: nope",
        "routing.destinations[0].provider",
        "unknown provider 'nope'",
    ),
    "unknown model": (
        "routing:\n  destinations:\n    - {provider: groq, model: gpt-9}\n",
        "model: gpt-9",
        "routing.destinations[0].model",
        "has no model 'gpt-9'",
    ),
    "unknown key": (
        "routing:\n  colour: red\n",
        "colour: red",
        "routing.colour",
        "unknown key",
    ),
    "wrong type": (
        "demand: {kind: total, interviews: many, days: 30}\n",
        "interviews: many",
        "demand.interviews",
        "valid integer",
    ),
    "negative value": (
        "cache: {ttl_s: -5}\n",
        "ttl_s: -5",
        "cache.ttl_s",
        "greater than 0",
    ),
    "unknown ledger": (
        "routing:\n  ledger: perfect\n",
        "ledger: perfect",
        "routing.ledger",
        "'shared', 'local' or 'local_split'",
    ),
    "no router replicas": (
        "routing:\n  replicas: 0\n",
        "replicas: 0",
        "routing.replicas",
        "greater than 0",
    ),
    "unknown model group": (
        "script:\n  stages:\n    question:\n      group: fastest\n",
        "group: fastest",
        "script.stages.question.group",
        "unknown model group 'fastest' (routing.groups: default)",
    ),
    "unknown provider in a model group": (
        "routing:\n  groups:\n    fast:\n      destinations:\n        - {provider: nope, model: m}\n",
        "provider: nope",
        "routing.groups.fast.destinations[0].provider",
        "unknown provider 'nope'",
    ),
    "model group named default": (
        "routing:\n  groups:\n    default:\n      destinations:\n"
        "        - {provider: groq, model: llama-3.1-8b-instant}\n",
        "groups:",
        "routing.groups",
        "'default' is the group of routing.destinations",
    ),
    "one destination written two ways": (
        "routing:\n  groups:\n    fast:\n      destinations:\n"
        "        - {provider: groq, model: llama-3.1-8b-instant, accounts: 3}\n",
        "accounts: 3",
        "routing.groups.fast.destinations[0]",
        "groq/llama-3.1-8b-instant is in two groups with different accounts or weight",
    ),
    "unknown outage provider": (
        "outages:\n  - {provider: ghost, start_s: 0, duration_s: 60}\n",
        "provider: ghost",
        "outages[0].provider",
        "unknown provider 'ghost'",
    ),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_bad_scenario_names_file_line_and_field(case: str, config_copy: Copy, line_of: LineOf) -> None:
    body, marker, field, words = SCENARIO_CASES[case]
    folder = config_copy({"scenarios/bad.yaml": ("", "extends: A\n" + body)})
    path = folder / "scenarios" / "bad.yaml"
    with pytest.raises(ConfigError) as caught:
        load_configuration(path, folder / "providers.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), line_of(path, marker), field)
    assert words in problem.message


def test_extends_an_unknown_scenario(config_copy: Copy) -> None:
    folder = config_copy({"scenarios/bad.yaml": ("", "extends: Z\n")})
    path = folder / "scenarios" / "bad.yaml"
    with pytest.raises(ConfigError) as caught:
        load_configuration(path, folder / "providers.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (1, "extends")


def test_extends_cycle(config_copy: Copy) -> None:
    folder = config_copy({"scenarios/x.yaml": ("", "extends: y\n"), "scenarios/y.yaml": ("", "extends: x\n")})
    with pytest.raises(ConfigError, match="cycle"):
        load_configuration(folder / "scenarios" / "x.yaml", folder / "providers.yaml")


def test_set_override_of_wrong_type_is_blamed_on_set(config_copy: Copy) -> None:
    folder = config_copy({})
    with pytest.raises(ConfigError) as caught:
        load_configuration(folder / "scenarios" / "A.yaml", folder / "providers.yaml", ["demand.days=-3"])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("--set", None, "demand.days")


@pytest.mark.parametrize("assignment", ["demand.days", "=3", "nowhere.at.all.x=1"])
def test_malformed_set_is_a_usage_error(assignment: str, config_copy: Copy) -> None:
    folder = config_copy({})
    with pytest.raises(UsageError):
        load_configuration(
            folder / "scenarios" / "A.yaml", folder / "providers.yaml", ["demand.days.x=1", assignment]
        )


# through the command line: exit status 2, the located line on stderr, no traceback


def _plan(folder: Path, scenario: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--scenario",
            str(folder / "scenarios" / f"{scenario}.yaml"),
            "--providers",
            str(folder / "providers.yaml"),
            *extra,
        ],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("case", sorted(PROVIDER_CASES))
def test_cli_exits_2_on_bad_providers(case: str, config_copy: Copy, line_of: LineOf) -> None:
    new, marker, field, _ = PROVIDER_CASES[case]
    folder = config_copy({"providers.yaml": (GEMINI_LIMITS, new)})
    status, stderr = _plan(folder, "A")
    path = folder / "providers.yaml"
    assert status == 2
    assert f"{path}:{line_of(path, marker)}:" in stderr
    assert field in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_cli_exits_2_on_bad_scenario(case: str, config_copy: Copy, line_of: LineOf) -> None:
    body, marker, field, words = SCENARIO_CASES[case]
    folder = config_copy({"scenarios/bad.yaml": ("", "extends: A\n" + body)})
    status, stderr = _plan(folder, "bad")
    path = folder / "scenarios" / "bad.yaml"
    assert status == 2
    assert f"error: {path}:{line_of(path, marker)}: {field}:" in stderr
    assert words in stderr


def test_cli_exits_2_on_bad_set(config_copy: Copy) -> None:
    folder = config_copy({})
    status, stderr = _plan(folder, "A", "--set", "demand.days=-3")
    assert status == 2
    assert "error: --set: demand.days: Input should be greater than 0" in stderr


def test_model_check_failing_after_set_names_the_override(config_copy: Copy, line_of: LineOf) -> None:
    folder = config_copy({})
    path = folder / "scenarios" / "A.yaml"
    status, stderr = _plan(folder, "A", "--set", "calendar.business_hours_end=07:00")
    assert status == 2
    assert f"{path}:{line_of(path, 'calendar:')}: calendar: business_hours_end must be after" in stderr
    assert "(after --set calendar.business_hours_end)" in stderr
