"""The live HTTP transport against scripted servers: no network (httpx.MockTransport, an
in-process ASGI app), except three loopback checks (a refused port, keep-alive reuse, and
the planted key's absence from what a real exchange logs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest
from emukit import refusing_port

from capacity.config import Configuration
from capacity.errors import UsageError
from capacity.live.chat import OUTPUT_TOKENS_HEADER, ChatOutcome, ChatRequest, Endpoint, fill_call
from capacity.live.ratelimits import GROQ, ThrottleKind
from capacity.live.transport import ChatTransport, TransportSettings
from capacity.policy.actions import Admit, ArmTimer, Call, Resolve, Sleep
from capacity.policy.build import Core, build_core, seed_streams
from capacity.policy.observer import NULL_OBSERVER
from capacity.units import ErrorKind

NOW = dt.datetime(2026, 10, 21, 7, 0, 0, tzinfo=dt.UTC)
MESSAGES = (
    {"role": "system", "content": "You are a calm technical interviewer."},
    {"role": "user", "content": "My resume: ten years of Python and asyncio."},
)
PROMPT_WORDS = 14  # whitespace-separated words of MESSAGES: 6 + 8


class FakeClock:
    """A monotonic clock the scripted server moves forward."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def event(data: object) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


def chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, str] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion}}


Script = Iterable[tuple[float, bytes | BaseException]]
"""A stream: (seconds the server takes before it, the bytes sent or the error raised)."""


def paced(script: Script, clock: FakeClock | None = None, sleep_s: float = 0.0) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        for seconds, item in script:
            if clock is not None:
                clock.advance(seconds)
            if sleep_s:
                await asyncio.sleep(sleep_s)
            if isinstance(item, BaseException):
                raise item
            yield item

    return body()


SSE = {"content-type": "text/event-stream"}


def endpoint(timeout_s: float = 5.0, **kw: Any) -> Endpoint:
    return Endpoint("test/m", "http://provider.test/v1/", "m", timeout_s=timeout_s, **kw)


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def send(
    handler: Handler,
    request: ChatRequest | None = None,
    ep: Endpoint | None = None,
    clock: FakeClock | None = None,
    settings: TransportSettings | None = None,
) -> ChatOutcome:
    async def go() -> ChatOutcome:
        async with ChatTransport(
            settings,
            transport=httpx.MockTransport(handler),
            clock=clock or FakeClock(),
            wall_clock=NOW.timestamp,
        ) as transport:
            return await transport.send(ep or endpoint(), request or ChatRequest(MESSAGES, max_tokens=64))

    return asyncio.run(go())


def test_streaming_answer_measures_ttft_latency_and_takes_usage() -> None:
    clock = FakeClock()
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        script = [
            (0.05, event(chunk(role="assistant", content=""))),  # no text yet: not the first token
            (0.20, event(chunk("Tell me"))),
            (0.10, event(chunk(" about asyncio."))),
            (0.02, event(chunk(finish="stop"))),
            (0.01, event(usage(31, 4))),
            (0.00, event("[DONE]")),
        ]
        return httpx.Response(200, headers=SSE, content=paced(script, clock))

    outcome = send(handler, ChatRequest(MESSAGES, max_tokens=64, output_tokens=4), clock=clock)
    assert outcome.failure is None
    assert outcome.status == 200
    assert math.isclose(outcome.ttft_s, 0.25)
    assert math.isclose(outcome.latency_s, 0.35)  # the last token, not the usage chunk after it
    assert outcome.ttft_s < outcome.latency_s
    assert (outcome.prompt_tokens, outcome.completion_tokens, outcome.usage_reported) == (31, 4, True)
    assert outcome.content == "Tell me about asyncio."
    assert outcome.finish_reason == "stop"
    assert outcome.detail == ""
    (request,) = seen
    assert str(request.url) == "http://provider.test/v1/chat/completions"
    assert request.headers[OUTPUT_TOKENS_HEADER] == "4"
    assert request.headers["accept"] == "text/event-stream"
    body = json.loads(request.content)
    assert body == {
        "model": "m",
        "messages": [dict(m) for m in MESSAGES],
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_groq_usage_in_x_groq_is_taken() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        last = {**chunk(finish="stop"), "x_groq": {"usage": {"prompt_tokens": 20, "completion_tokens": 1}}}
        return httpx.Response(200, headers=SSE, content=event(chunk("Hi")) + event(last) + event("[DONE]"))

    outcome = send(handler)
    assert (outcome.prompt_tokens, outcome.completion_tokens, outcome.usage_reported) == (20, 1, True)


def test_non_streaming_answer_has_ttft_equal_to_latency() -> None:
    clock = FakeClock()
    seen: list[dict[str, Any]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        clock.advance(0.4)
        completion = {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Why asyncio?"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 30, "completion_tokens": 3},
        }
        return httpx.Response(200, json=completion)

    outcome = send(handler, ChatRequest(MESSAGES, max_tokens=16, stream=False), clock=clock)
    assert outcome.failure is None
    assert math.isclose(outcome.latency_s, 0.4)
    assert outcome.ttft_s == outcome.latency_s
    assert (outcome.content, outcome.prompt_tokens, outcome.completion_tokens) == ("Why asyncio?", 30, 3)
    assert seen[0]["stream"] is False
    assert "stream_options" not in seen[0]


def test_streaming_request_answered_whole_is_read_as_json() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok then"}, "finish_reason": "stop"}]})

    outcome = send(handler)
    assert outcome.failure is None
    assert outcome.content == "ok then"
    assert (outcome.prompt_tokens, outcome.completion_tokens, outcome.usage_reported) == (PROMPT_WORDS, 2, False)


async def openai_app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
) -> None:
    """A small OpenAI-compatible ASGI server: echoes the requested output length in words."""
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = json.loads(body)
    headers = dict(scope["headers"])
    if scope["path"] != "/v1/chat/completions" or headers.get(b"authorization") != b"Bearer local-key":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b'{"error": {"message": "no such route"}}'})
        return
    words = int(headers.get(OUTPUT_TOKENS_HEADER.encode(), b"3"))
    events = [event(chunk(f"w{i} ")) for i in range(words)]
    events.append(event(chunk(finish="length" if words >= request["max_tokens"] else "stop")))
    if request.get("stream_options", {}).get("include_usage"):
        prompt = sum(len(m["content"].split()) for m in request["messages"])
        events.append(event(usage(prompt, words)))
    events.append(event("[DONE]"))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for item in events:
        await send({"type": "http.response.body", "body": item, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_against_an_asgi_server() -> None:
    async def go() -> list[ChatOutcome]:
        ep = Endpoint("local/m", "http://local.test/v1", "m", api_key=None, timeout_s=5.0)
        keyed = Endpoint.from_env("local/m", "http://local.test/v1", "m", api_key_env="K", environ={"K": "local-key"})
        async with ChatTransport(transport=httpx.ASGITransport(app=openai_app)) as transport:
            return [
                await transport.send(keyed, ChatRequest(MESSAGES, max_tokens=64, output_tokens=5)),
                await transport.send(keyed, ChatRequest(MESSAGES, max_tokens=2, output_tokens=2)),
                await transport.send(ep, ChatRequest(MESSAGES, max_tokens=64)),
            ]

    five, capped, unauthorised = asyncio.run(go())
    assert five.failure is None
    assert (five.prompt_tokens, five.completion_tokens, five.content) == (PROMPT_WORDS, 5, "w0 w1 w2 w3 w4 ")
    assert 0 <= five.ttft_s <= five.latency_s
    assert capped.finish_reason == "length"
    assert unauthorised.failure == ErrorKind.CLIENT_ERROR
    assert unauthorised.status == 404
    assert "no such route" in unauthorised.detail


OPENAI_429 = {
    "retry-after": "20",
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "19.5s",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-tokens": "149000",
    "x-ratelimit-reset-tokens": "400ms",
}


def test_429_with_retry_after_seconds_and_openai_headers_is_a_burst() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers=OPENAI_429, json={"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}
        )

    outcome = send(handler)
    assert outcome.failure == ErrorKind.RATE_LIMITED
    assert outcome.status == 429
    assert outcome.retry_after_s == 20.0
    assert outcome.throttle is not None
    assert outcome.throttle.kind is ThrottleKind.BURST
    assert outcome.throttle.wait_s == 20.0
    rpm = outcome.rate_limits.get("requests", "minute")
    assert rpm is not None
    assert (rpm.window, rpm.limit, rpm.remaining, rpm.reset_s) == ("rpm", 60, 0, 19.5)
    assert outcome.detail.startswith("429 burst")
    assert "rate_limit_exceeded: Rate limit reached" in outcome.detail


def test_429_with_http_date_and_groq_headers_is_exhausted() -> None:
    retry_at = email.utils.format_datetime(NOW + dt.timedelta(seconds=30), usegmt=True)
    headers = {
        "retry-after": retry_at,
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2m59.56s",
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-tokens": "5000",
        "x-ratelimit-reset-tokens": "7.66s",
    }

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers=headers, json={"error": {"message": "Rate limit reached", "type": "requests"}}
        )

    outcome = send(handler, ep=endpoint(dialect=GROQ))
    assert outcome.failure == ErrorKind.RATE_LIMITED
    assert outcome.retry_after_s == 30.0
    assert outcome.throttle is not None
    assert outcome.throttle.kind is ThrottleKind.EXHAUSTED
    assert outcome.throttle.wait_s == 179.56  # the day's window refills after Retry-After's 30 s
    rpd = outcome.rate_limits.get("requests", "day")
    assert rpd is not None
    assert rpd.window == "rpd"


def test_429_with_absurd_retry_after_is_clamped_and_noted() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": "-7"})

    outcome = send(handler)
    assert outcome.failure == ErrorKind.RATE_LIMITED
    assert outcome.retry_after_s == 0.0
    assert any("negative" in note for note in outcome.notes)
    assert outcome.throttle is not None
    assert outcome.throttle.kind is ThrottleKind.BURST


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_5xx_is_a_server_error(status: int) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"retry-after": "3"}, json={"error": {"message": "overloaded"}})

    outcome = send(handler)
    assert outcome.failure == ErrorKind.SERVER_ERROR
    assert outcome.status == status
    assert outcome.retry_after_s == 3.0
    assert outcome.detail == f"HTTP {status}: overloaded"
    assert outcome.throttle is None


def test_error_event_inside_a_stream_is_a_server_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        body = event(chunk("Partial")) + event({"error": {"message": "upstream overloaded", "code": 503}})
        return httpx.Response(200, headers=SSE, content=body)

    outcome = send(handler)
    assert outcome.failure == ErrorKind.SERVER_ERROR
    assert outcome.content == "Partial"
    assert "upstream overloaded" in outcome.detail


def test_connect_timeout() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    outcome = send(handler, settings=TransportSettings(connect_timeout_s=3.0))
    assert outcome.failure == ErrorKind.TIMEOUT
    assert outcome.status is None
    assert outcome.detail == "connect timeout: no connection within 3 s"


def test_read_timeout_mid_stream_keeps_the_partial_answer() -> None:
    clock = FakeClock()

    async def handler(request: httpx.Request) -> httpx.Response:
        script = [(0.3, event(chunk("Half an"))), (0.1, event(chunk(" answer"))), (60.0, httpx.ReadTimeout("silence"))]
        return httpx.Response(200, headers=SSE, content=paced(script, clock))

    outcome = send(handler, clock=clock, ep=endpoint(timeout_s=90.0), settings=TransportSettings(read_timeout_s=60))
    assert outcome.failure == ErrorKind.TIMEOUT
    assert outcome.detail == "read timeout: no byte for 60 s"
    assert outcome.content == "Half an answer"
    assert math.isclose(outcome.ttft_s, 0.3)
    assert math.isclose(outcome.latency_s, 60.4)
    assert outcome.usage_reported is False
    assert outcome.completion_tokens == 3


def test_total_deadline_bounds_a_trickling_server() -> None:
    """One byte every few milliseconds never trips the read timeout; the deadline ends it."""

    async def handler(request: httpx.Request) -> httpx.Response:
        drip = ((0.0, b":") for _ in range(1000))  # bytes, but never an event (2 s in all)
        return httpx.Response(200, headers=SSE, content=paced(drip, sleep_s=0.002))

    outcome = send(handler, ep=endpoint(timeout_s=0.1))
    assert outcome.failure == ErrorKind.TIMEOUT
    assert outcome.detail == "no complete answer within the endpoint's 0.1 s deadline"
    assert outcome.status == 200


def test_malformed_event_is_not_json() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=event(chunk("ok")) + b"data: {not json\n\n" + event("[DONE]"))

    outcome = send(handler)
    assert outcome.failure == ErrorKind.MALFORMED
    assert outcome.detail == "event 2 is not valid JSON"
    assert outcome.content == "ok"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (event(chunk("cut")) + event(chunk(" off")), "the stream ended after 2 events without [DONE]"),
        (
            b'{"choices": [{"delta": {"content": "no data: prefix"}}]}\n\n',
            "the stream ended after 0 events without [DONE]",
        ),
        (event([1, 2, 3]), "event 1 is JSON but not an object"),
        (event({"choices": "nope"}), "event 1: 'choices' is not a list"),
        (event({"choices": [{"delta": "text"}]}), "event 1: a delta is not an object"),
    ],
)
def test_truncated_or_malformed_streams(body: bytes, detail: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=body)

    outcome = send(handler)
    assert outcome.failure == ErrorKind.MALFORMED
    assert outcome.detail == detail


def test_stream_with_finish_reason_but_no_done_is_accepted() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=event(chunk("Done")) + event(chunk(finish="stop")))

    outcome = send(handler)
    assert outcome.failure is None
    assert outcome.content == "Done"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{truncated", "the answer is not valid JSON"),
        (b"<html>Bad gateway</html>", "the answer is not valid JSON"),
        (b"[]", "event 1 is JSON but not an object"),
        (b'{"id": "x"}', "the answer has no 'choices'"),
    ],
)
def test_invalid_json_answer(body: bytes, detail: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    outcome = send(handler, ChatRequest(MESSAGES, max_tokens=8, stream=False))
    assert outcome.failure == ErrorKind.MALFORMED
    assert outcome.detail == detail


def test_missing_usage_is_counted_and_said() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        body = event(chunk("Walk me through")) + event(chunk(" a design.", finish="stop")) + event("[DONE]")
        return httpx.Response(200, headers=SSE, content=body)

    outcome = send(handler)
    assert outcome.failure is None
    assert outcome.usage_reported is False
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (PROMPT_WORDS, 5)
    assert "no usage" in outcome.detail


@pytest.mark.parametrize(
    "error",
    [httpx.ReadError("[Errno 104] Connection reset by peer"), httpx.RemoteProtocolError("peer closed connection")],
)
def test_connection_reset_mid_stream(error: httpx.HTTPError) -> None:
    clock = FakeClock()

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=paced([(0.2, event(chunk("Hello"))), (0.1, error)], clock))

    outcome = send(handler, clock=clock)
    assert outcome.failure == ErrorKind.CONNECTION
    assert outcome.detail == f"connection broken after 1 events: {error}"
    assert outcome.content == "Hello"
    assert math.isclose(outcome.ttft_s, 0.2)
    assert math.isclose(outcome.latency_s, 0.3)


def test_connection_refused_on_loopback() -> None:
    async def go(port: int) -> ChatOutcome:
        async with ChatTransport() as transport:
            ep = Endpoint("down", f"http://127.0.0.1:{port}/v1", "m", timeout_s=5.0)
            return await transport.send(ep, ChatRequest(MESSAGES, max_tokens=8))

    with refusing_port() as port:
        outcome = asyncio.run(go(port))
    assert outcome.failure == ErrorKind.CONNECTION
    assert outcome.status is None
    assert outcome.detail.startswith("cannot connect")


def test_cancellation_propagates() -> None:
    async def go() -> None:
        started = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            started.set()
            await asyncio.Event().wait()  # never answers
            raise AssertionError("unreachable")

        async with ChatTransport(transport=httpx.MockTransport(handler)) as transport:
            task = asyncio.create_task(transport.send(endpoint(), ChatRequest(MESSAGES, max_tokens=8)))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())


async def _keepalive_server(connections: list[int]) -> asyncio.Server:
    """A loopback HTTP/1.1 server streaming one fixed answer per request, counting TCP connections."""
    answer = event(chunk("Yes.")) + event(chunk(finish="stop")) + event(usage(9, 1)) + event("[DONE]")
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        + f"content-length: {len(answer)}\r\n\r\n".encode()
        + answer
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def test_sequential_requests_reuse_one_pooled_connection() -> None:
    connections: list[int] = []

    async def go() -> list[ChatOutcome]:
        server = await _keepalive_server(connections)
        port = server.sockets[0].getsockname()[1]
        ep = Endpoint("loop", f"http://127.0.0.1:{port}/v1", "m", timeout_s=5.0)
        try:
            async with ChatTransport() as transport:
                return [await transport.send(ep, ChatRequest(MESSAGES, max_tokens=8)) for _ in range(5)]
        finally:
            server.close()
            await server.wait_closed()

    outcomes = asyncio.run(go())
    assert [o.failure for o in outcomes] == [None] * 5
    assert [o.completion_tokens for o in outcomes] == [1] * 5
    assert len(connections) == 1


PLANTED = "sk-PLANTED-4f1c9e77aa0b3d52-DO-NOT-LEAK"


def test_planted_key_never_leaves_the_authorization_header(caplog: pytest.LogCaptureFixture) -> None:
    """The key is sent, yet no repr, detail, note, log record or error message shows it —
    not even when the server echoes it back in its error body or headers."""
    caplog.set_level(logging.DEBUG)
    environ = {"CAPACITY_PLANTED_KEY": PLANTED}
    ep = Endpoint.from_env("leaky/m", "http://leaky.test/v1", "m", api_key_env="CAPACITY_PLANTED_KEY", environ=environ)
    sent: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        kind = json.loads(request.content)["messages"][0]["content"]
        echo = f"Incorrect API key provided: {PLANTED}"
        if kind == "401":
            return httpx.Response(401, json={"error": {"message": echo, "code": "invalid_api_key"}})
        if kind == "429":
            return httpx.Response(429, headers={"retry-after": PLANTED, "x-ratelimit-reset-requests": PLANTED})
        if kind == "stream":
            return httpx.Response(200, headers=SSE, content=event({"error": {"message": echo}}))
        if kind == "reset":
            return httpx.Response(200, headers=SSE, content=paced([(0, event(chunk("a"))), (0, httpx.ReadError(echo))]))
        raise httpx.ConnectError(echo)

    async def go() -> list[ChatOutcome]:
        async with ChatTransport(transport=httpx.MockTransport(handler)) as transport:
            return [
                await transport.send(ep, ChatRequest([{"role": "user", "content": kind}], max_tokens=8))
                for kind in ("401", "429", "stream", "reset", "connect")
            ]

    outcomes = asyncio.run(go())
    assert sent == [f"Bearer {PLANTED}"] * 5
    assert [o.failure for o in outcomes] == [
        ErrorKind.CLIENT_ERROR,
        ErrorKind.RATE_LIMITED,
        ErrorKind.SERVER_ERROR,
        ErrorKind.CONNECTION,
        ErrorKind.CONNECTION,
    ]
    assert all("[redacted]" in o.detail or any("[redacted]" in n for n in o.notes) for o in outcomes)
    with pytest.raises(UsageError) as missing:
        Endpoint.from_env("leaky/m", "http://leaky.test/v1", "m", api_key_env="CAPACITY_UNSET_KEY", environ=environ)
    assert "CAPACITY_UNSET_KEY" in str(missing.value)
    texts = [repr(ep), str(ep), repr(outcomes), str(missing.value), *(r.getMessage() for r in caplog.records)]
    assert caplog.records  # the failures were logged …
    assert not [t for t in texts if PLANTED in t]  # … without the key
    assert not [t for t in texts if "4f1c9e77aa0b3d52" in t]


def test_endpoint_from_providers_yaml(config_a: Configuration) -> None:
    groq = config_a.providers["groq"]
    model = groq.models[0]
    assert groq.api_key_env is not None
    ep = Endpoint.from_provider(groq, model.name, environ={groq.api_key_env: "gsk-test"})
    assert ep.url == groq.base_url.rstrip("/") + "/chat/completions"
    assert ep.timeout_s == model.timeout_s
    assert ep.dialect is GROQ
    assert ep.api_key is not None
    assert ep.api_key.get_secret_value() == "gsk-test"
    with pytest.raises(UsageError, match=groq.api_key_env):
        Endpoint.from_provider(groq, model.name, environ={})
    with pytest.raises(UsageError, match="has no model 'gpt-9'"):
        Endpoint.from_provider(groq, "gpt-9", environ={groq.api_key_env: "gsk-test"})
    local = Endpoint.from_provider(
        groq, model.name, base_url="http://127.0.0.1:8400/p/groq/v1", environ={groq.api_key_env: "k"}
    )
    assert local.url == "http://127.0.0.1:8400/p/groq/v1/chat/completions"


@pytest.mark.parametrize(
    ("url", "timeout_s"), [("api.groq.com/v1", 10.0), ("http://ok/v1", 0.0), ("http://ok/v1", math.nan)]
)
def test_bad_endpoints_are_usage_errors(url: str, timeout_s: float) -> None:
    with pytest.raises(UsageError, match="endpoint e:"):
        Endpoint("e", url, "m", timeout_s=timeout_s)


def first_call(core: Core, candidate: int) -> Call:
    """The first call a candidate's session asks its driver for (think times slept at once,
    admissions answered by the router's in-memory ledger)."""
    session = core.pipeline.session(0.0, candidate, 1)
    now, action = 0.0, next(session)
    while not isinstance(action, Call):
        assert isinstance(action, Sleep | ArmTimer | Resolve | Admit), action
        now += action.seconds if isinstance(action, Sleep) else 0.0
        if isinstance(action, Admit):
            action.answer = core.router.route(now, action.tokens_in, action.max_output_tokens)
        action = session.send(now)
    return action


def test_fill_call_writes_the_outcome_into_the_policy_call(config_a: Configuration) -> None:
    core = build_core(config_a, dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), seed_streams(1), NULL_OBSERVER)
    answered, throttled = first_call(core, 0), first_call(core, 1)
    planned = throttled.tokens_out
    clock = FakeClock()

    async def ok(request: httpx.Request) -> httpx.Response:
        script = [(0.5, event(chunk("Fine.", finish="stop"))), (0.0, event(usage(500, 42))), (0.0, event("[DONE]"))]
        return httpx.Response(200, headers=SSE, content=paced(script, clock))

    async def limited(request: httpx.Request) -> httpx.Response:
        day = {"x-ratelimit-remaining-requests-day": "0", "x-ratelimit-reset-requests-day": "5h"}
        return httpx.Response(429, headers={**OPENAI_429, **day})

    fill_call(answered, send(ok, clock=clock), time_scale=60.0)
    assert (answered.failure, answered.tokens_out, answered.retry_after_s) == (None, 42, None)
    assert (answered.ttft_s, answered.latency_s) == (30.0, 30.0)  # 0.5 wall seconds at 60× run time
    assert isinstance(answered.payload, ChatOutcome)
    fill_call(throttled, send(limited))
    assert throttled.failure == "429"
    assert throttled.tokens_out == planned  # no usage reported: the call keeps its planned count
    assert throttled.retry_after_s == 5 * 3600.0  # the spent day's reset, not Retry-After's 20 s
    with pytest.raises(ValueError, match="time_scale"):
        fill_call(throttled, send(limited), time_scale=0.0)


@pytest.mark.parametrize(
    ("status", "kind"), [(400, ErrorKind.CLIENT_ERROR), (404, ErrorKind.CLIENT_ERROR), (408, ErrorKind.TIMEOUT)]
)
def test_other_refusals(status: int, kind: ErrorKind) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"object": "error", "message": "context too long", "code": status})

    outcome = send(handler)
    assert outcome.failure == kind
    assert outcome.status == status
    assert f": {status}: context too long" in outcome.detail


def test_oversized_answers_are_cut_off() -> None:
    async def stream(request: httpx.Request) -> httpx.Response:
        body = b"".join(event(chunk("word " * 50)) for _ in range(100)) + event("[DONE]")
        return httpx.Response(200, headers=SSE, content=body)

    async def error_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=b"<html>" + b"x" * 1_000_000)

    settings = TransportSettings(max_response_bytes=4096, max_error_bytes=1024)
    outcome = send(stream, settings=settings)
    assert outcome.failure == ErrorKind.MALFORMED
    assert outcome.detail == "the answer exceeds 4096 bytes"
    assert 0 < len(outcome.content) < 4096
    refused = send(error_page, settings=settings)
    assert refused.failure == ErrorKind.SERVER_ERROR
    assert refused.detail.startswith("HTTP 502: <html>xxx")
    assert len(refused.detail) == 300  # one bounded line


def test_an_unforeseen_error_becomes_a_failure_not_an_exception(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a transport plug-in broke")

    outcome = send(handler)
    assert outcome.failure == ErrorKind.MALFORMED
    assert outcome.detail == "unexpected RuntimeError"
    assert [r.levelno for r in caplog.records if r.name == "capacity.live.transport"] == [logging.ERROR]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"message": "Rate limit exceeded: free-models-per-day", "code": 429}, ErrorKind.RATE_LIMITED),
        ({"message": "slow down", "type": "rate_limit_error"}, ErrorKind.RATE_LIMITED),
        ({"message": "failed to generate: moderate load", "code": 500}, ErrorKind.SERVER_ERROR),
    ],
)
def test_error_events_naming_a_rate_limit_are_429s(error: dict[str, Any], kind: ErrorKind) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=event({"error": error}))

    outcome = send(handler)
    assert outcome.failure == kind
    assert (outcome.throttle is not None) == (kind == ErrorKind.RATE_LIMITED)
    if outcome.throttle is not None:
        assert outcome.throttle.kind is (
            ThrottleKind.EXHAUSTED if "per-day" in error["message"] else ThrottleKind.BURST
        )
