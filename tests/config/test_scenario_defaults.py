"""Writing one's own scenario: documented defaults, ``extends`` of a shipped scenario from
anywhere, ``-s`` by name or file name, and ``--set`` with list indices.

The ten-line scenario is the README's own example, read from the README, so the README and
the tool cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.config.loader import set_path
from capacity.config.scenario import DEFAULT_CALENDAR, DEFAULT_SCRIPT
from capacity.errors import ConfigError, UsageError
from tests.conftest import CHECKOUT, load_shipped, readme_scenario


@pytest.fixture
def week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's example saved as week.yaml in a folder outside the checkout (the cwd)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "week.yaml"
    path.write_text(readme_scenario(), encoding="utf-8")
    return path


def test_readme_example_is_ten_lines_or_fewer() -> None:
    assert len(readme_scenario().strip().splitlines()) <= 10


def test_readme_scenario_takes_the_shipped_script_and_calendar(week: Path) -> None:
    config = load_configuration(week, default_providers_path())
    sc = config.scenario
    assert sc.name == "week"
    assert (sc.demand.interviews, sc.demand.days, sc.candidates.count) == (500, 5, 50)
    assert sc.candidates.spacing == "spread"
    assert sc.script == DEFAULT_SCRIPT
    assert sc.calendar == DEFAULT_CALENDAR
    assert len(sc.script.sequence()) == 26
    assert sc.calendar.start_date.isoformat() == "2025-10-06"
    assert [z.timezone for z in sc.calendar.timezones] == ["America/New_York", "America/Chicago", "America/Los_Angeles"]
    assert [d.label for d in sc.routing.destinations] == ["groq/llama-3.1-8b-instant", "gemini/gemini-2.5-flash-lite"]


def test_defaults_are_scenario_a_s_script_and_calendar() -> None:
    a = load_shipped("A").scenario
    assert a.script == DEFAULT_SCRIPT
    assert a.calendar == DEFAULT_CALENDAR


def test_partial_section_keeps_the_defaults_of_the_rest(week: Path) -> None:
    week.write_text(readme_scenario() + "calendar: {start_date: 2026-01-05}\nscript: {rounds: 8}\n", encoding="utf-8")
    sc = load_configuration(week, default_providers_path()).scenario
    assert sc.calendar.start_date.isoformat() == "2026-01-05"
    assert sc.calendar.hourly_profile == DEFAULT_CALENDAR.hourly_profile
    assert sc.script.rounds == 8
    assert sc.script.stages == DEFAULT_SCRIPT.stages
    assert len(sc.script.sequence()) == 2 + 8 * 2 - 1 + 1


def test_a_written_field_replaces_the_default_whole(week: Path) -> None:
    week.write_text(
        readme_scenario()
        + "script: {think_time_s: {kind: constant, value: 60}}\n"
        + "calendar: {business_hours_start: '08:00', business_hours_end: '12:00',"
        + " timezones: [{timezone: UTC, share: 1}]}\n",
        encoding="utf-8",
    )
    sc = load_configuration(week, default_providers_path()).scenario
    assert sc.script.think_time_s.model_dump() == {"kind": "constant", "value": 60.0}
    assert sc.script.answer_tokens == DEFAULT_SCRIPT.answer_tokens
    assert [z.timezone for z in sc.calendar.timezones] == ["UTC"]
    assert sc.calendar.hourly_profile is None  # own business hours: a flat profile unless given
    assert sc.calendar.business_hours == 4


def test_own_stages_replace_the_shipped_ones(week: Path) -> None:
    week.write_text(
        readme_scenario()
        + "script:\n  opening: [ask]\n  system_prompt_tokens: 100\n  resume_tokens: 500\n"
        + "  answer_tokens: {kind: constant, value: 80}\n  think_time_s: {kind: constant, value: 30}\n"
        + "  stages:\n    ask: {output_tokens: {kind: constant, value: 50}, max_output_tokens: 100}\n",
        encoding="utf-8",
    )
    sc = load_configuration(week, default_providers_path()).scenario
    assert list(sc.script.stages) == ["ask"]
    assert sc.script.sequence() == ["ask"]  # no shipped round or closing naming shipped stages
    assert (sc.script.rounds, sc.script.round, sc.script.closing) == (0, [], [])


def test_set_reaches_a_defaulted_section(week: Path) -> None:
    config = load_configuration(week, default_providers_path(), ["script.rounds=4", "calendar.weekdays_only=false"])
    assert config.scenario.script.rounds == 4
    assert config.scenario.script.resume_tokens == DEFAULT_SCRIPT.resume_tokens
    assert config.scenario.calendar.weekdays_only is False


def test_extends_a_shipped_scenario_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "elsewhere" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text("extends: A\ndemand: {kind: total, interviews: 1000, days: 30}\ncandidates: {count: 100}\n")
    sc = load_configuration(mine, default_providers_path()).scenario
    a = load_shipped("A").scenario
    assert (sc.name, sc.demand.interviews, sc.candidates.count) == ("mine", 1000, 100)
    assert sc.routing == a.routing
    assert sc.seed == a.seed


def test_extends_an_unknown_name_suggests_the_close_one(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: a\n")
    with pytest.raises(ConfigError) as caught:
        load_configuration(mine, default_providers_path())
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(mine), 1, "extends")
    assert "did you mean 'A'?" in problem.message


def test_scenario_by_file_name_from_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CHECKOUT)
    assert scenario_path("A.yaml").resolve() == (CHECKOUT / "scenarios" / "A.yaml").resolve()
    assert scenario_path("scenarios/B.yaml") == Path("scenarios/B.yaml")


@pytest.mark.parametrize(("typed", "meant"), [("a", "A"), ("b-gpu", "B-gpu"), ("seed-claim", "seed-claims")])
def test_unknown_scenario_suggests_the_close_one(typed: str, meant: str) -> None:
    with pytest.raises(UsageError, match=f"did you mean '{meant}'"):
        scenario_path(typed)


def test_missing_scenario_file_is_named() -> None:
    with pytest.raises(UsageError, match=r"scenario file nowhere/x\.yaml does not exist"):
        scenario_path("nowhere/x.yaml")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("routing.destinations[1].accounts", ["routing", "destinations", 1, "accounts"]),
        ("routing.destinations.1.accounts", ["routing", "destinations", 1, "accounts"]),
        ("sla.p95_turn_latency_s", ["sla", "p95_turn_latency_s"]),
        ("calendar.hourly_profile[0]", ["calendar", "hourly_profile", 0]),
    ],
)
def test_set_path_syntax(text: str, parts: list[str | int]) -> None:
    assert set_path(text) == parts


@pytest.mark.parametrize("text", ["routing..destinations", "routing.destinations[x]", "a[1", ""])
def test_malformed_set_paths(text: str) -> None:
    assert set_path(text) is None


def test_set_with_an_index_changes_that_destination() -> None:
    config = load_shipped("A", ("routing.destinations[1].accounts=3",))
    assert config.scenario.routing.destinations[1].accounts == 3
    assert config.scenario.routing.destinations[0].accounts is None


def test_wrong_set_path_names_the_option_not_a_line(week: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_configuration(week, default_providers_path(), ["routing.turn_dedline_s=60"])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("--set", None, "routing.turn_dedline_s")
    assert problem.message == "unknown key (did you mean 'turn_deadline_s'?)"  # the nearest field of routing
    with pytest.raises(ConfigError) as caught:
        load_configuration(week, default_providers_path(), ["routingg.deadline.x=3"])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("--set", None, "routingg")
    with pytest.raises(UsageError, match=r"routing\.destinatons\[0\] does not exist"):
        load_configuration(week, default_providers_path(), ["routing.destinatons[0].accounts=3"])
    with pytest.raises(UsageError, match=r"routing\.destinations\[7\] does not exist"):
        load_configuration(week, default_providers_path(), ["routing.destinations[7].accounts=3"])


def test_cli_runs_the_readme_scenario_and_suggests_names(week: Path) -> None:
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "-s", "week.yaml"])
    assert planned.exit_code in (0, 1), planned.output
    assert "500 interviews over 5 days = 100/calendar day" in planned.output
    wrong = runner.invoke(app, ["plan", "-s", "a"])
    assert wrong.exit_code == 2
    assert "did you mean 'A'?" in wrong.output


def test_a_scenario_extending_another_does_not_take_its_description(tmp_path: Path) -> None:
    # A's description ("50,000 interviews over 30 days") would mislabel a 5,000-interview plan
    path = tmp_path / "ext.yaml"
    path.write_text(
        "extends: A\n"
        "demand: {kind: total, interviews: 5000, days: 30}\n"
        "candidates: {count: 500, interviews_each: 10}\n",
        encoding="utf-8",
    )
    config = load_configuration(path, default_providers_path())
    assert config.scenario.description == "A, with its own candidates, demand"
    path.write_text(path.read_text(encoding="utf-8") + "description: a tenth of A\n", encoding="utf-8")
    assert load_configuration(path, default_providers_path()).scenario.description == "a tenth of A"


@pytest.mark.parametrize(
    ("override", "field", "near"),
    [
        ("cache.ttl=86400", "cache.ttl", "ttl_s"),  # tried as a new user would: no suggestion was given
        ("routing.destinations[0].acounts=2", "routing.destinations[0].acounts", "accounts"),  # in a list item
        ("script.stages.question.output_tokens.mea=3", "script.stages.question.output_tokens.mea", "mean"),  # a union
        ("providers.groq.models[0].limits.rpmm=3", "providers.groq.models[0].limits.rpmm", "rpm"),  # providers.yaml
    ],
)
def test_an_unknown_key_is_answered_with_the_nearest_field_there(week: Path, override: str, field: str,
                                                                  near: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_configuration(week, default_providers_path(), [override])
    (problem,) = caught.value.problems
    assert (problem.field, problem.message) == (field, f"unknown key (did you mean {near!r}?)")
