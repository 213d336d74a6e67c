"""The service's HTTP face: an OpenAI-compatible chat API in front of the model group's providers.

Routes:

* ``POST /v1/chat/completions`` — a chat completion whose ``model`` names a model group (the
  scenario's ``routing.destinations`` under ``--group``'s name, each of ``routing.groups`` under
  its own; routed only to that group's providers; any other name: 404 ``model_not_found``); plain
  JSON, or server-sent events (``"stream": true``: OpenAI's ``chat.completion.chunk`` objects,
  a usage chunk when ``stream_options.include_usage`` is set, then ``data: [DONE]``). The
  upstream is always read as a stream (so its time to first token is measured). A streamed
  request is a pass-through (:mod:`.relay`): the response starts when the upstream's first
  text arrives and each delta follows as it comes, so the client's time to first token is the
  upstream's plus the service's overhead. Until that first text the policy may still retry
  elsewhere and a failure is a plain 429 or 502; after it, an upstream failure ends the stream
  with an OpenAI-style error event (``data: {"error": …}``, no ``[DONE]``). A client that goes
  away mid-stream cancels the upstream call, which is settled with what was passed on.
* ``GET /v1/models`` — the model groups (the tool cannot judge their answers' quality);
* ``GET /`` — the dashboard (:mod:`.dashboard`), refreshing from ``GET /api/dashboard``;
* ``GET /api/optimization_stats`` — :meth:`Telemetry.optimization_stats`;
* ``GET /metrics`` — Prometheus's text format;
* ``GET /healthz`` — the process answers; ``GET /readyz`` — it can serve (Redis answers, when used).

Every chat answer, 200 and 429 alike, carries the model group's ``x-ratelimit-*`` headers
(:mod:`.limits`); a 429 adds ``retry-after`` (whole seconds). Errors use OpenAI's shape
``{"error": {"message", "type", "code", "param"}}``. With tokens configured every ``/v1`` route
wants ``Authorization: Bearer TOKEN`` (compared in constant time); a body over
``max_body_bytes`` is refused with 413 before it is read whole.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from capacity.live.chat import OUTPUT_TOKENS_HEADER
from capacity.live.serve.dashboard import dashboard_document, dashboard_page
from capacity.live.serve.gateway import Gateway
from capacity.live.serve.outcomes import Answer, ClientRequest, Exhausted, Streaming
from capacity.units import ErrorKind

__all__ = ["MAX_BODY_BYTES", "SESSION_HEADER", "build_app", "parse_request"]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted by default (413 beyond), bytes."""

SESSION_HEADER = "x-session-id"
"""The request header naming the client's session (an interview), for session affinity."""

_WORDS_PER_CHUNK = 8


def _error(status: int, message: str, kind: str, code: str | None, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def parse_request(body: Any, session_header: str | None, groups: Sequence[str]) -> ClientRequest | str:
    """A chat-completion body as a :class:`ClientRequest`, or what is wrong with it (one line)."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or model not in groups:
        return f"'model' must name a model group ({', '.join(groups)})"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    clean: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return f"messages[{i}] must be an object with a string 'role'"
        content = message.get("content")
        if isinstance(content, list):
            parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if not all(isinstance(t, str) for t in parts):
                return f"messages[{i}].content: every text part needs a string 'text'"
            content = "\n".join(str(t) for t in parts)
        if content is None:
            content = ""
        if not isinstance(content, str):
            return f"messages[{i}].content must be a string or a list of text parts"
        clean.append({"role": message["role"], "content": content})
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        return "'max_tokens' must be an integer ≥ 1"
    for flag in ("stream",):
        if not isinstance(body.get(flag, False), bool):
            return f"'{flag}' must be true or false"
    options: dict[str, Any] = {}
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            return "'tools' must be a list of objects"
        if body.get("stream") is not True:
            return "'tools' are passed on in streamed requests only (\"stream\": true)"
        options["tools"] = tools
        choice = body.get("tool_choice")
        if choice is not None:
            if not isinstance(choice, str | dict):
                return "'tool_choice' must be a string or an object"
            options["tool_choice"] = choice
    user = body.get("user")
    session = session_header or (user if isinstance(user, str) and user else None)
    return ClientRequest(model, tuple(clean), max_tokens, session, options=options)


def build_app(
    gateway: Callable[[], Gateway],
    *,
    ready: Callable[[], Awaitable[str | None]],
    tokens: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    lifespan: Any = None,
) -> Starlette:
    """The ASGI application of the service.

    ``gateway`` returns the running :class:`Gateway` (built in the app's ``lifespan``, on the
    server's event loop); ``ready`` says why the service cannot serve (None: it can);
    ``tokens`` are the client bearer tokens (none: no authentication).
    """
    secrets = [t.encode() for t in tokens if t]

    def authorised(request: Request) -> bool:
        if not secrets:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        # compare with every token, always: the time taken says nothing of which one nearly matched
        matched = [hmac.compare_digest(given, s) for s in secrets]
        return scheme.lower() == "bearer" and any(matched)

    def unauthorised() -> Response:
        return _error(401, "missing or invalid bearer token", "invalid_request_error", "invalid_api_key")

    async def read_body(request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def chat(request: Request) -> Response:
        began = time.perf_counter()
        if not authorised(request):
            return unauthorised()
        raw = await read_body(request)
        if raw is None:
            return _error(413, f"the body is over {max_body_bytes} bytes", "invalid_request_error", "too_large")
        gw = gateway()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "the body is not valid JSON", "invalid_request_error", None)
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and model not in gw.groups:  # as OpenAI answers a model it does not serve
            return _error(
                404, f"the model {model!r} does not exist; the model groups are: {', '.join(gw.groups)}",
                "invalid_request_error", "model_not_found",
            )
        parsed = parse_request(body, request.headers.get(SESSION_HEADER), list(gw.groups))
        if isinstance(parsed, str):
            return _error(400, parsed, "invalid_request_error", None)
        hint = request.headers.get(OUTPUT_TOKENS_HEADER)
        if hint is not None and hint.isdigit():
            parsed = dataclasses.replace(parsed, output_tokens=int(hint))
        streamed = body.get("stream") is True
        options = body.get("stream_options")
        usage = isinstance(options, dict) and options.get("include_usage") is True
        outcome = await gw.complete(parsed, stream=streamed)
        headers = await gw.rate_limit_headers(parsed.group)
        if isinstance(outcome, Streaming):
            headers["x-capacity-source"] = "api"
            headers["x-capacity-destination"] = outcome.destination
            return _PassThrough(gw, parsed.group, outcome, usage, began, headers)
        try:
            if isinstance(outcome, Exhausted):
                headers["retry-after"] = str(math.ceil(outcome.retry_after_s))
                return _error(
                    429, "every provider of the model group is out of quota; retry after the time given",
                    "rate_limit_error", "rate_limit_exceeded", headers,
                )
            if not isinstance(outcome, Answer):
                if outcome.failure is ErrorKind.RATE_LIMITED:
                    headers["retry-after"] = str(max(1, math.ceil(gw.retry_after_s(parsed.group))))
                    return _error(429, f"upstream: {outcome.detail}", "rate_limit_error", "rate_limit_exceeded",
                                  headers)
                return _error(502, f"upstream: {outcome.detail}", "api_error", str(outcome.failure), headers)
            headers["x-capacity-source"] = outcome.source
            if outcome.destination is not None:
                headers["x-capacity-destination"] = outcome.destination
            if streamed:
                return StreamingResponse(_events(parsed.group, outcome, usage), headers=headers,
                                         media_type="text/event-stream")
            return JSONResponse(_completion(parsed.group, outcome), headers=headers)
        finally:
            gw.telemetry.took(time.perf_counter() - began)

    async def models(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        gw = gateway()
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "capacity"} for name in gw.groups]
        return JSONResponse({"object": "list", "data": data})

    async def stats(request: Request) -> Response:
        return JSONResponse(gateway().telemetry.optimization_stats())

    async def metrics(request: Request) -> Response:
        gw = gateway()
        await gw.export_quota_use()
        return Response(gw.telemetry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    page = dashboard_page()

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def board(request: Request) -> Response:
        gw = gateway()
        return JSONResponse(dashboard_document(gw, await gw.shared_use()))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        problem = await ready()
        redis = "not used" if gateway().redis is None else ("ok" if problem is None else problem)
        return JSONResponse({"ready": problem is None, "redis": redis}, status_code=200 if problem is None else 503)

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Route("/api/optimization_stats", stats, methods=["GET"]),
        Route("/api/dashboard", board, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _usage(answer: Answer) -> dict[str, int]:
    o = answer.outcome
    return {
        "prompt_tokens": o.prompt_tokens,
        "completion_tokens": o.completion_tokens,
        "total_tokens": o.prompt_tokens + o.completion_tokens,
    }


def _completion(group: str, answer: Answer) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer.outcome.content}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": group,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": answer.outcome.finish_reason or "stop"}],
        "usage": _usage(answer),
    }


def _event(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


class _Chunks:
    """OpenAI's ``chat.completion.chunk`` events of one answer (one id, the model group's name)."""

    def __init__(self, group: str, include_usage: bool) -> None:
        self.head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": group, "system_fingerprint": None}
        self.include_usage = include_usage
        self.extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _event({**self.head, "choices": [choice], **self.extra})

    def ending(self, answer: Answer) -> Iterator[bytes]:
        """The finish reason, the usage (when asked for) and ``[DONE]``."""
        yield self.delta({}, answer.outcome.finish_reason or "stop")
        if self.include_usage:
            yield _event({**self.head, "choices": [], "usage": _usage(answer)})
        yield _event("[DONE]")


async def _events(group: str, answer: Answer, include_usage: bool) -> AsyncGenerator[bytes, None]:
    """A whole answer (from the cache, an identical request, or an upstream that sent no text
    before its end) as OpenAI's chunks, a few words each."""
    chunks = _Chunks(group, include_usage)
    yield chunks.delta({"role": "assistant", "content": ""})
    words = answer.outcome.content.split(" ")
    for i in range(0, len(words), _WORDS_PER_CHUNK):
        part = " ".join(words[i : i + _WORDS_PER_CHUNK])
        yield chunks.delta({"content": part if i == 0 else " " + part})
    for event in chunks.ending(answer):
        yield event


async def _relayed(group: str, streaming: Streaming, include_usage: bool) -> AsyncGenerator[bytes, None]:
    """An upstream answer as it arrives: each delta as it comes, then its ending — or, when the
    upstream fails after the first text, OpenAI's error event (and no ``[DONE]``)."""
    chunks = _Chunks(group, include_usage)
    yield chunks.delta({"role": "assistant", "content": ""})
    async for delta in streaming.deltas():
        yield chunks.delta(delta)
    try:
        outcome = await streaming.outcome()
    except Exception as exc:  # the call's settlement failed: the stream cannot say the answer was whole
        message, code = f"the router failed settling the call: {type(exc).__name__}", "router_error"
    else:
        if outcome.ok:
            for event in chunks.ending(Answer(outcome, streaming.destination, "api")):
                yield event
            return
        message, code = f"upstream: {outcome.detail}", str(outcome.failure)
    yield _event({"error": {"message": message, "type": "api_error", "code": code, "param": None}})


class _PassThrough(StreamingResponse):
    """A streamed answer passed on as it arrives. However the response ends — whole, or the
    client gone (Starlette cancels the body, or the send fails) — the upstream call is
    abandoned if still sending and the request's time in the service recorded, once."""

    def __init__(self, gw: Gateway, group: str, streaming: Streaming, include_usage: bool, began: float,
                 headers: dict[str, str]) -> None:
        super().__init__(_relayed(group, streaming, include_usage), headers=headers,
                         media_type="text/event-stream")
        self._gw, self._streaming, self._began = gw, streaming, began

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            self._streaming.abandon()  # no await: a cancelled response may not wait for anything
            self._gw.telemetry.took(time.perf_counter() - self._began)

