"""``capacity live --routers N``: bad input is one line and exit status 2; a fleet run against
the emulator gives one result, and ``--resume`` of a finished run counts every interview once."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.cli.common import load
from capacity.cli.live_cmd import resume_command
from capacity.live.emulator.process import EmulatorProcess
from capacity.live.fleet import router_journal
from capacity.live.journal import Journal, interviews_ended, read_journal
from capacity.live.redis_server import redis_server_path
from capacity.workload.calendar import run_start

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--routers", "0"], "--routers"),
        (["--on-redis-loss", "hope"], "--on-redis-loss 'hope': expected fail_closed or local"),
        (["--redis", "redis://127.0.0.1:1/0"], "--redis redis://127.0.0.1:1/0: no Redis answers there"),
        (["--redis", "ftp://x"], "--redis ftp://x"),
    ],
)
def test_bad_fleet_options_are_one_line_and_exit_status_2(args: list[str], fragment: str, tmp_path: Path) -> None:
    base = ["live", "-s", "A", "-n", "1", "--emulator", "http://127.0.0.1:1", "--journal", str(tmp_path / "j.jsonl")]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_two_routers_carry_a_run_and_a_resume_counts_each_interview_once(tmp_path: Path) -> None:
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed")
    config = load("A", None, None)
    journal = tmp_path / "run.jsonl"
    with EmulatorProcess(
        list(config.providers.values()),
        run_start(config.scenario.calendar),
        time_scale=600.0,
        origin_s=0.0,
        wall_origin=time.monotonic(),
    ) as server:
        args = ["live", "-s", "A", "-n", "6", "--time-scale", "600", "--emulator", server.base_url]
        args += ["--routers", "2", "--journal", str(journal), "--json", "--no-progress"]
        first = runner.invoke(app, args)
        assert first.exit_code in (0, 1), first.output
        summary = json.loads(first.stdout)
        again = runner.invoke(app, [*args, "--resume"])
        assert again.exit_code == first.exit_code, again.output
        resumed = json.loads(again.stdout)
        calls = server.stats()["providers"]
    finished = [sum(read_journal(journal.with_name(f"run.r{k}.jsonl")).finished.values()) for k in (1, 2)]
    assert sum(finished) == 6 and min(finished) >= 1  # both routers carried interviews
    assert summary["interviews"] == resumed["interviews"]  # nothing run twice, nothing lost
    received = sum(m["requests"] for p in calls.values() for m in p["models"].values())
    assert received == summary["requests"]["api_calls"]  # the resume sent no request again


def test_an_endpoint_nobody_answers_is_named_and_the_run_still_exits_0(tmp_path: Path) -> None:
    # nothing listens on port 1: every call fails to connect; the verdict judges quotas, so the
    # command says which destinations were never reached; the gate turns the shortfall into 1
    base = ["live", "-s", "A", "-n", "2", "--time-scale", "600", "--emulator", "http://127.0.0.1:1", "--no-progress"]
    done = runner.invoke(app, [*base, "--journal", str(tmp_path / "a.jsonl")])
    assert done.exit_code == 0, done.output
    said = " ".join(done.stderr.split())
    assert "warning: cerebras/llama3.1-8b: every call" in said and "could not be reached" in said
    gated = runner.invoke(app, [*base, "--journal", str(tmp_path / "b.jsonl"), "--fail-if-short"])
    assert gated.exit_code == 1, gated.output


def test_the_continue_command_is_the_command_line_with_resume_and_no_password(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    typed = ["live", "-s", "A", "-n", "20", "--routers", "3", "--redis", "redis://ops:s3cret@127.0.0.1:6379/0"]
    said = resume_command(typed, journal, "A", 20, 3)
    assert shlex.split(said) == [
        "capacity", *typed[:-1], "redis://ops:***@127.0.0.1:6379/0", "--journal", str(journal), "--resume"
    ]
    assert "s3cret" not in said
    again = [*typed[:-2], "--journal", "j 7.jsonl", "--resume"]  # already resuming: nothing added
    assert shlex.split(resume_command(again, journal, "A", 20, 3)) == ["capacity", *again]
    # called from Python (no `live` among the arguments): the run's essentials spelt out
    assert resume_command([], journal, "A", 5, 2) == f"capacity live -s A -n 5 --routers 2 --journal {journal} --resume"


def test_interviews_ended_are_counted_over_every_routers_journal(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    paths = [router_journal(journal, k) for k in range(3)]
    for k, ended in enumerate((2, 1)):  # the third router journaled nothing yet
        j = Journal(paths[k], {"scenario": "A"})
        for i in range(ended):
            j.write({"kind": "interview", "session": k + 3 * i, "j": 0, "t": 1.0, "events": []})
        j.close()
    assert interviews_ended(paths) == 3
    assert interviews_ended([journal]) == 0
