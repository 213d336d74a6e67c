"""A provider that refuses the destination, end to end: the live router against the emulator.

The new user's trial: the emulator's clock a year past the scenario's start, when the first
destination's model has been withdrawn (404), with a healthy second destination. Each interview
must complete on the second, the first asked once and then left out of rotation; the reason —
the status and the provider's own words — must reach the journal and the result. A key the
provider does not accept (401: its only account taken by another key) is the destination's
fault too. Time is compressed 60×; four one-turn interviews, about a wall second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.chat import ChatRequest, Endpoint, fill_call
from capacity.live.emulator import Emulator, EmulatorThread, ScaledClock
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import (
    HttpPerformer,
    emulator_clock_warning,
    emulator_run_start,
    resolve_routes,
)
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core
from capacity.policy.ledger import Admission, Charge
from capacity.policy.router import Destination, Routed
from capacity.result import RunResult
from capacity.workload.calendar import run_start

SCALE = 60.0
INTERVIEWS = 4
WITHDRAWN = "2025-12-06"


def scenario() -> Configuration:
    """Four one-turn interviews within about a minute, on ``gone`` (withdrawn on 2025-12-06,
    after the scenario's start) first and ``good`` second; no retries at all, so only the
    refusal rule can reach ``good``."""
    fast: dict[str, Any] = {"ttft": const(0.1), "tps": const(1000.0), "limits": {"rpd": 10_000}, "timeout_s": 60.0}
    gone = provider("gone", **fast)
    gone["models"][0]["withdrawn_on"] = WITHDRAWN
    return build(
        [gone, provider("good", **fast)],
        demand(240),
        hours("00:00", "01:00"),
        one_turn(output=const(10.0), max_output=10),
        destinations("gone", "good", max_retries=0, turn_deadline_s=240.0, on_deadline="fail"),
    )


def live(
    config: Configuration, emulator_start: dt.datetime, journal: Path, squat: bool = False
) -> tuple[RunResult, Core]:
    """The run against an emulator whose run time 0 is ``emulator_start``; with ``squat`` another
    key first takes ``gone``'s only account, so the router's key gets 401."""
    plan = plan_live(config, INTERVIEWS)
    wall0 = time.monotonic()
    emu = Emulator(list(config.providers.values()), ScaledClock(SCALE, plan.first_start_s, wall0), emulator_start)
    with EmulatorThread(emu) as server:
        if squat:
            body = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
            took = httpx.post(f"{server.base_url}/p/gone/v1/chat/completions", json=body,
                              headers={"authorization": "Bearer someone-else"})
            assert took.status_code == 200
        routes = resolve_routes(config, emulator=server.base_url)
        transport = ChatTransport()
        cores: list[Core] = []

        def performer(core: Core) -> CallPerformer:
            cores.append(core)
            return HttpPerformer(core, routes, transport, SCALE)

        run = LiveRun(config, plan, performer, SCALE, journal_path=journal, clock_origin=wall0)

        async def main() -> RunResult:
            try:
                return await run.run_async()
            finally:
                await transport.aclose()

        result = asyncio.run(main())
        seen = server.emulator.stats()["providers"]
    check_conservation(result)
    assert seen["good"]["models"]["m"]["requests"] == INTERVIEWS
    return result, cores[0]


def failures(journal: Path) -> list[list[Any]]:
    """Every ``call_failed`` event the journal holds."""
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    return [e for rec in lines if rec["kind"] == "interview" for e in rec["events"] if e[0] == "call_failed"]


def test_a_withdrawn_model_is_asked_once_and_every_interview_completes_on_the_next(tmp_path: Path) -> None:
    config = scenario()
    a_year_later = run_start(config.scenario.calendar) + dt.timedelta(days=365)
    result, core = live(config, a_year_later, tmp_path / "run.jsonl")
    assert result.interviews.completed == INTERVIEWS
    gone, good = result.destinations
    assert (gone.requests, gone.completed, gone.errors) == (1, 0, {"4xx": 1})
    assert good.completed == INTERVIEWS
    reason = "HTTP 404: model_not_found: model 'm' was withdrawn on 2025-12-06"
    assert gone.error_reasons == {"4xx": reason}
    assert failures(tmp_path / "run.jsonl") == [["call_failed", 0, "4xx", reason]]
    assert core.destinations[0].cooldown_until == math.inf


def test_a_key_the_provider_refuses_takes_the_destination_out_the_same_way(tmp_path: Path) -> None:
    config = scenario()
    start = run_start(config.scenario.calendar)  # the model is not withdrawn yet: only the key is refused
    result, _ = live(config, start, tmp_path / "run.jsonl", squat=True)
    assert result.interviews.completed == INTERVIEWS
    gone = result.destinations[0]
    assert (gone.requests, gone.errors) == (1, {"4xx": 1})
    assert gone.error_reasons["4xx"].startswith("HTTP 401: ")
    assert "emulator-gone-account-1" not in json.dumps(failures(tmp_path / "run.jsonl"))  # no key is journaled


def test_the_emulators_start_is_read_from_stats_and_a_gap_over_a_day_is_said_once() -> None:
    config = scenario()
    start = run_start(config.scenario.calendar)
    later = start + dt.timedelta(days=420)
    emu = Emulator(list(config.providers.values()), ScaledClock(SCALE), later)
    with EmulatorThread(emu) as server:
        assert emulator_run_start(server.base_url) == later
    assert emulator_run_start("http://127.0.0.1:1") is None  # nobody there: the run says so, not this check
    line = emulator_clock_warning(later, start, "A")
    assert line is not None and "\n" not in line
    assert f"starts on {later.date()}, 420 days after the scenario's {start.date()}" in line
    assert "withdrawn" in line and "capacity emulate -s A" in line and f"--start {start.date()}" in line
    assert "before" in (emulator_clock_warning(start - dt.timedelta(days=3), start, "A") or "")
    assert emulator_clock_warning(start + dt.timedelta(hours=23), start, "A") is None


@pytest.mark.parametrize("status", [400, 413, 422])
def test_the_transport_reports_the_status_a_request_refusal_came_with(status: int) -> None:
    """What the policy tells apart by: the status and the provider's words reach the call."""

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": "context_length_exceeded", "message": "too long"}})

    async def send() -> Any:
        async with ChatTransport(transport=httpx.MockTransport(refuse)) as transport:
            endpoint = Endpoint("p/m", "http://127.0.0.1:9/v1", "m")
            return await transport.send(endpoint, ChatRequest([{"role": "user", "content": "hi"}], max_tokens=5))

    outcome = asyncio.run(send())
    call = Call(Routed(Destination(0, "p/m", "api", None), Admission(0, Charge(1.0, 0.0, 0.0, 0.0), [])), 1, 1, 5)
    fill_call(call, outcome)
    assert (call.failure, call.status) == ("4xx", status)
    assert call.detail == f"HTTP {status}: context_length_exceeded: too long"
