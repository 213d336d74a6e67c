"""The emulator enforces each limit with its documented semantics, per account, over HTTP."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from emukit import chat, model, provider, serve, stats

from capacity.config.providers import Limits, Resets
from capacity.live.emulator import ManualClock
from capacity.live.ratelimits import parse_duration


def test_a_60_rpm_rolling_limit_refuses_the_61st_request_in_any_60_s() -> None:
    clock = ManualClock()
    with serve(provider(model(limits={"rpm": 60})), clock=clock) as (_, client):
        for i in range(60):
            clock.set(float(i))
            r = chat(client)
            assert r.status_code == 200
            assert r.headers["x-ratelimit-limit-requests"] == "60"
            assert r.headers["x-ratelimit-remaining-requests"] == str(59 - i)
        clock.set(59.5)
        refused = chat(client)
        assert refused.status_code == 429
        # the request at 0 s leaves the window at 60 s: half a second from now
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["retry-after-ms"] == "500"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        # back to a full allowance when the request at 59 s leaves, at 119 s
        assert refused.headers["x-ratelimit-reset-requests"] == "59.5s"
        assert parse_duration(refused.headers["x-ratelimit-reset-requests"]) == pytest.approx(59.5)
        error = refused.json()["error"]
        assert (error["code"], error["type"], error["limit"], error["daily"]) == (
            "rate_limit_exceeded", "requests", "rpm", False,
        )
        clock.set(60.0)
        assert chat(client).status_code == 200  # (0, 60] holds 59 + this one
        clock.set(60.5)
        assert chat(client).status_code == 429  # (0.5, 60.5] already holds 60
        clock.set(61.0)
        assert chat(client).status_code == 200
        s = stats(client)
        assert s["limits"]["rpm"]["peak"] == 60
        assert s["limits"]["rpm"]["violations"] == 0
        assert s["rate_limited"] == {"burst": 2, "daily": 0}
        assert s["served"] == 62


def test_a_daily_limit_resets_at_the_providers_local_midnight_across_dst() -> None:
    # 2025-03-09 07:30 UTC is 23:30 on the 8th in Los Angeles; that night the clocks go forward,
    # so the next day (midnight PST 08:00 UTC → midnight PDT 07:00 UTC on the 10th) lasts 23 h
    start = dt.datetime(2025, 3, 9, 7, 30, tzinfo=dt.UTC)
    day = {"kind": "fixed", "at": "00:00", "timezone": "America/Los_Angeles"}
    clock = ManualClock()
    with serve(provider(model(limits={"rpd": 3}, resets={"day": day})), clock=clock, run_start=start) as (_, client):
        assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]
        refused = chat(client)
        assert refused.status_code == 429
        assert refused.json()["error"]["daily"] is True
        assert refused.json()["error"]["limit"] == "rpd"
        assert refused.headers["retry-after"] == "1800"
        assert refused.headers["x-ratelimit-reset-requests-day"] == "30m0s"
        assert refused.headers["x-ratelimit-remaining-requests-day"] == "0"
        clock.set(1799.0)
        assert chat(client).status_code == 429
        clock.set(1800.0)  # 00:00 PST on the 9th
        assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]
        refused = chat(client)
        assert refused.headers["retry-after"] == str(23 * 3600)
        clock.set(1800.0 + 23 * 3600 - 1)
        assert chat(client).status_code == 429
        clock.set(1800.0 + 23 * 3600)  # 00:00 PDT on the 10th
        assert chat(client).status_code == 200
        s = stats(client)
        assert s["rate_limited"] == {"burst": 0, "daily": 4}
        assert s["limits"]["rpd"]["peak"] == 3
        assert s["limits"]["rpd"]["rule"] == "fixed"
        assert s["violations"] == 0


def test_burst_and_daily_429s_are_told_apart() -> None:
    clock = ManualClock()
    with serve(provider(model(limits={"rpm": 2, "rpd": 3})), clock=clock) as (_, client):
        assert [chat(client).status_code for _ in range(2)] == [200, 200]
        clock.set(10.0)
        burst = chat(client)
        assert burst.status_code == 429
        assert burst.json()["error"]["daily"] is False
        assert burst.json()["error"]["limit"] == "rpm"
        assert burst.headers["retry-after"] == "50"
        assert burst.headers["x-ratelimit-remaining-requests-day"] == "1"
        clock.set(60.0)
        assert chat(client).status_code == 200
        clock.set(130.0)  # a minute is free again, but the rolling day holds 3
        daily = chat(client)
        assert daily.status_code == 429
        assert daily.json()["error"]["daily"] is True
        assert daily.json()["error"]["limit"] == "rpd"
        assert daily.headers["x-ratelimit-remaining-requests"] == "2"
        assert daily.headers["x-ratelimit-remaining-requests-day"] == "0"
        # the first request of the day leaves the rolling day at 86,400 s
        assert int(daily.headers["retry-after"]) == 86_400 - 130
        assert stats(client)["rate_limited"] == {"burst": 1, "daily": 1}


def test_an_account_is_a_bearer_key() -> None:
    with serve(provider(model(limits={"rpm": 1}), accounts=2)) as (_, client):
        assert chat(client, key="alpha").status_code == 200
        assert chat(client, key="alpha").status_code == 429
        assert chat(client, key="beta").status_code == 200  # a second account, its own quota
        assert chat(client, key="beta").status_code == 429
        intruder = chat(client, key="gamma")  # the provider has two accounts
        assert intruder.status_code == 401
        assert intruder.json()["error"]["code"] == "invalid_api_key"
        assert client.post("/p/acme/v1/chat/completions", json={}).status_code == 401
        doc = client.get("/stats").json()
        assert "alpha" not in str(doc)
        acme = doc["providers"]["acme"]
        assert (acme["keys_seen"], acme["unauthorised"]) == (2, 1)
        assert acme["models"]["m"]["accounts_used"] == 2
        assert acme["models"]["m"]["limits"]["rpm"]["peak"] == 1


def test_tokens_are_reserved_at_admission_and_refunded_and_the_audit_sees_the_peak() -> None:
    # 10 prompt + 30 reserved output tokens = 40 at admission; 5 generated, so 15 stay counted
    clock = ManualClock()
    with serve(provider(model(limits={"tpm": 100})), clock=clock) as (_, client):
        for expected_remaining in (100 - 40, 100 - 15 - 40, 100 - 30 - 40):
            r = chat(client, prompt_words=10, max_tokens=30, output=5)
            assert r.status_code == 200
            assert r.json()["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            assert r.headers["x-ratelimit-remaining-tokens"] == str(expected_remaining)
        assert chat(client, prompt_words=10, max_tokens=50).status_code == 429  # 45 in use + 60 > 100
        s = stats(client)
        assert s["limits"]["tpm"]["peak"] == 70  # 15 + 15 + 40 just after the third admission
        assert s["tokens"] == {"prompt": 30, "completion": 15}


def test_a_refused_request_spends_nothing() -> None:
    clock = ManualClock()
    with serve(provider(model(limits={"rpm": 2, "tpm": 50})), clock=clock) as (_, client):
        assert chat(client, prompt_words=10, max_tokens=10).status_code == 200
        for _ in range(5):  # too many tokens for what is left: refused, and nothing charged
            assert chat(client, prompt_words=30, max_tokens=10).status_code == 429
        r = chat(client, prompt_words=10, max_tokens=10)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        assert r.headers["x-ratelimit-remaining-tokens"] == "10"


def test_a_request_larger_than_a_whole_allowance_is_413() -> None:
    with serve(provider(model(limits={"tpm": 100, "max_input_tokens_per_request": 50}))) as (_, client):
        too_many = chat(client, prompt_words=40, max_tokens=80)
        assert too_many.status_code == 413
        assert too_many.json()["error"]["code"] == "request_too_large"
        assert chat(client, prompt_words=60, max_tokens=1).json()["error"]["code"] == "tokens_limit_reached"
        assert stats(client)["too_large"] == 2


def test_neurons_and_a_one_time_credit() -> None:
    cloudflare = model(
        "neurons", limits={"neurons_per_day": 10}, neurons={"per_mtok_in": 1_000_000, "per_mtok_out": 0},
        resets={"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}},
    )
    credit = model("credit", limits={"credit_usd": 0.001}, prices={"usd_per_mtok_in": 100, "usd_per_mtok_out": 0})
    with serve(provider(cloudflare, credit)) as (_, client):
        assert [chat(client, model_name="neurons", prompt_words=4).status_code for _ in range(2)] == [200, 200]
        refused = chat(client, model_name="neurons", prompt_words=4)  # 8 + 4 neurons > 10
        assert (refused.status_code, refused.json()["error"]["limit"]) == (429, "neurons_per_day")
        assert refused.json()["error"]["daily"] is True
        assert refused.headers["retry-after"] == str(12 * 3600)  # 00:00 UTC, from noon
        # $100 per 1M input tokens: 4 tokens cost $0.0004; the third would pass $0.001
        assert [chat(client, model_name="credit", prompt_words=4).status_code for _ in range(3)] == [200, 200, 429]
        spent = chat(client, model_name="credit", prompt_words=4)
        assert spent.json()["error"]["code"] == "insufficient_quota"
        assert "retry-after" not in spent.headers
        doc = client.get("/stats").json()["providers"]["acme"]["models"]
        assert doc["neurons"]["limits"]["neurons_per_day"]["peak"] == pytest.approx(8.0)
        assert doc["credit"]["limits"]["credit_usd"]["peak"] == pytest.approx(0.0008)


def test_an_account_wide_allowance_is_spent_by_every_model_of_the_account() -> None:
    # Cloudflare's kind: 10 neurons a day for the account, whichever model spends them (issue 11 case 1)
    rates = {"per_mtok_in": 1_000_000, "per_mtok_out": 0}  # one neuron an input token
    utc_day = {"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}}
    acme = provider(model("a", neurons=rates), model("b", neurons=rates)).model_copy(
        update={"account_limits": Limits(neurons_per_day=10), "account_resets": Resets.model_validate(utc_day)}
    )
    with serve(acme) as (_, client):
        assert chat(client, model_name="a", prompt_words=4).status_code == 200
        assert chat(client, model_name="b", prompt_words=4).status_code == 200
        refused = chat(client, model_name="b", prompt_words=4)  # 8 + 4 > 10 neurons, on either model
        assert (refused.status_code, refused.json()["error"]["limit"]) == (429, "neurons_per_day")
        assert refused.headers["x-ratelimit-remaining-neurons-day"] == "2"
        assert chat(client, model_name="a", prompt_words=2).status_code == 200  # the last 2 neurons
        account = client.get("/stats").json()["providers"]["acme"]["account"]
        assert account["limits"]["neurons_per_day"]["peak"] == pytest.approx(10.0)
        assert account["violations"] == 0


def test_a_token_bucket_refills_continuously_and_charges_the_maximum_up_front() -> None:
    cerebras = model(
        limits={"tpm": 120, "charge_max_output_up_front": True}, resets={"minute": {"kind": "token_bucket"}}
    )
    clock = ManualClock()
    with serve(provider(cerebras), clock=clock) as (_, client):
        assert chat(client, prompt_words=10, max_tokens=70, output=1).status_code == 200  # 80 charged, none back
        refused = chat(client, prompt_words=10, max_tokens=70)
        assert refused.status_code == 429
        # 40 left, 80 needed: 40 tokens at 2 tokens/s
        assert refused.headers["retry-after-ms"] == "20000"
        clock.set(20.0)
        assert chat(client, prompt_words=10, max_tokens=70).status_code == 200
        s = stats(client)["limits"]["tpm"]
        assert (s["rule"], s["peak"], s["violations"]) == ("token_bucket", pytest.approx(120.0), 0)


def test_concurrent_requests_are_capped_and_a_slot_frees_when_the_client_leaves() -> None:
    with serve(provider(model(limits={"concurrent_requests": 1}))) as (_, client):
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        headers = {"authorization": "Bearer k", "x-emulator-fault": "hang"}
        with client.stream("POST", "/p/acme/v1/chat/completions", json=body, headers=headers) as held:
            assert held.status_code == 200
            busy = chat(client, key="k")
            assert busy.status_code == 429
            assert busy.json()["error"]["limit"] == "concurrent_requests"
        for _ in range(500):  # the server notices the closed connection within milliseconds
            if stats(client)["disconnected"] == 1:
                break
            time.sleep(0.01)
        assert stats(client)["disconnected"] == 1
        assert chat(client, key="k").status_code == 200
        assert stats(client)["limits"]["concurrent_requests"]["peak"] == 1
