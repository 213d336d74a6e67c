"""Misbehaving providers, end to end: the live router against the emulator's fault modes.

Each test runs a few one-turn interviews through the whole live stack — the policy core on
asyncio (:class:`~capacity.live.load.LiveRun`), the httpx transport and the emulator served
on loopback — with one provider, ``bad``, answering every request with one fault kind (or not
listening at all), and checks what the router did with it:

* with a healthy second provider (``good``) every turn falls back there and completes;
* alone, every turn fails per the policy (``on_deadline: fail``) once its retries are spent,
  and never later than its deadline;
* either way the ledger stays consistent: the router counted each request it sent once (its
  daily window holds exactly the calls the result counts), the emulator saw each of them once,
  a 429 spent nothing at the emulator, and the result conserves interviews and calls.

Time is compressed 60× (the minute of arrivals takes a wall second); the provider's
60 s deadline is a wall second, which is what bounds the ``slow`` and ``hang`` faults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from emukit import refusing_port
from simkit import build, check_conservation, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.chat import MAX_WAIT_S
from capacity.live.emulator import Emulator, EmulatorThread, FaultKind, FaultRates, ScaledClock
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import HttpPerformer, Routes, resolve_routes
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.build import Core
from capacity.result import RunResult
from capacity.units import ErrorKind
from capacity.workload.calendar import run_start

SCALE = 60.0
INTERVIEWS = 4
DEADLINE_S = 240.0
"""A turn's deadline, run s."""
PROMPT_TOKENS = 100
"""Every call's prompt: the script's system prompt alone (no history, no answer)."""
TIMEOUT_S = 60.0
"""The providers' per-request deadline, run s (a wall second at 60×, the shortest a run gives)."""

EXPECTED: dict[str, ErrorKind] = {
    FaultKind.SERVER_ERROR: ErrorKind.SERVER_ERROR,
    FaultKind.RATE_LIMIT_BARE: ErrorKind.RATE_LIMITED,
    FaultKind.RATE_LIMIT_ABSURD: ErrorKind.RATE_LIMITED,
    FaultKind.INVALID_JSON: ErrorKind.MALFORMED,
    FaultKind.TRUNCATED: ErrorKind.MALFORMED,
    FaultKind.RESET: ErrorKind.CONNECTION,
    FaultKind.SLOW: ErrorKind.TIMEOUT,
    FaultKind.HANG: ErrorKind.TIMEOUT,
    "down": ErrorKind.CONNECTION,
}
"""What the router must name each fault (``down``: nothing listens on the endpoint's port)."""

NOT_CHARGED = {FaultKind.RATE_LIMIT_BARE, FaultKind.RATE_LIMIT_ABSURD, "down"}
"""Faults after which the provider has spent nothing (a 429 refuses before admission)."""


def scenario(*names: str, cooldown_s: float = 30.0) -> Configuration:
    """Four one-turn interviews, about a minute from first to last, on ``names`` (in this order),
    each provider with a daily request and token limit far from binding (so their windows
    count every request the router sends)."""
    limits = {"rpd": 10_000, "tpd": 10_000_000}
    fast = {"ttft": const(0.1), "tps": const(1000.0), "limits": limits, "timeout_s": TIMEOUT_S}
    return build(
        [provider("bad", **fast), provider("good", **fast)],  # type: ignore[arg-type]
        demand(240),  # 4 a minute: the run's four arrive within about a minute
        hours("00:00", "01:00"),
        one_turn(output=const(10.0), max_output=10),
        destinations(
            *names,
            max_retries=1,
            backoff_base_s=0.5,
            cooldown_s=cooldown_s,
            turn_deadline_s=DEADLINE_S,
            on_deadline="fail",
            on_exhausted="queue",
        ),
    )


@dataclass
class Ran:
    """A live run's result, its router core and what the emulator saw of each provider."""

    config: Configuration
    result: RunResult
    core: Core
    ended_s: float
    stats: dict[str, dict[str, object]]

    def dest(self, name: str) -> int:
        return next(i for i, d in enumerate(self.result.destinations) if d.name.startswith(f"{name}/"))

    def emulator(self, name: str) -> dict[str, object]:
        models = self.stats[name]["models"]
        assert isinstance(models, dict)
        return models["m"]  # type: ignore[no-any-return]

    def router_daily(self, name: str, measure: str) -> float:
        """What the router's own daily window of ``name`` holds at the end of the run."""
        quota = self.core.destinations[self.dest(name)].quota
        assert quota is not None
        window = next(w for w in quota.accounts[0].windows if w.name == measure)
        return window.used(self.ended_s)


@contextmanager
def emulator(config: Configuration, fault: str) -> Iterator[tuple[EmulatorThread, float]]:
    """The emulator of ``config``'s providers, ``bad`` faulting every request, at 60×; and
    the monotonic instant its run time is the plan's first start."""
    plan = plan_live(config, INTERVIEWS)
    rates = FaultRates({"bad": {FaultKind(fault): 1.0}} if fault != "down" else {})
    wall0 = time.monotonic()
    clock = ScaledClock(SCALE, plan.first_start_s, wall0)
    emu = Emulator(list(config.providers.values()), clock, run_start(config.scenario.calendar), faults=rates)
    with EmulatorThread(emu) as server:
        yield server, wall0


def run(config: Configuration, fault: str) -> Ran:
    """The scenario's interviews, live, against the emulator with ``fault`` at ``bad``."""
    plan = plan_live(config, INTERVIEWS)
    with emulator(config, fault) as (server, wall0), refusing_port() as nothing_listens:
        routes = resolve_routes(config, emulator=server.base_url)
        if fault == "down":
            names = [d.provider for d in config.scenario.routing.destinations]
            bad = names.index("bad")
            dead = f"http://127.0.0.1:{nothing_listens}/v1"
            moved = tuple(dataclasses.replace(e, base_url=dead) for e in routes.endpoints[bad])
            routes = Routes(tuple(moved if i == bad else es for i, es in enumerate(routes.endpoints)))
        cores: list[Core] = []
        transport = ChatTransport()

        def performer(core: Core) -> CallPerformer:
            cores.append(core)
            return HttpPerformer(core, routes, transport, SCALE)

        live = LiveRun(config, plan, performer, SCALE, clock_origin=wall0)

        async def main() -> RunResult:
            try:
                return await live.run_async()
            finally:
                await transport.aclose()

        result = asyncio.run(main())
        stats = server.emulator.stats()["providers"]
    check_conservation(result)
    assert result.interviews.requested == INTERVIEWS
    return Ran(config, result, cores[0], live.ended_s, stats)


def check_ledger(ran: Ran, fault: str) -> None:
    """Each request counted once by the router, once by the emulator; a refusal spent nothing."""
    r = ran.result
    bad = r.destinations[ran.dest("bad")]
    assert bad.requests >= 1
    assert bad.completed == 0
    assert bad.errors == {str(EXPECTED[fault]): bad.requests}
    # the router's daily window holds each request it sent, once; a failed call gave its
    # reserved output tokens back (only the prompt stays charged)
    assert ran.router_daily("bad", "rpd") == bad.requests
    assert ran.router_daily("bad", "tpd") == bad.requests * PROMPT_TOKENS
    seen = ran.emulator("bad")
    if fault == "down":
        assert seen["requests"] == 0
        return
    faults = seen["faults"]
    assert isinstance(faults, dict)
    assert faults == {fault: bad.requests}  # every request arrived, once
    limits = seen["limits"]
    assert isinstance(limits, dict)
    charged = limits["rpd"]["peak"] if limits else 0  # no limit is listed until an account is charged
    assert charged == (0 if fault in NOT_CHARGED else bad.requests)


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_a_faulty_provider_is_retried_elsewhere_and_every_turn_completes(fault: str) -> None:
    ran = run(scenario("bad", "good"), fault)
    r = ran.result
    check_ledger(ran, fault)
    assert r.interviews.completed == INTERVIEWS
    good = r.destinations[ran.dest("good")]
    assert good.completed == good.requests == INTERVIEWS
    assert ran.emulator("good")["requests"] == INTERVIEWS
    assert r.requests.provider == INTERVIEWS
    assert r.turn_latency_s.max <= DEADLINE_S
    if fault == FaultKind.RATE_LIMIT_ABSURD:
        # a Retry-After of 32 years (a day of wall time once the transport clamps it, 60 days of
        # run time at 60×), capped at a day of run time: `bad` is held past the run, asked once
        assert r.destinations[ran.dest("bad")].requests == 1
        held = ran.core.destinations[ran.dest("bad")].cooldown_until
        first = plan_live(ran.config, INTERVIEWS).first_start_s
        assert first + MAX_WAIT_S <= held <= ran.ended_s + MAX_WAIT_S


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_a_faulty_provider_alone_fails_each_turn_within_its_deadline(fault: str) -> None:
    ran = run(scenario("bad", cooldown_s=0.0), fault)
    r = ran.result
    check_ledger(ran, fault)
    assert r.interviews.failed == INTERVIEWS
    assert r.requests.failed == INTERVIEWS
    assert r.requests.provider == 0
    assert r.turn_latency_s.max <= DEADLINE_S + TIMEOUT_S
    bad = r.destinations[ran.dest("bad")]
    if fault == FaultKind.RATE_LIMIT_ABSURD:
        assert bad.requests == 1  # held for the capped day: the other turns wait out their deadlines
    elif fault == FaultKind.RATE_LIMIT_BARE:
        assert INTERVIEWS <= bad.requests <= 2 * INTERVIEWS  # a bare 429 holds it for a burst's minute
    else:
        assert bad.requests == 2 * INTERVIEWS  # each turn: one try, one retry


def test_missing_usage_is_answered_and_counted_as_words() -> None:
    ran = run(scenario("bad", "good"), FaultKind.MISSING_USAGE)
    r = ran.result
    bad = r.destinations[ran.dest("bad")]
    assert r.interviews.completed == INTERVIEWS
    assert bad.completed == bad.requests == INTERVIEWS
    assert bad.errors == {}
    assert ran.emulator("bad")["faults"] == {"missing_usage": INTERVIEWS}
    assert ran.router_daily("bad", "rpd") == INTERVIEWS
    assert bad.tokens_out == INTERVIEWS * 10  # the answer's words, counted

