"""Shared fault and service-time draws (``capacity validate``): the simulator and the emulator
draw a call's fate from the call's key, so both runs meet the same faults call for call.

The live run here calls the emulator's decision code in-process (no HTTP: the test is about
which call fails, not about sockets), on a clock set to the run's; the header that carries the
key over HTTP is tested against the emulator served on loopback.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from emukit import model, provider, serve
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from simkit import build, const, demand, expo, hours, three_turn_script
from simkit import provider as sim_provider

from capacity.config.loader import Configuration
from capacity.live.chat import ChatRequest, Endpoint
from capacity.live.emulator import Emulator, ManualClock
from capacity.live.emulator.service import Accepted
from capacity.live.load import run_live
from capacity.live.runtime import CallPerformer
from capacity.live.transport import ChatTransport
from capacity.policy.actions import Call
from capacity.policy.build import Core
from capacity.sim.model import simulate
from capacity.workload.calendar import run_start
from capacity.workload.distributions import sampler
from capacity.workload.keyed import (
    CALL_KEY_HEADER,
    CallKey,
    draw_service,
    format_call_key,
    parse_call_key,
)

SCALE = 20_000.0


def flaky(error_rate: float = 0.3) -> Configuration:
    """Thirty three-turn interviews on one provider that fails ``error_rate`` of its calls,
    retried twice with no deadline to cut the retries short."""
    return build(
        [sim_provider("p0", ttft=expo(0.4), tps=const(200.0), error_rate=error_rate)],
        demand(30),
        hours("00:00", "01:00"),
        three_turn_script(const(5.0)),
        {"routing": {"max_retries": 2, "turn_deadline_s": 1e7}},
    )


class EmulatedInProcess:
    """A performer factory: each call decided by the emulator's own code, on a manual clock put
    at the call's run time; ``shared`` sends the call's key, as ``capacity validate`` does."""

    def __init__(self, config: Configuration, *, shared: bool) -> None:
        self.emulator = Emulator(
            list(config.providers.values()),
            ManualClock(),
            run_start(config.scenario.calendar),
            seed=config.scenario.seed,
        )
        self.shared = shared
        self.keys: list[CallKey] = []

    def __call__(self, core: Core) -> CallPerformer:
        emulator = self.emulator
        state = emulator.providers["p0"]

        async def perform(call: Call) -> None:
            self.keys.append(call.key)
            answer = emulator.decide(
                state, state.models["m"], 0, call.tokens_in, call.max_tokens, call.tokens_out, None,
                call.key if self.shared else None,
            )  # fmt: skip
            assert isinstance(answer, Accepted)
            emulator.finish(answer, 0 if answer.failure else answer.tokens_out, complete=True)
            latency = answer.ttft_s if answer.failure else answer.done_s - answer.started_s
            await asyncio.sleep(latency / SCALE)
            call.failure = "5xx" if answer.failure else None
            call.ttft_s, call.latency_s = answer.ttft_s, latency

        return perform


def test_with_shared_draws_a_live_run_meets_the_simulations_failures_call_for_call() -> None:
    config = flaky()
    emulated = EmulatedInProcess(config, shared=True)
    live = run_live(config, emulated, interviews=30, time_scale=SCALE)
    simulated = simulate(config, max_interviews=30, keyed_draws=True)
    (s_dest,), (m_dest,) = simulated.destinations, live.destinations
    assert s_dest.errors.get("5xx", 0) >= 5  # enough failures for the comparison to mean something
    assert m_dest.requests == s_dest.requests
    assert m_dest.errors == s_dest.errors
    assert live.interviews == simulated.interviews
    assert emulated.emulator.stats()["providers"]["p0"]["models"]["m"]["errors_injected"] == s_dest.errors["5xx"]
    # every call has its own key; a retry is the next attempt of the same turn
    assert len(set(emulated.keys)) == len(emulated.keys) == m_dest.requests
    attempts = Counter(key[:3] for key in emulated.keys)
    for (candidate, interview, turn), n in attempts.items():
        assert {(candidate, interview, turn, a) for a in range(n)} <= set(emulated.keys)


def test_the_simulators_keyed_draws_follow_the_key_not_the_order_of_events() -> None:
    """Two simulations of the same seed agree, and the keyed run's failures are the ones its
    calls' keys say (the keys recorded by a live run of the same interviews)."""
    config = flaky(0.5)
    keyed = simulate(config, max_interviews=30, keyed_draws=True)
    again = simulate(config, max_interviews=30, keyed_draws=True)
    assert keyed.destinations[0].errors == again.destinations[0].errors
    emulated = EmulatedInProcess(config, shared=True)
    run_live(config, emulated, interviews=30, time_scale=SCALE)
    spec = config.provider("p0").model("m")
    assert spec is not None
    ttft, speed = sampler(spec.latency.ttft_s), sampler(spec.latency.output_tokens_per_s)
    predicted = sum(draw_service(config.scenario.seed, k, ttft, speed).failure_u < 0.5 for k in emulated.keys)
    assert predicted == keyed.destinations[0].errors["5xx"]


def test_the_key_travels_in_a_header_and_the_emulator_draws_the_calls_fate_from_it() -> None:
    emulated = provider(
        model(latency={"ttft_s": {"kind": "exponential", "mean": 0.2}, "output_tokens_per_s": const(100.0)},
              error_rate=0.5),
    )  # fmt: skip
    seed = 11
    spec = emulated.models[0]
    ttft, speed = sampler(spec.latency.ttft_s), sampler(spec.latency.output_tokens_per_s)
    keys = [(3, 1, turn, attempt) for turn in range(6) for attempt in range(2)]

    async def send_all(base_url: str) -> list[str | None]:
        async with ChatTransport() as transport:
            endpoint = Endpoint("acme/m", f"{base_url}/p/acme/v1", "m", SecretStr("key-1"))
            outcomes = []
            for key in [*keys, *keys]:  # each key twice: the same fate both times
                request = ChatRequest([{"role": "user", "content": "hello"}], max_tokens=5, call_key=key)
                outcome = await transport.send(endpoint, request)
                outcomes.append(None if outcome.failure is None else str(outcome.failure))
            return outcomes

    with serve(emulated, seed=seed) as (emulator, client):
        base_url = str(client.base_url).rstrip("/")
        fates = asyncio.run(send_all(base_url))
        expected = ["5xx" if draw_service(seed, k, ttft, speed).failure_u < 0.5 else None for k in keys]
        assert 0 < expected.count("5xx") < len(keys)
        assert fates == expected + expected
        bad = client.post(
            "/p/acme/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer key-1", CALL_KEY_HEADER: "1.2.x.4"},
        )
        assert bad.status_code == 400
        assert CALL_KEY_HEADER in bad.json()["error"]["message"]
        assert emulator.stats()["providers"]["acme"]["models"]["m"]["rejected"] == 1


@settings(max_examples=40, deadline=None)
@given(st.tuples(*(st.integers(0, 2**40) for _ in range(4))))
def test_a_call_key_reads_back_as_written(key: CallKey) -> None:
    assert parse_call_key(format_call_key(key)) == key


@pytest.mark.parametrize("text", ["", "1.2.3", "1.2.3.4.5", "1.-2.3.4", "a.b.c.d", "1..3.4", "١.2.3.4"])
def test_a_malformed_call_key_is_refused(text: str) -> None:
    assert parse_call_key(text) is None


def test_a_call_keys_fate_is_a_function_of_the_seed_and_the_key_alone() -> None:
    spec = flaky().provider("p0").model("m")
    assert spec is not None
    ttft, speed = sampler(spec.latency.ttft_s), sampler(spec.latency.output_tokens_per_s)
    first = draw_service(7, (1, 0, 2, 0), ttft, speed)
    assert draw_service(7, (1, 0, 2, 0), ttft, speed) == first
    assert draw_service(7, (1, 0, 2, 1), ttft, speed) != first  # the retry has its own fate
    assert draw_service(8, (1, 0, 2, 0), ttft, speed) != first
    assert first.output_tokens_per_s == 200.0
    with pytest.raises(ValueError, match="non-negative"):
        draw_service(7, (-1, 0, 0, 0), ttft, speed)
