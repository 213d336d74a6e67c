"""The emulator's HTTP face: an OpenAI-compatible API per provider, ``/stats`` and ``/reset``.

Routes:

* ``POST /p/{provider}/v1/chat/completions`` — a chat completion, plain JSON or server-sent
  events (``"stream": true``: OpenAI's ``chat.completion.chunk`` objects, a final chunk with
  ``usage`` when ``stream_options.include_usage`` is set, then ``data: [DONE]``);
* ``GET /p/{provider}/v1/models`` — the provider's models;
* ``GET /stats`` — per provider model, requests served, 429s sent (burst vs daily), errors
  and faults injected, and per limit the most seen in any of its windows and the violations;
* ``POST /reset`` — forget every key, quota and counter.

Every answer from a model carries its account's ``x-ratelimit-*`` headers (see
:mod:`capacity.live.headers`); a 429 adds ``retry-after`` (whole wall seconds, rounded up) and
``retry-after-ms``, and its error body names the limit and whether it is a burst limit
(``"daily": false``) or an exhausted daily allowance (``"daily": true``). Errors use OpenAI's
shape ``{"error": {"message", "type", "code", "param"}}``.

The server is Starlette: a small ASGI toolkit whose ``StreamingResponse`` watches for the
client's disconnect (so an abandoned stream is settled at once), with no validation or
dependency-injection layer between a request and our code (FastAPI's would add latency the
router's overhead benchmark must not see). It runs on uvicorn (see :mod:`.server`).
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from capacity.live.emulator.faults import ABSURD_RETRY_AFTER_S, FaultKind
from capacity.live.emulator.quota import Refusal
from capacity.live.emulator.service import Accepted, Emulator, ModelState, ProviderState
from capacity.live.headers import format_duration
from capacity.units import limit_unit
from capacity.workload.text import count_tokens, synthetic_text

__all__ = ["MAX_BODY_BYTES", "build_app"]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest request body accepted (413 beyond): bounds the memory a request can take."""

MIN_CHUNK_WALL_S = 0.02
"""Shortest wall time between two streamed chunks: faster decoding sends several tokens per
chunk, so a compressed clock does not flood the client with tiny events."""

HANG_WALL_S = 3600.0
"""How long a ``hang`` fault holds a connection open at most, wall seconds."""


class _ResetError(Exception):
    """Raised inside a body to drop the connection half-way (the ``reset`` fault)."""


class _SettlingStream(StreamingResponse):
    """A streamed body that always closes its generator (so the request is settled, even when
    the client goes away) and turns :class:`_ResetError` into a dropped connection."""

    def __init__(self, body: AsyncGenerator[bytes, None], headers: dict[str, str], media_type: str) -> None:
        super().__init__(body, headers=headers, media_type=media_type)
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except _ResetError:
            pass  # the response stays incomplete: the server closes the connection
        finally:
            await self._body.aclose()


def _error(
    status: int, message: str, kind: str, code: str | None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code, "param": None, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass(slots=True)
class _Request:
    """The parts of a chat request the emulator uses."""

    model: str
    tokens_in: int
    max_tokens: int | None
    stream: bool
    include_usage: bool
    tool: str | None = None
    """The function the answer calls (OpenAI's ``tool_choice`` naming one of ``tools``, or
    ``required``: the first), None for a text answer."""


def _tool_called(body: dict[str, Any]) -> str | None:
    """The function a request makes the model call: ``tool_choice`` ``{"type": "function",
    "function": {"name": N}}`` → N, ``required`` → the first of ``tools``; else None (a text
    answer, as a model free to choose is assumed to answer in words)."""
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or () if isinstance(t, dict)]
    names = [n for n in tools if isinstance(n, str)]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name")
        return named if named in names else None
    return names[0] if choice == "required" and names else None


def _parse(body: Any) -> _Request | str:
    """The request, or what is wrong with it (one line)."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "'model' must be a non-empty string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    tokens = 0
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            tokens += count_tokens(content)
        elif isinstance(content, list):
            parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if not all(isinstance(t, str) for t in parts):
                return f"messages[{i}].content: every text part needs a string 'text'"
            tokens += sum(count_tokens(t) for t in parts if isinstance(t, str))
        elif content is not None:
            return f"messages[{i}].content must be a string or a list of parts"
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        return "'max_tokens' must be an integer ≥ 1"
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        return "'stream' must be true or false"
    options = body.get("stream_options") or {}
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return _Request(model, tokens, max_tokens, stream, include_usage, _tool_called(body))


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, key = header.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI application serving ``emulator``."""
    clock = emulator.clock

    async def chat(request: Request) -> Response:
        provider = emulator.providers.get(request.path_params["provider"])
        if provider is None:
            known = ", ".join(emulator.providers)
            return _error(
                404,
                f"unknown provider {request.path_params['provider']!r} (known: {known})",
                "invalid_request_error",
                "provider_not_found",
            )
        key = _bearer(request.headers.get("authorization"))
        if key is None:
            return _error(
                401, "missing API key: send 'Authorization: Bearer KEY'", "invalid_request_error", "invalid_api_key"
            )
        account = provider.account_of(key)
        if account is None:
            return _error(
                401,
                f"invalid API key: this emulated {provider.provider.name} has "
                f"{provider.provider.accounts} account(s), all taken by other keys",
                "invalid_request_error",
                "invalid_api_key",
            )
        try:
            parsed = _parse(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = "the body is not valid JSON"
        except ClientDisconnect:  # the client gave up before its body arrived: nothing was admitted
            return Response(status_code=499)
        if isinstance(parsed, str):
            return _error(400, parsed, "invalid_request_error", None)
        model = provider.models.get(parsed.model)
        if model is None:
            known = ", ".join(provider.models)
            return _error(
                404, f"model {parsed.model!r} not found (known: {known})", "invalid_request_error", "model_not_found"
            )
        return await _chat(request, provider, model, account, parsed)

    async def _chat(
        request: Request, provider: ProviderState, model: ModelState, account: int, req: _Request
    ) -> Response:
        model.stats.requests += 1
        if clock.now() >= model.withdrawn_at_s:
            model.stats.rejected += 1
            return _error(
                404,
                f"model {req.model!r} was withdrawn on {model.spec.withdrawn_on}",
                "invalid_request_error",
                "model_not_found",
            )
        cap_in = model.spec.limits.max_input_tokens_per_request
        if cap_in is not None and req.tokens_in > cap_in:
            model.stats.too_large += 1
            return _error(
                413,
                f"request too large: {req.tokens_in} input tokens, at most {cap_in} per request",
                "tokens",
                "tokens_limit_reached",
            )
        wanted: int | None = None
        if (text := request.headers.get("x-emulator-output-tokens")) is not None:
            if not text.isdigit():
                model.stats.rejected += 1
                return _error(400, "x-emulator-output-tokens must be a whole number ≥ 0", "invalid_request_error", None)
            wanted = int(text)
        forced: FaultKind | None = None
        if (text := request.headers.get("x-emulator-fault")) is not None:
            try:
                forced = FaultKind(text)
            except ValueError:
                model.stats.rejected += 1
                known = ", ".join(k.value for k in FaultKind)
                return _error(400, f"unknown x-emulator-fault {text!r} (known: {known})", "invalid_request_error", None)
        answer = emulator.decide(provider, model, account, req.tokens_in, req.max_tokens, wanted, forced)
        if isinstance(answer, Refusal):
            quota_headers = provider.headers(model, account, clock.now(), clock.time_scale)
            return _refused(answer, req.model, quota_headers, clock.time_scale)
        if isinstance(answer, FaultKind):
            if answer is FaultKind.RATE_LIMIT_BARE:
                return _error(429, "Rate limit reached.", "requests", "rate_limit_exceeded")
            return _error(
                429,
                "Rate limit reached.",
                "requests",
                "rate_limit_exceeded",
                {"retry-after": str(ABSURD_RETRY_AFTER_S)},
            )
        headers = {**answer.headers, "x-request-id": f"req_{uuid.uuid4().hex[:24]}"}
        if answer.failure is not None:
            try:
                await clock.sleep_until(answer.started_s + answer.ttft_s)
            finally:
                emulator.finish(answer, 0, complete=True)
            if answer.failure == "outage":
                return _error(
                    503,
                    f"{provider.provider.name} is unavailable (scheduled outage)",
                    "server_error",
                    "service_unavailable",
                    headers,
                )
            return _error(500, "The server had an error while processing your request.", "server_error", None, headers)
        if req.stream:
            body = _sse(emulator, answer, req.include_usage, req.tool)
            if answer.fault is FaultKind.SLOW:
                body = _dribble(body)
            return _SettlingStream(body, {**headers, "cache-control": "no-cache"}, "text/event-stream")
        return await _plain(emulator, answer, headers)

    async def models(request: Request) -> Response:
        provider = emulator.providers.get(request.path_params["provider"])
        if provider is None:
            return _error(
                404,
                f"unknown provider {request.path_params['provider']!r}",
                "invalid_request_error",
                "provider_not_found",
            )
        data = [{"id": m, "object": "model", "created": 0, "owned_by": provider.provider.name} for m in provider.models]
        return JSONResponse({"object": "list", "data": data})

    async def stats(request: Request) -> Response:
        return JSONResponse(emulator.stats())

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"reset": True, "run_s": clock.now()})

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "providers": {name: f"/p/{name}/v1" for name in emulator.providers},
                "stats": "/stats",
                "reset": "/reset",
            }
        )

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/p/{provider}/v1/chat/completions", chat, methods=["POST"]),
        Route("/p/{provider}/v1/models", models, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes, max_body_size=MAX_BODY_BYTES)


def _refused(refusal: Refusal, model: str, headers: dict[str, str], time_scale: float) -> JSONResponse:
    words = limit_unit(refusal.limit)
    extra = {"limit": refusal.limit, "daily": refusal.daily}
    if refusal.status == 413:
        return _error(
            413,
            f"Request too large for model `{model}` on {words} ({refusal.limit}): Limit "
            f"{refusal.limit_value:g}, Requested {refusal.requested:g}.",
            refusal.measure,
            "request_too_large",
            headers,
            **extra,
        )
    if not math.isfinite(refusal.wait_s):
        return _error(
            429,
            f"Quota exhausted for model `{model}` on {words} ({refusal.limit}): Limit "
            f"{refusal.limit_value:g}, Used {refusal.used:g}; it does not renew.",
            refusal.measure,
            "insufficient_quota",
            headers,
            **extra,
        )
    wall = refusal.wait_s / time_scale
    headers = {
        **headers,
        "retry-after": str(max(1, math.ceil(wall - 1e-9))),
        "retry-after-ms": str(max(1, math.ceil(wall * 1000 - 1e-6))),
    }
    return _error(
        429,
        f"Rate limit reached for model `{model}` on {words} ({refusal.limit}): Limit "
        f"{refusal.limit_value:g}, Used {refusal.used:g}, Requested {refusal.requested:g}. "
        f"Please try again in {format_duration(wall)}.",
        refusal.measure,
        "rate_limit_exceeded",
        headers,
        **extra,
    )


def _created(emulator: Emulator, accepted: Accepted) -> int:
    """Unix time of the request's start on the emulated clock, s."""
    return int(emulator.run_start.timestamp() + accepted.started_s)


def _usage(accepted: Accepted) -> dict[str, int]:
    return {
        "prompt_tokens": accepted.tokens_in,
        "completion_tokens": accepted.tokens_out,
        "total_tokens": accepted.tokens_in + accepted.tokens_out,
    }


def _finish_reason(accepted: Accepted) -> str:
    return "length" if accepted.tokens_out >= accepted.max_tokens else "stop"


async def _plain(emulator: Emulator, accepted: Accepted, headers: dict[str, str]) -> Response:
    """A whole (non-streamed) answer, after its full service time."""
    fault = accepted.fault
    if fault is FaultKind.HANG:
        return _SettlingStream(_hang(emulator, accepted), headers, "application/json")
    try:
        await emulator.clock.sleep_until(accepted.done_s)
    finally:
        emulator.finish(accepted, accepted.tokens_out, complete=True)
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": _created(emulator, accepted),
        "model": accepted.model.spec.name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": synthetic_text(accepted.tokens_out)},
                "logprobs": None,
                "finish_reason": _finish_reason(accepted),
            }
        ],
    }
    if fault is not FaultKind.MISSING_USAGE:
        body["usage"] = _usage(accepted)
    data = json.dumps(body).encode()
    if fault is FaultKind.INVALID_JSON:
        return Response(data[: len(data) // 2] + b"<html>", headers=headers, media_type="application/json")
    if fault is FaultKind.TRUNCATED:
        return Response(data[: len(data) // 2], headers=headers, media_type="application/json")
    if fault is FaultKind.RESET:
        return _SettlingStream(_cut(data), headers, "application/json")
    if fault is FaultKind.SLOW:
        return _SettlingStream(_dribble(_once(data)), headers, "application/json")
    return Response(data, headers=headers, media_type="application/json")


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


async def _cut(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data[: len(data) // 2]
    raise _ResetError


async def _hang(emulator: Emulator, accepted: Accepted) -> AsyncGenerator[bytes, None]:
    try:
        await asyncio.sleep(HANG_WALL_S)
        yield b""
    finally:
        emulator.finish(accepted, 0, complete=False)


async def _dribble(body: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """``body`` one byte per wall-clock second (the ``slow`` fault)."""
    try:
        async for chunk in body:
            for i in range(len(chunk)):
                yield chunk[i : i + 1]
                await asyncio.sleep(1.0)
    finally:
        await body.aclose()


def _event(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


async def _sse(
    emulator: Emulator, accepted: Accepted, include_usage: bool, tool: str | None = None
) -> AsyncGenerator[bytes, None]:
    """The answer as OpenAI's server-sent events: the first chunk at the time to first token,
    then the tokens as they are decoded (several per chunk when the clock is compressed).

    With ``tool`` the answer is a call of that function instead: OpenAI's ``delta.tool_calls``
    chunks — the first naming the call's id and function, the next ones the pieces of its
    arguments (``{"text": "<the tokens>"}``) — ending with ``finish_reason: tool_calls``."""
    clock = emulator.clock
    fault = accepted.fault
    n = accepted.tokens_out
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": _created(emulator, accepted),
        "model": accepted.model.spec.name,
        "system_fingerprint": None,
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _event({**head, "choices": [choice], **extra})

    def piece(words: str) -> dict[str, Any]:
        return {"content": words} if tool is None else {"tool_calls": [{"index": 0, "function": {"arguments": words}}]}

    opening: dict[str, Any] = {"role": "assistant", "content": ""}
    if tool is not None:
        call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                "function": {"name": tool, "arguments": '{"text": "'}}
        opening = {"role": "assistant", "content": None, "tool_calls": [call]}

    per_chunk = max(1, math.floor(MIN_CHUNK_WALL_S * clock.time_scale / accepted.decode_s_per_token))
    start = accepted.started_s + accepted.ttft_s
    delivered = 0
    complete = False
    try:
        if fault is FaultKind.HANG:
            await asyncio.sleep(HANG_WALL_S)
            return
        await clock.sleep_until(start)
        yield chunk(opening, None)
        cut = fault in (FaultKind.TRUNCATED, FaultKind.RESET)
        half = math.ceil(n / 2)
        while True:
            if cut and delivered >= half:
                complete = True  # the provider's fault, not the client leaving
                if fault is FaultKind.RESET:
                    raise _ResetError
                return
            if delivered >= n:
                break
            end = min(n, delivered + per_chunk, half if cut else n)
            if delivered:  # the first tokens come with the first chunk, at the time to first token
                await clock.sleep_until(start + end * accepted.decode_s_per_token)
            words = synthetic_text(end - delivered, start=delivered)
            yield chunk(piece(words if delivered == 0 else " " + words), None)
            delivered = end
            if fault is FaultKind.INVALID_JSON:
                yield b'data: {"choices": [{"delta": {"content": \n\n'
                fault = None
        await clock.sleep_until(accepted.done_s)
        if tool is not None:
            yield chunk(piece('"}'), None)
        yield chunk({}, _finish_reason(accepted) if tool is None else "tool_calls")
        if include_usage and accepted.fault is not FaultKind.MISSING_USAGE:
            yield _event({**head, "choices": [], "usage": _usage(accepted)})
        yield _event("[DONE]")
        complete = True
    finally:
        emulator.finish(accepted, delivered, complete=complete)
