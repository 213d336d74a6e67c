"""Streaming through ``capacity serve`` is a pass-through: the client receives the upstream's text
as the upstream sends it; a failure after the first text ends the stream with an error event
(no retry: the text is out) and counts once; a client leaving cancels the upstream call, which
is settled once with what was passed on.

The emulator runs on a :class:`~servekit.GateClock`: it sends its first chunk at once and each
later one only when the test moves the clock, so "the client has text while the upstream has
not sent the rest" is a fact of the exchange, not a race against a wall-clock threshold."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest
from servekit import GateClock, config, emulator_of, service

from capacity.live.chat import OUTPUT_TOKENS_HEADER
from capacity.live.emulator import FaultRates
from capacity.live.emulator.faults import FaultKind

PROMPT = "tell me about your last project"  # six tokens by the project's count
WORDS = 6  # output tokens asked of the emulator


def body(max_tokens: int = 16) -> dict[str, Any]:
    return {"model": "interview", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens,
            "stream": True, "stream_options": {"include_usage": True}}


def events(lines: Any, until_text: bool) -> list[dict[str, Any] | str]:
    """The server-sent events' data read from ``lines``: up to the first with text, or all."""
    seen: list[dict[str, Any] | str] = []
    for line in lines:
        if not line.startswith("data: "):
            continue
        data = line.removeprefix("data: ")
        seen.append(data if data == "[DONE]" else json.loads(data))
        if until_text and isinstance(seen[-1], dict) and text_of([seen[-1]]):
            break
    return seen


def text_of(seen: list[dict[str, Any] | str]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in seen if isinstance(c, dict) and c.get("choices"))


def upstream(emu_url: str, name: str = "acme") -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{emu_url}/stats").json()["providers"][name]["models"]["m"]
    return doc


def test_the_client_reads_the_first_text_while_the_upstream_still_holds_the_rest() -> None:
    cfg = config({"rpm": 100}, tokens_per_s=10.0)  # a token every 0.1 s of emulated time
    gate = GateClock()
    with emulator_of(cfg, clock=gate) as emu, service(cfg, emu.base_url) as srv:
        with (
            httpx.Client(timeout=10.0) as client,
            client.stream("POST", f"{srv.base_url}/v1/chat/completions", json=body(),
                          headers={OUTPUT_TOKENS_HEADER: str(WORDS)}) as response,
        ):
            assert response.status_code == 200
            assert response.headers["x-capacity-destination"] == "acme/m"
            lines = response.iter_lines()
            first = events(lines, until_text=True)
            during = upstream(emu.base_url)
            gate.advance(60.0)  # now the emulator sends the other five tokens, the usage and [DONE]
            rest = events(lines, until_text=False)
        stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()  # counted once, at the end
    assert len(text_of(first).split()) == 1  # one token out of six: the emulator's first chunk only
    assert during["in_flight"] == 1 and during["served"] == 0  # its stream was still open
    whole = first + rest
    assert len(text_of(whole).split()) == WORDS
    assert whole[-1] == "[DONE]"
    usage = whole[-2]
    assert isinstance(usage, dict) and usage["usage"]["completion_tokens"] == WORDS
    assert len({c["id"] for c in whole if isinstance(c, dict)}) == 1
    assert stats["total_requests"] == 1 and stats["api_calls"]["count"] == 1
    assert stats["providers"]["acme/m"] == {"requests": 1, "answered": 1}


def test_an_upstream_failing_before_any_text_is_retried_elsewhere_within_the_stream() -> None:
    cfg = config(names=("acme", "beta"), strategy="fill_first", max_retries=1)
    faults = FaultRates({"acme": {FaultKind.SERVER_ERROR: 1.0}})
    with emulator_of(cfg, faults=faults) as emu, service(cfg, emu.base_url) as srv:
        client = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="interview", messages=[{"role": "user", "content": PROMPT}], max_tokens=5,  # type: ignore[arg-type]
            stream=True, extra_headers={OUTPUT_TOKENS_HEADER: "5"},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert len(text.split()) == 5
        acme, beta = upstream(emu.base_url), upstream(emu.base_url, "beta")
        stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
    assert acme["requests"] == 1 and acme["faults"] == {"server_error": 1} and acme["served"] == 0
    assert beta["requests"] == 1 and beta["served"] == 1
    assert stats["total_requests"] == 1 and stats["api_calls"]["count"] == 2 and stats["failed"]["count"] == 0
    assert stats["providers"] == {"acme/m": {"requests": 1, "5xx": 1}, "beta/m": {"requests": 1, "answered": 1}}


def test_a_reset_after_the_first_text_ends_the_stream_with_an_error_event_counted_once() -> None:
    cfg = config(names=("acme", "beta"), strategy="fill_first", max_retries=1)
    faults = FaultRates({"acme": {FaultKind.RESET: 1.0}})  # the connection drops after half the tokens
    with emulator_of(cfg, faults=faults) as emu, service(cfg, emu.base_url) as srv:
        client = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="interview", messages=[{"role": "user", "content": PROMPT}], max_tokens=8,  # type: ignore[arg-type]
            stream=True, extra_headers={OUTPUT_TOKENS_HEADER: "8"},
        )
        received: list[str] = []

        def read() -> None:
            for chunk in stream:
                received.extend(c.delta.content or "" for c in chunk.choices)

        with pytest.raises(openai.APIError, match="upstream: connection broken"):
            read()
        assert len("".join(received).split()) == 4  # the half the emulator sent before the reset
        stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
        metrics = httpx.get(f"{srv.base_url}/metrics").text
        beta = upstream(emu.base_url, "beta")
    assert beta["requests"] == 0  # no retry once text was out
    assert stats["total_requests"] == 1 and stats["failed"]["count"] == 1
    assert stats["api_calls"]["count"] == 1 and stats["providers"]["acme/m"] == {"requests": 1, "connection": 1}
    assert 'capacity_serve_upstream_errors_total{kind="connection",provider="acme/m"} 1.0' in metrics
    assert 'capacity_serve_requests_total{outcome="failed"} 1.0' in metrics


def quota_used(metrics: str, window: str) -> float:
    prefix = f'capacity_serve_quota_used_ratio{{destination="acme/m",window="{window}"}} '
    return float(next(line for line in metrics.splitlines() if line.startswith(prefix)).removeprefix(prefix))


def test_a_client_leaving_mid_stream_cancels_the_upstream_call_settled_once() -> None:
    cfg = config({"tpm": 1000}, tokens_per_s=10.0)
    gate = GateClock()
    with emulator_of(cfg, clock=gate) as emu, service(cfg, emu.base_url) as srv:
        with (
            httpx.Client(timeout=10.0) as client,
            client.stream("POST", f"{srv.base_url}/v1/chat/completions", json=body(max_tokens=200),
                          headers={OUTPUT_TOKENS_HEADER: str(WORDS)}) as response,
        ):
            first = text_of(events(response.iter_lines(), until_text=True))
        # the client has gone (the connection closed unread); the service notices on its own time
        deadline = time.monotonic() + 10.0
        while (stats := httpx.get(f"{srv.base_url}/api/optimization_stats").json())["abandoned"]["count"] == 0:
            assert time.monotonic() < deadline, "the service never noticed the client leaving"
            time.sleep(0.02)
        while (gone := upstream(emu.base_url))["in_flight"]:
            assert time.monotonic() < deadline, "the upstream call was never cancelled"
            time.sleep(0.02)
        metrics = httpx.get(f"{srv.base_url}/metrics").text
    assert gone["disconnected"] == 1 and gone["served"] == 0
    assert stats["total_requests"] == 1 and stats["abandoned"]["count"] == 1 and stats["failed"]["count"] == 0
    # settled once with what was passed on: the prompt's six tokens and the one word sent, not
    # the 6 + 200 reserved at admission
    assert quota_used(metrics, "tpm") == pytest.approx((6 + len(first.split())) / 1000)
    assert "capacity_serve_request_duration_seconds_count 1.0" in metrics
