"""``capacity serve``'s bad input: one line naming what is wrong, exit status 2, nothing started."""

from __future__ import annotations

import socket

import pytest
from emukit import refusing_port
from typer.testing import CliRunner

from capacity.cli import app


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--time-scale", "60", "--redis", "redis://127.0.0.1:6379/0"], "--time-scale"),
        (["--redis", "http://127.0.0.1:6379"], "--redis"),
        (["--group", " "], "--group"),
        (["--log-level", "loud"], "--log-level"),
        (["--emulator", "127.0.0.1:8400"], "--emulator"),
        (["--endpoint", "nowhere=http://127.0.0.1:1/v1"], "--endpoint nowhere"),
        (  # the new-user trial: a group named as --group's default crashed the server at start
            [
                "--set",
                "routing.groups={interview: {destinations: [{provider: groq, model: llama-3.3-70b-versatile}]}}",
            ],
            "--group interview: scenario A has a model group of that name",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, ["serve", "-s", "A", "--emulator", "http://127.0.0.1:1", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_a_redis_that_does_not_answer_is_named() -> None:
    with refusing_port() as port:
        result = CliRunner().invoke(
            app, ["serve", "-s", "A", "--emulator", "http://127.0.0.1:1", "--redis", f"redis://127.0.0.1:{port}/0"]
        )
    assert result.exit_code == 2
    assert f"--redis redis://127.0.0.1:{port}/0: no Redis answers there" in result.output


def test_a_busy_port_is_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "-s", "A", "--emulator", "http://127.0.0.1:1", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
