"""``capacity size``: the least fleet, no fleet, the knee, a new pool, and user mistakes."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.cli.common import load
from capacity.cli.size_cmd import parse_duration
from capacity.errors import UsageError

runner = CliRunner()

TINY = ["--set", "demand.interviews=200", "--set", "candidates.count=20", "--jobs", "1"]  # runs here: no pool to spawn
SLOW = [
    *TINY,
    "--set",
    "gpu_pools.0.gpu=l4",
    "--set",
    "gpu_pools.0.max_batch=1",
    "--set",
    "script.stages.question.output_tokens={kind: constant, value: 1500}",
    "--set",
    "script.stages.question.max_output_tokens=1500",
]


def test_least_fleet_as_json() -> None:
    result = runner.invoke(app, ["size", "-s", "B-gpu", *SLOW, "--p95-turn-latency", "10min", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["servers"] == 3
    assert data["target"] == {"p95_turn_latency_s": 600.0, "p95_ttft_s": None, "carried_share": 0.99}
    probes = {p["servers"]: p for p in data["probes"]}
    assert probes[3]["met"]
    assert not probes[2]["met"]
    assert data["reason"] == "3 servers meet the target and 2 do not"
    # the pool's own prices (the seed's $1,833 a card and a third of its $2,000 server), three times
    assert data["purchase_usd"] == pytest.approx(3 * 2500)


def test_no_fleet_meets_a_target_below_an_idle_cards_latency() -> None:
    result = runner.invoke(app, ["size", "-s", "B-gpu", *TINY, "--p95-turn-latency", "2s"])
    assert result.exit_code == 1, result.output
    assert "NO FLEET" in result.output
    assert "more servers cannot make one request faster" in result.output


def test_int8_weights_meet_the_turn_target_fp16_cannot() -> None:
    result = runner.invoke(app, ["size", "-s", "B-gpu", *TINY, "--precision", "int8", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pool"]["precision"] == "int8"
    assert data["servers"] == 1
    assert data["target"]["p95_turn_latency_s"] == 3.0  # the scenario's service level
    assert data["floor"]["p95_turn_latency_s"] < 2.5


def test_a_new_pool_of_a_catalogue_gpu_takes_every_request() -> None:
    result = runner.invoke(
        app,
        [
            "size", "-s", "B", *TINY, "--gpu", "rtx4090", "--model", "llama-3.1-8b",
            "--p95-ttft", "1s", "--p95-turn-latency", "off", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["servers"] == 1
    assert data["pool"]["gpu"] == "rtx4090"
    assert data["reason"] == "one server meets the target"
    assert data["purchase_usd"] == pytest.approx(1833)  # the catalogue's card, no server price given
    assert data["floor"]["p95_ttft_s"] < 1.0


def test_knee_of_a_fixed_fleet() -> None:
    result = runner.invoke(
        app,
        [
            "size", "-s", "B-gpu", *TINY, "--set", "gpu_pools.0.max_batch=1", "--knee", "--servers", "1",
            "--p95-turn-latency", "20s",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "interviews per interviewing day within the target" in result.output
    assert "Capacity knee of B-gpu (1 GPU server(s))" in result.output
    # the time is the probes' own, added up: with --jobs it exceeds the command's wall time
    pattern = r"\d+ simulations, [\d,]+ s of simulation in all\s+\(wall seconds of each run,\s+summed over"
    assert re.search(pattern, result.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--p95-turn-latency", "fast"], "expected a positive duration"),
        (["--gpu", "rtx4090"], "--gpu and --model go together"),
        (["--gpu", "tpu", "--model", "llama-3.1-8b"], "unknown gpu 'tpu'"),
        (["--p95-turn-latency", "off"], "give at least one latency target"),
        (["--servers", "2"], "--servers goes with --knee"),
        (["-s", "B"], "has no gpu_pools to size"),
        (["--precision", "fp4"], "unknown precision 'fp4'"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["size", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_durations() -> None:
    assert parse_duration("2s", "--x") == 2.0
    assert parse_duration("2.5", "--x") == 2.5
    assert parse_duration("500ms", "--x") == 0.5
    assert parse_duration("1min", "--x") == 60.0
    assert parse_duration("off", "--x") is None
    with pytest.raises(UsageError):
        parse_duration("0s", "--x")


def test_an_owned_fleets_monthly_cost_says_over_how_many_months_it_is_amortised() -> None:
    """Tried as a new user would: "$118/month amortised" did not say over how long."""
    result = runner.invoke(app, ["size", "-s", "B-gpu", *TINY, "--precision", "int8"])
    assert result.exit_code == 0, result.output
    months = load("B-gpu", None, None).scenario.gpu_pools[0].amortisation_months
    text = " ".join(result.output.replace("│", " ").split())  # the console wraps lines inside the panel
    assert f"/month with the purchase amortised over {months} months." in text
    # what a server is, and what the running cost assumes (a trial asked both)
    assert "up front (a server: 1 card at $1,833, the pool's price, + $667 for the rest of it)" in text
    assert "/kWh for the cards' full 450 W board power around the clock, an upper bound" in text
    assert "a server, as the pool sets it: gpu_pools[].hosting_usd_per_month)" in text
    assert "Sizing pool rtx4090x3 of B-gpu (3 servers in the scenario)" in text  # the name is not the answer
