"""``capacity emulate``: bad input is refused before anything starts; the server runs and stops."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--time-scale", "0"], "--time-scale 0.0: must be a finite number > 0"),
        (["--time-scale", "nan"], "--time-scale nan"),
        (["--fault", "groq:meltdown=0.1"], "unknown fault 'meltdown'"),
        (["--fault", "nobody:reset=0.1"], "unknown provider 'nobody'"),
        (["--fault", "reset=1.5"], "rate must be between 0 and 1"),
        (["--fault", "reset=0.6", "--fault", "hang=0.6"], "add up to 1.2 > 1"),
        (["--start", "yesterday"], "--start 'yesterday': expected an ISO date-time"),
        (["--log-level", "loud"], "--log-level 'loud'"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["emulate", *args])
    assert result.exit_code == 2
    assert fragment in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_a_busy_port_is_reported_before_serving() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["emulate", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in " ".join(result.stderr.split())


def test_the_command_serves_the_shipped_providers_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}
    with subprocess.Popen(
        [sys.executable, "-m", "capacity", "emulate", "--port", "0", "--time-scale", "3600"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    ) as proc:
        try:
            _exercise(proc)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0


def _exercise(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    banner = proc.stderr.readline()  # printed once the socket is bound
    base = re.search(r"http://127\.0\.0\.1:\d+", banner)
    assert base is not None, banner
    request = urllib.request.Request(
        f"{base.group()}/p/groq/v1/chat/completions",
        data=json.dumps({"model": "llama-3.1-8b-instant", "max_tokens": 5,
                         "messages": [{"role": "user", "content": "hello"}]}).encode(),
        headers={"authorization": "Bearer sk-test", "content-type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        assert response.headers["x-ratelimit-limit-requests"] == "30"
        assert json.load(response)["usage"]["completion_tokens"] == 5
    with opener.open(f"{base.group()}/stats", timeout=30) as response:
        served = json.load(response)["providers"]["groq"]["models"]["llama-3.1-8b-instant"]["served"]
    assert served == 1
