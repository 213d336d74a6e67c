"""Issue 14's cases, tried as a new user would: every bad argument or value ends with exit
status 2 and one line per problem on stderr, before any simulation starts, never a traceback.

"Before any work starts" is checked directly: the simulation entry points are replaced by
ones that fail the test if called, so a refusal that came after a run could not pass.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every simulation a command could start fail the test."""

    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("a simulation started before the input was validated")

    monkeypatch.setattr("capacity.cli.simulate_cmd.replicate", forbidden)
    monkeypatch.setattr("capacity.cli.compare_cmd.run_comparison", forbidden)
    monkeypatch.setattr("capacity.studies.runs.run_scenarios", forbidden)
    monkeypatch.setattr("capacity.studies.check.measure", forbidden)


def refused(args: list[str]) -> list[str]:
    """Run ``capacity ARGS``; assert exit 2 without a traceback; return the error lines."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    return lines


@pytest.mark.usefixtures("no_simulation")
def test_simulate_out_in_a_folder_that_cannot_be_created_is_refused_first() -> None:
    assert refused(["simulate", "-s", "A", "--out", "/proc/nope/run.json"]) == [
        "error: --out /proc/nope/run.json: cannot write in /proc (No such file or directory)"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_simulate_out_naming_a_folder_is_refused_first(tmp_path: Path) -> None:
    assert refused(["simulate", "-s", "A", "--out", str(tmp_path)]) == [
        f"error: --out {tmp_path}: is a folder; give a file name"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_simulate_out_below_a_file_is_refused_first(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    target = tmp_path / "plain" / "run.json"
    assert refused(["simulate", "-s", "A", "--out", str(target)]) == [
        f"error: --out {target}: {tmp_path / 'plain'} is a file, not a folder"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_report_out_on_an_existing_file_is_refused_first(tmp_path: Path) -> None:
    existing = tmp_path / "report.md"
    existing.write_text("mine")
    assert refused(["report", "-s", "A", "--days", "1", "--out", str(existing)]) == [
        f"error: --out {existing}: is a file; give a folder"
    ]
    assert existing.read_text() == "mine"


@pytest.mark.usefixtures("no_simulation")
def test_compare_out_on_an_unwritable_folder_is_refused_first() -> None:
    assert refused(["compare", "A", "B", "--out", "/proc/nope"]) == [
        "error: --out /proc/nope: cannot write in /proc (No such file or directory)"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
@pytest.mark.usefixtures("no_simulation")
def test_compare_out_in_a_read_only_folder_is_refused_first(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        (line,) = refused(["compare", "A", "B", "--out", str(locked / "page")])
    finally:
        locked.chmod(stat.S_IRWXU)
    assert line.startswith(f"error: --out {locked / 'page'}: cannot write in {locked}")


@pytest.mark.usefixtures("no_simulation")
def test_live_out_naming_a_folder_is_refused(tmp_path: Path) -> None:
    args = ["live", "-s", "A", "-n", "1", "--journal", str(tmp_path / "j.jsonl"), "--out", str(tmp_path)]
    assert refused(args) == [f"error: --out {tmp_path}: is a folder; give a file name"]
    assert not (tmp_path / "j.jsonl").exists()


@pytest.mark.usefixtures("no_simulation")
def test_check_update_to_an_unwritable_baseline_is_refused_before_measuring() -> None:
    assert refused(["check", "--update", "-s", "A", "--baseline", "/proc/nope/baseline.json"]) == [
        "error: --baseline /proc/nope/baseline.json: cannot write in /proc (No such file or directory)"
    ]


def test_init_into_an_unwritable_folder_is_refused() -> None:
    assert refused(["init", "week", "--dir", "/proc/nope"]) == [
        "error: --dir /proc/nope/week.yaml: cannot write in /proc (No such file or directory)"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_an_impossible_start_date_in_yaml_names_file_line_and_field(tmp_path: Path) -> None:
    scenario = tmp_path / "feb.yaml"
    scenario.write_text("extends: A\ncalendar:\n  start_date: 2025-02-30\n")
    assert refused(["simulate", "-s", str(scenario)]) == [
        f"error: {scenario}:3: calendar.start_date: Input should be a valid date or datetime, "
        "day value is outside expected range"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_an_impossible_start_date_via_set_names_set_and_field() -> None:
    assert refused(["simulate", "-s", "A", "--set", "calendar.start_date=2025-02-30"]) == [
        "error: --set: calendar.start_date: Input should be a valid date or datetime, "
        "day value is outside expected range"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_time_zone_shares_summing_to_more_than_one_are_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "tz.yaml"
    scenario.write_text(
        "extends: A\ncalendar:\n  timezones:\n"
        "    - {timezone: UTC, share: 0.7}\n    - {timezone: Europe/Paris, share: 0.7}\n"
    )
    assert refused(["simulate", "-s", str(scenario)]) == [
        f"error: {scenario}:3: calendar.timezones: the shares sum to 1.4; they must sum to 1 "
        "(each is a fraction of the candidates)"
    ]


def test_hand_written_thirds_are_accepted(tmp_path: Path) -> None:
    scenario = tmp_path / "thirds.yaml"
    zones = "".join(f"    - {{timezone: {z}, share: 0.33}}\n" for z in ("UTC", "Europe/Paris", "Asia/Tokyo"))
    scenario.write_text(f"extends: A\ncalendar:\n  timezones:\n{zones}")
    result = runner.invoke(app, ["plan", "-s", str(scenario), "--json"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.usefixtures("no_simulation")
def test_a_non_finite_number_is_refused_at_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "inf.yaml"
    scenario.write_text("extends: A\nrouting:\n  turn_deadline_s: .inf\n")
    assert refused(["simulate", "-s", str(scenario)]) == [
        f"error: {scenario}:3: routing.turn_deadline_s: Input should be a finite number"
    ]


def test_providers_today_before_the_catalogue_is_refused_not_negative() -> None:
    (line,) = refused(["providers", "--today", "2024-01-01"])
    assert line.startswith("error: --today 2024-01-01: before provider ")
    assert "ages would be negative" in line


def test_providers_today_on_the_newest_as_of_prints_zero_days() -> None:
    result = runner.invoke(app, ["providers", "--json", "--today", "2025-11-13"])
    assert result.exit_code == 0, result.stderr
    import json

    ages = [p["age_days"] for p in json.loads(result.stdout)["providers"]]
    assert min(ages) == 0 and all(age >= 0 for age in ages)


@pytest.mark.usefixtures("no_simulation")
def test_a_business_hour_with_a_utc_offset_is_refused(tmp_path: Path) -> None:
    """Found by the fuzz test: ``09:00Z`` parsed as an offset-aware time and the calendar check
    crashed comparing it with a naive one; the zones of ``timezones`` give the offsets."""
    scenario = tmp_path / "offset.yaml"
    scenario.write_text("extends: A\ncalendar:\n  business_hours_start: '09:00+01:00'\n")
    (line,) = refused(["plan", "-s", str(scenario)])
    assert line == (
        f"error: {scenario}:3: calendar.business_hours_start: give a local time without a UTC offset "
        "(each zone of `timezones` applies it)"
    )


def test_an_error_line_keeps_its_line_number_and_brackets(tmp_path: Path) -> None:
    """Found by the fuzz test: rich read ``:100:`` as an emoji code; brackets were markup."""
    scenario = tmp_path / "long.yaml"
    padding = "".join(f"# line {n}\n" for n in range(2, 100))  # the key lands on line 100
    scenario.write_text(f"extends: A\n{padding}'[red]x': 1\n")
    assert refused(["plan", "-s", str(scenario)]) == [f"error: {scenario}:100: [red]x: unknown key"]


@pytest.mark.usefixtures("no_simulation")
def test_a_reference_written_by_set_is_blamed_on_set_not_on_the_files_line(tmp_path: Path) -> None:
    # checks that run after validation (destinations, model groups, pools, outages) blame the
    # option that wrote the field, as validation itself does (a new user's trial found the file blamed)
    group = "routing.groups={smart: {destinations: [{provider: nope, model: x}]}}"
    assert refused(["simulate", "-s", "A", "--set", group])[0].startswith(
        "error: --set: routing.groups.smart.destinations[0].provider: unknown provider 'nope' (known: "
    )
    assert refused(["plan", "-s", "A", "--set", "script.stages.resume_analysis.group=smart"]) == [
        "error: --set: script.stages.resume_analysis.group: unknown model group 'smart' (routing.groups: default)"
    ]
    assert refused(["simulate", "-s", "A", "--set", "outages=[{provider: nope, start_s: 0, duration_s: 60}]"]) == [
        "error: --set: outages[0].provider: unknown provider 'nope'"
    ]
    # the same mistake written in a file is still the file's, at its line
    scenario = tmp_path / "smart.yaml"
    scenario.write_text("extends: A\nscript:\n  stages:\n    greeting:\n      template: true\n      group: smart\n")
    assert refused(["plan", "-s", str(scenario)]) == [
        f"error: {scenario}:6: script.stages.greeting.group: unknown model group 'smart' (routing.groups: default)"
    ]


@pytest.mark.usefixtures("no_simulation")
def test_a_whole_scenario_check_names_the_line_of_the_field_it_is_about(tmp_path: Path) -> None:
    # a new user's trial: count × interviews_each not matching the demand was blamed on line 1
    scenario = tmp_path / "m5.yaml"
    scenario.write_text("extends: A\ncandidates: {count: 400, interviews_each: 10}\n")
    assert refused(["plan", "-s", str(scenario)]) == [
        f"error: {scenario}:2: candidates.count: candidates.count × candidates.interviews_each = 4,000 but "
        "demand.interviews in all is 50,000; set both"
    ]
    assert refused(["plan", "-s", "A", "--set", "candidates.count=400"])[0].startswith(
        "error: --set: candidates.count: candidates.count × candidates.interviews_each = 4,000"
    )


@pytest.mark.usefixtures("no_simulation")
def test_a_script_of_its_own_missing_fields_says_how_to_change_one_stage_instead(tmp_path: Path) -> None:
    # a new user's trial: naming one stage's group without `extends` gave six "required" errors and no hint
    scenario = tmp_path / "g.yaml"
    scenario.write_text(
        "demand: {kind: total, interviews: 500, days: 5}\ncandidates: {count: 50, interviews_each: 10}\n"
        "script:\n  stages:\n    question: {group: default}\n"
        "routing:\n  destinations:\n    - {provider: groq, model: llama-3.1-8b-instant}\n"
    )
    lines = refused(["plan", "-s", str(scenario)])
    assert f"error: {scenario}:3: script.system_prompt_tokens: required field is missing" in lines
    assert lines[-1].startswith(f"error: {scenario}:4: script.stages: a script that writes its own stages")
    assert "`extends: A`" in lines[-1]


@pytest.mark.usefixtures("no_simulation")
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sweep", "-s", "B", "--grid", "cache.ttl_s=60", "-r", "0"],
         "error: Invalid value for '--replications' / '-r': Input should be greater than or equal to 1 "
         "(see capacity sweep --help)"),
        (["simulate", "-s", "A", "--days", "0"],
         "error: Invalid value for '--days': Input should be greater than or equal to 1 "
         "(see capacity simulate --help)"),
        (["simulate", "-s", "A", "--days", "x"], "error: Invalid value for '--days': Input should be a valid integer"),
        (["simulate", "-s", "A", "--bogus"], "error: No such option: --bogus"),
        (["bogus"], "error: No such command 'bogus'. (see capacity --help)"),
    ],
)
def test_what_the_command_line_parser_refuses_is_one_line_too(args: list[str], line: str) -> None:
    """Tried as a new user would: ``sweep -r 0``, ``--days 0`` or ``--workers 0`` printed Typer's usage box
    (five lines) where every other bad input is one line."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(line), lines
