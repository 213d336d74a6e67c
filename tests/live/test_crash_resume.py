"""``capacity live`` as a process: killed with SIGKILL and resumed, run out of disk, and a
planted API key searched for in everything it writes.

Each test runs the real command in a subprocess against the emulator (served on loopback by
the test) with a small scenario and a providers.yaml written here, whose one provider takes
its key from ``CAPACITY_TEST_KEY``; the run sends that key to the emulator (``--endpoint``),
as it would to a real provider.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from simkit import BASE, const, demand, destinations, hours, merge, one_turn, provider

from capacity.config import load_providers
from capacity.live.emulator import Emulator, EmulatorThread, ScaledClock
from capacity.live.journal import read_journal
from capacity.live.redis_server import RedisServer

INTERVIEWS = 40
SCALE = 120.0
"""Forty interviews arriving over ten minutes of run time: five wall seconds."""
KEY = "sk-planted-0123456789abcdef-DO-NOT-LEAK"
"""The planted key: it must reach the emulator's Authorization header and nothing else."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A providers.yaml (one provider ``acme``, key in CAPACITY_TEST_KEY) and a scenario of
    one-turn interviews, four a minute from 00:00 UTC."""
    folder = tmp_path_factory.mktemp("crash")
    spec = provider("acme", ttft=const(0.5), tps=const(100.0), limits={"rpd": 100_000})
    spec["api_key_env"] = "CAPACITY_TEST_KEY"
    providers = folder / "providers.yaml"
    providers.write_text(yaml.safe_dump({"providers": [spec]}))
    scenario = merge(BASE, {
        **demand(240), **hours("00:00", "01:00"), **one_turn(output=const(10.0), max_output=10),
        **destinations("acme", max_retries=2, turn_deadline_s=600.0),
    })
    path = folder / "crash.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return providers, path


@pytest.fixture(scope="module")
def emulator(files: tuple[Path, Path]) -> Iterator[EmulatorThread]:
    """The emulator of the test's provider at 120×, on a free loopback port."""
    catalogue = load_providers(files[0])
    start = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)  # the scenario's first day, 00:00 UTC
    emu = Emulator(list(catalogue.providers), ScaledClock(SCALE), start)
    with EmulatorThread(emu) as server:
        yield server


def command(
    files: tuple[Path, Path], server: EmulatorThread, journal: Path, *extra: str, interviews: int = INTERVIEWS
) -> list[str]:
    providers, scenario = files
    return [
        sys.executable, "-m", "capacity", "live", "-s", str(scenario), "--providers", str(providers),
        "-n", str(interviews), "--time-scale", str(SCALE), "--endpoint", f"acme={server.base_url}/p/acme/v1",
        "--journal", str(journal), "--no-progress", *extra,
    ]


def environment() -> dict[str, str]:
    return {**os.environ, "CAPACITY_TEST_KEY": KEY, "PYTHONUNBUFFERED": "1"}


def interviews_in(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b'"kind":"interview"')
    except FileNotFoundError:
        return 0


def test_killed_at_random_points_and_resumed_every_interview_counts_once(
    files: tuple[Path, Path], emulator: EmulatorThread, tmp_path: Path
) -> None:
    journal, out = tmp_path / "run.jsonl", tmp_path / "result.json"
    rng = random.Random(14)
    said: list[str] = []
    for kill in range(2):
        resume = ["--resume"] if kill else []
        proc = subprocess.Popen(command(files, emulator, journal, *resume), env=environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        target = interviews_in(journal) + rng.randint(3, 12)
        deadline = time.monotonic() + 60.0
        while interviews_in(journal) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.2))  # somewhere between two lines, or in the middle of one
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
        said += [stdout, stderr]
        assert proc.returncode == -signal.SIGKILL, stderr
        if kill == 0:
            with journal.open("ab") as f:
                f.write(b'{"kind":"interview","session":1,"j":0,"t":3.0,"eve')  # torn mid-write
            assert read_journal(journal).torn
        assert 0 < sum(read_journal(journal).finished.values()) < INTERVIEWS
    done = subprocess.run(command(files, emulator, journal, "--resume", "--out", str(out), "--json"),
                          env=environment(), capture_output=True, text=True, timeout=120, check=False)
    said += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    replay = read_journal(journal)
    assert not replay.torn
    assert sum(replay.finished.values()) == INTERVIEWS
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    finished = [(r["session"], r["j"]) for r in records if r["kind"] == "interview"]
    assert len(finished) == len(set(finished)) == INTERVIEWS  # each interview journaled once
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["interviews"]["requested"] == INTERVIEWS
    assert result["interviews"]["completed"] == INTERVIEWS
    assert json.loads(done.stdout) == result
    # the key went to the provider and nowhere else: not in any output, journal or result
    for text in [*said, journal.read_text(), out.read_text()]:
        assert KEY not in text
        assert KEY[3:20] not in text


def test_a_full_disk_stops_the_run_with_one_line_and_a_readable_journal(
    files: tuple[Path, Path], emulator: EmulatorThread, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    limit = 6_000  # bytes: the header and a few interviews, then EFBIG mid-line
    prelude = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "from capacity.cli import main; sys.argv = ['capacity'] + sys.argv[1:]; main()"
    )
    argv = command(files, emulator, journal)
    done = subprocess.run([sys.executable, "-c", prelude, *argv[3:]], env=environment(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert f"journal {journal}: cannot write (File too large)" in said
    assert f"--journal {journal} --resume" in said
    assert journal.stat().st_size <= limit
    replay = read_journal(journal)
    kept = sum(replay.finished.values())
    assert 0 < kept < INTERVIEWS
    assert f"keeps the {kept:,} interviews" in said
    assert KEY not in done.stderr + done.stdout + journal.read_text(errors="replace")


def test_the_emulator_binds_to_loopback_by_default(emulator: EmulatorThread) -> None:
    from capacity.cli.emulate_cmd import emulate

    assert emulator.host == "127.0.0.1"
    assert inspect.signature(emulate).parameters["host"].default == "127.0.0.1"


def test_the_redis_server_the_tool_starts_binds_to_loopback(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        assert client.config_get("bind") == {"bind": "127.0.0.1"}


def test_ctrl_c_says_how_many_ended_and_the_command_it_prints_continues_the_run(
    files: tuple[Path, Path], emulator: EmulatorThread, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    # three times the other tests' interviews: 15 wall seconds to stop it in, however busy the machine
    n = 3 * INTERVIEWS
    # Ctrl-C's default action in the run, as at a terminal: a shell that started these tests in the
    # background (no job control) left SIGINT ignored, and an ignored signal is inherited across
    # exec (a handler is not: the child starts with the default)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(command(files, emulator, journal, interviews=n), env=environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 60.0
    while interviews_in(journal) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    ended = sum(read_journal(journal).finished.values())
    assert 3 <= ended < n
    (line,) = [s for s in stderr.splitlines() if s.startswith("stopped")]
    said, _, again = line.partition("; continue with: ")
    assert said == f"stopped: {ended} of {n} interviews ended (journaled)"
    argv = shlex.split(again)
    assert argv[0] == "capacity" and argv[-1] == "--resume"
    assert argv[1:-1] == command(files, emulator, journal, interviews=n)[3:]  # the same command line, --resume added
    done = subprocess.run([sys.executable, "-m", *argv], env=environment(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"--resume: {ended} of {n} interviews already ended; running {n - ended}" in done.stderr
    assert sum(read_journal(journal).finished.values()) == n
    assert KEY not in stderr + done.stderr + done.stdout
