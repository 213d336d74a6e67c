"""Invariants of the emulator under random traffic: no window is ever exceeded (the
independent audit in /stats finds no violation), a refusal charges nothing, and a request
refused with a finite wait fits once that wait has passed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emukit import chat, model, provider, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.config.providers import Provider
from capacity.live.emulator import Emulator, ManualClock
from capacity.live.emulator.quota import Refusal
from capacity.live.emulator.service import Accepted

# 23:00 PDT on 1 Nov 2025: the Los Angeles day that follows is 25 hours long
START = dt.datetime(2025, 11, 2, 6, 0, tzinfo=dt.UTC)
LA_MIDNIGHT = {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}
BUCKET = {"kind": "token_bucket"}


def _providers() -> list[Provider]:
    mixed = model(
        "mixed",
        limits={"rpm": 4, "rph": 20, "rpd": 40, "tpm": 200, "tpd": 1500},
        resets={"minute": {"kind": "rolling"}, "hour": {"kind": "fixed"}, "day": LA_MIDNIGHT},
    )
    refunding = model(
        "bucket",
        limits={"tpm": 150, "rph": 30, "neurons_per_day": 40, "credit_usd": 0.02, "credit_renews": "monthly",
                "concurrent_requests": 2},
        resets={"minute": BUCKET, "hour": BUCKET},
        neurons={"per_mtok_in": 100_000, "per_mtok_out": 200_000},
        prices={"usd_per_mtok_in": 10.0, "usd_per_mtok_out": 20.0},
    )
    upfront = model(
        "upfront",
        limits={"tpm": 150, "rpd": 30, "tokens_per_month": 5000, "charge_max_output_up_front": True},
        resets={"minute": BUCKET, "day": BUCKET},
    )
    return [provider(mixed, refunding, upfront, accounts=2)]


MODELS = ("mixed", "bucket", "upfront")
gaps = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 30.0, 59.9, 60.0, 61.0, 600.0, 3600.0, 20_000.0]),
    st.floats(0.0, 90_000.0, allow_nan=False),
)
requests = st.tuples(
    gaps,
    st.integers(0, 2),  # key: the third one seen is one account too many
    st.sampled_from(MODELS),
    st.integers(0, 80),  # prompt words
    st.one_of(st.none(), st.integers(1, 120)),  # max_tokens (None reserves 1,024: too large here)
    st.one_of(st.none(), st.integers(0, 150)),  # output tokens wanted
)


def _check_audit(doc: dict[str, Any]) -> None:
    assert doc["violations"] == 0
    for m in doc["providers"]["acme"]["models"].values():
        for name, row in m["limits"].items():
            assert row["peak"] <= row["limit"] * (1 + 1e-9) + 1e-6, name
            assert row["violations"] == 0, name


def test_no_sequence_of_http_requests_makes_stats_report_a_violation() -> None:
    clock = ManualClock()
    with serve(*_providers(), clock=clock, run_start=START) as (_, client):

        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(requests, min_size=1, max_size=40), st.booleans())
        def run(sequence: list[tuple[Any, ...]], stream: bool) -> None:
            client.post("/reset")
            clock.set(0.0)
            keys: list[int] = []  # accounts are given to keys in order of first use
            for gap, key, model_name, words, max_tokens, output in sequence:
                clock.advance(gap)
                r = chat(client, key=f"key-{key}", model_name=model_name, prompt_words=words,
                         max_tokens=max_tokens, output=output, stream=stream)
                assert r.status_code in (200, 401, 413, 429), r.text
                if key not in keys and len(keys) < 2:
                    keys.append(key)
                assert (r.status_code == 401) == (key not in keys)
            doc = client.get("/stats").json()
            _check_audit(doc)
            for m in doc["providers"]["acme"]["models"].values():
                answered = m["served"] + m["rate_limited"]["burst"] + m["rate_limited"]["daily"] + m["too_large"]
                assert (answered, m["in_flight"], m["disconnected"]) == (m["requests"], 0, 0)

        run()


start = st.tuples(st.just("start"), st.sampled_from(MODELS), st.integers(0, 1), st.integers(0, 60),
                  st.integers(1, 100), st.integers(0, 100))
ops = st.lists(
    st.one_of(
        start,
        start,  # twice as many starts as ends or waits: windows fill up
        st.tuples(st.just("end"), st.integers(0, 10), st.floats(0.0, 1.0)),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 0.5, 1.0, 20.0, 59.9, 60.0, 3600.0, 20_000.0])),
        st.tuples(st.just("wait"), gaps),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_interleaved_requests_never_break_a_limit_and_a_refusal_charges_nothing(
    sequence: list[tuple[Any, ...]],
) -> None:
    clock = ManualClock()
    emulator = Emulator(_providers(), clock, START)
    acme = emulator.providers["acme"]
    in_flight: list[Accepted] = []
    for op in sequence:
        if op[0] == "wait":
            clock.advance(op[1])
        elif op[0] == "end":
            if in_flight:
                done = in_flight.pop(op[1] % len(in_flight))
                emulator.finish(done, int(done.tokens_out * op[2]), complete=True)
        else:
            _, model_name, account, tokens_in, max_tokens, wanted = op
            state = acme.models[model_name]
            before = state.account(account).headers(clock.now(), 1.0)
            answer = emulator.decide(acme, state, account, tokens_in, max_tokens, wanted, None)
            if isinstance(answer, Accepted):
                in_flight.append(answer)
                continue
            assert isinstance(answer, Refusal)
            assert state.account(account).headers(clock.now(), 1.0) == before  # nothing was charged
            if answer.status == 429 and answer.limit != "concurrent_requests" and answer.wait_s < float("inf") \
                    and not in_flight:
                # honest retry-after: with no other traffic the same request fits after the wait
                clock.advance(answer.wait_s)
                retried = emulator.decide(acme, state, account, tokens_in, max_tokens, wanted, None)
                assert isinstance(retried, Accepted), (answer, retried)
                in_flight.append(retried)
    for done in in_flight:
        emulator.finish(done, done.tokens_out, complete=True)
    _check_audit(emulator.stats())
