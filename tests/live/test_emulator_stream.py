"""Streaming, latency, error injection, outages and fault modes of the emulator."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
import pytest
from emukit import START, chat, model, provider, serve, stats

from capacity.config.scenario import Outage
from capacity.live.emulator import Emulator, FaultKind, FaultRates, ManualClock, ScaledClock, build_app
from capacity.workload.text import count_tokens

SLOWISH = {"ttft_s": {"kind": "constant", "value": 0.5}, "output_tokens_per_s": {"kind": "constant", "value": 100}}
"""Half a second to the first token, then 100 tokens/s (emulated)."""


def _events(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of a server-sent event stream, in order."""
    out = []
    for block in response.text.split("\n\n"):
        if block:
            assert block.startswith("data: "), block
            out.append(block.removeprefix("data: "))
    return out


def test_a_stream_is_openai_chunks_with_the_right_usage_at_the_end() -> None:
    # time ×10: 0.5 s to the first token and 50 tokens at 100/s take 0.1 s of wall time
    with serve(provider(model(latency=SLOWISH)), clock=ScaledClock(10.0)) as (_, client):
        r = chat(client, prompt_words=7, max_tokens=80, output=50, stream=True, include_usage=True)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "x-ratelimit-limit-requests" not in r.headers  # an unlimited model has no limits to tell
        events = _events(r)
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
        assert len({c["id"] for c in chunks}) == 1
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert count_tokens(text) == 50
        # ×10 and 20 ms between chunks: 0.2 emulated s, 20 tokens a chunk
        assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) == 3
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
        assert all(c["usage"] is None for c in chunks[:-1])
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 50, "total_tokens": 57}
        assert stats(client)["tokens"] == {"prompt": 7, "completion": 50}


def test_a_stream_without_include_usage_has_no_usage_and_stops_at_max_tokens() -> None:
    with serve(provider(model())) as (_, client):
        r = chat(client, max_tokens=12, stream=True)
        chunks = [json.loads(e) for e in _events(r)[:-1]]
        assert all("usage" not in c for c in chunks)
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert count_tokens(text) == 12


def test_a_plain_answer_has_the_requested_length_and_models_are_listed() -> None:
    with serve(provider(model("a"), model("b/with-slash"))) as (_, client):
        r = chat(client, model_name="b/with-slash", prompt_words=4, max_tokens=9)
        body = r.json()
        assert body["object"] == "chat.completion"
        assert count_tokens(body["choices"][0]["message"]["content"]) == 9
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["usage"]["total_tokens"] == 13
        listed = client.get("/p/acme/v1/models").json()
        assert [m["id"] for m in listed["data"]] == ["a", "b/with-slash"]
        assert chat(client, model_name="nope").status_code == 404
        assert chat(client, provider_name="nobody").status_code == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "'model'"),
        ({"model": "m", "messages": []}, "'messages'"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": [{"role": "user", "content": 3}]}, "content"),
        ([1, 2], "JSON object"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(body: Any, fragment: str) -> None:
    with serve(provider(model())) as (_, client):
        r = client.post("/p/acme/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})
        assert r.status_code == 400
        assert fragment in r.json()["error"]["message"]


def test_the_error_rate_is_injected_within_a_binomial_bound() -> None:
    n, p = 400, 0.2
    with serve(provider(model(error_rate=p))) as (_, client):
        codes = [chat(client).status_code for _ in range(n)]
        failed = codes.count(500)
        assert failed + codes.count(200) == n
        # 4 standard deviations: a false alarm about once in 16,000 seeds
        assert abs(failed - n * p) <= 4 * math.sqrt(n * p * (1 - p))
        s = stats(client)
        assert (s["errors_injected"], s["served"]) == (failed, n - failed)
        # a failed call is charged its request and prompt, not output (as the simulator does)
        assert s["tokens"] == {"prompt": 3 * n, "completion": 10 * (n - failed)}


def test_a_scheduled_outage_fails_every_call_inside_it() -> None:
    clock = ManualClock()
    outage = Outage(provider="acme", start_s=100.0, duration_s=50.0)
    with serve(provider(model()), clock=clock, outages=(outage,)) as (_, client):
        assert chat(client).status_code == 200
        clock.set(120.0)
        down = chat(client)
        assert down.status_code == 503
        assert down.json()["error"]["type"] == "server_error"
        clock.set(150.0)
        assert chat(client).status_code == 200
        assert stats(client)["outage_errors"] == 1


def test_fault_modes_misbehave_as_documented() -> None:
    with serve(provider(model(limits={"rpm": 100}))) as (_, client):
        bare = chat(client, fault="rate_limit_bare")
        assert bare.status_code == 429
        assert not any(h.startswith(("retry-after", "x-ratelimit")) for h in bare.headers)
        absurd = chat(client, fault="rate_limit_absurd")
        assert (absurd.status_code, absurd.headers["retry-after"]) == (429, "1000000000")
        with pytest.raises(json.JSONDecodeError):
            chat(client, fault="invalid_json").json()
        assert "usage" not in chat(client, fault="missing_usage").json()
        assert "[DONE]" not in chat(client, fault="truncated", stream=True, max_tokens=10).text
        no_usage = _events(chat(client, fault="missing_usage", stream=True, include_usage=True))
        assert no_usage[-1] == "[DONE]"
        assert all(json.loads(e)["usage"] is None for e in no_usage[:-1])
        broken = _events(chat(client, fault="invalid_json", stream=True))
        assert json.loads(broken[1])["choices"][0]["delta"]["content"]  # the first tokens, then junk
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken[2])
        with pytest.raises(httpx.RemoteProtocolError):
            chat(client, fault="reset", stream=True, max_tokens=50)
        with pytest.raises(httpx.ReadTimeout):
            client.post("/p/acme/v1/chat/completions", timeout=0.3,
                        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
                        headers={"authorization": "Bearer key-1", "x-emulator-fault": "hang"})
        assert chat(client, fault="no_such_fault").status_code == 400
        s = stats(client)
        assert s["faults"]["rate_limit_bare"] == 1
        assert s["faults"]["reset"] == 1
        # the two fake 429s charged nothing; the other faults were admitted and charged
        assert s["limits"]["rpm"]["peak"] == 7


def test_faults_at_a_rate_are_drawn_per_request() -> None:
    rates = FaultRates({"acme": {FaultKind.MISSING_USAGE: 0.5}})
    with serve(provider(model()), faults=rates) as (_, client):
        missing = sum("usage" not in chat(client).json() for _ in range(200))
        assert abs(missing - 100) <= 4 * math.sqrt(200 * 0.25)
        assert stats(client)["faults"] == {"missing_usage": missing}


def test_a_client_leaving_before_its_body_arrives_is_no_server_error() -> None:
    # under load a client may time out while its request body is still on the way: the
    # emulator admits nothing and logs no exception (it used to log a 500 traceback)
    emulator = Emulator([provider(model(limits={"rpm": 10}))], ManualClock(), START)
    app = build_app(emulator)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/p/acme/v1/chat/completions", "raw_path": b"/p/acme/v1/chat/completions", "query_string": b"",
        "root_path": "", "headers": [(b"authorization", b"Bearer key-1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 499
    s = emulator.stats()["providers"]["acme"]["models"]["m"]
    assert s["requests"] == 0
