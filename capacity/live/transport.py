"""The one HTTP seam of live mode: a chat completion sent to an OpenAI-compatible endpoint.

The live driver turns each :class:`~capacity.policy.actions.Call` of the policy core into one
:meth:`ChatTransport.send` — ``POST {base_url}/chat/completions`` — and writes the
:class:`~capacity.live.chat.ChatOutcome` back into the call
(:func:`~capacity.live.chat.fill_call`). One :class:`ChatTransport` holds
one shared ``httpx.AsyncClient`` for the whole run: pooled HTTP/1.1 keep-alive connections, so
a turn pays a TCP (and TLS) handshake only when the pool has no idle connection to its host.

What is measured, on a monotonic clock (injectable; ``time.perf_counter`` by default), from
the moment the request is handed to the client (so waiting for a pooled connection counts):

* **TTFT** (time to first token, s): the first server-sent event whose delta carries text
  (``content``, or a reasoning model's ``reasoning_content``). A non-streamed answer shows
  nothing before it is whole, so its TTFT equals its latency.
* **latency** (s): to the last token (the last event carrying text), or to the whole body
  when not streamed; for a failure, to the moment it was seen.
* **tokens**: ``usage.prompt_tokens`` and ``usage.completion_tokens`` as the endpoint reports
  them (streaming asks for them with ``stream_options.include_usage``; Groq's ``x_groq.usage``
  is read too). Without usage they are counted — one token per whitespace-separated word of
  the messages and of the answer, the project's approximation — and ``usage_reported`` is
  False.

Every way an exchange can go wrong ends in a :class:`~capacity.live.chat.ChatOutcome` whose ``failure`` is an
:class:`~capacity.units.ErrorKind` and whose ``detail`` says what happened in one line:
429 (with ``Retry-After``, the rate-limit headers and a burst/exhausted verdict,
:mod:`capacity.live.ratelimits`), 5xx, other 4xx, timeouts (connect, between bytes, and the
endpoint's total deadline ``timeout_s``, which also bounds a server trickling one byte a
second), connections refused or reset mid-stream, malformed or truncated event streams,
invalid JSON. Nothing escapes :meth:`ChatTransport.send` but cancellation.

Secrets: the endpoint's API key is sent only in the ``Authorization`` header and removed from
any text the transport writes (details, notes, logs), should a server echo it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import httpx
from httpx_sse import EventSource

from capacity.live.chat import OUTPUT_TOKENS_HEADER, ChatOutcome, ChatRequest, Endpoint, count_words
from capacity.live.ratelimits import (
    RateLimitSnapshot,
    Throttle,
    classify_429,
    parse_rate_limits,
    retry_after_from_headers,
)
from capacity.units import ErrorKind

__all__ = ["ChatTransport", "TransportSettings"]

log = logging.getLogger(__name__)

Clock = Callable[[], float]

_NO_LIMITS = RateLimitSnapshot()
_RATE_LIMITED = re.compile(r"\b429\b|rate[ _-]?limit", re.IGNORECASE)
"""An error event naming a rate limit (OpenRouter and vLLM report some 429s inside a 200 stream)."""


@dataclass(frozen=True)
class TransportSettings:
    """The shared client's pool and timeouts (s). ``read_timeout_s`` is the longest silence
    between two bytes; the whole request is bounded by the endpoint's ``timeout_s``. Response
    bodies are read up to ``max_response_bytes`` (error bodies up to ``max_error_bytes``).
    Every connection may stay alive in the pool: a load run to one host would otherwise close
    and reopen the excess at each burst.
    ``trust_env`` lets httpx take proxies from the environment (off: a live run measures the
    endpoint, not a proxy)."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    write_timeout_s: float = 10.0
    pool_timeout_s: float = 60.0
    max_connections: int = 256
    max_keepalive_connections: int = 256
    keepalive_expiry_s: float = 30.0
    max_response_bytes: int = 16 * 1024 * 1024
    max_error_bytes: int = 64 * 1024
    trust_env: bool = False
    user_agent: str = "capacity-live/0.1"


class _ExchangeError(Exception):
    """An exchange ended in a failure the transport names itself (not an httpx error)."""

    def __init__(self, kind: ErrorKind, detail: str, throttle: Throttle | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.throttle = kind, detail, throttle


@dataclass(slots=True)
class _Progress:
    """What one exchange has seen so far, kept so a failure can report the partial answer."""

    started: float
    status: int | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    parts: list[str] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    events: int = 0
    done: bool = False
    retry_after_s: float | None = None
    rate_limits: RateLimitSnapshot = _NO_LIMITS
    notes: list[str] = field(default_factory=list)


def _usage(obj: object) -> tuple[int, int] | None:
    """(prompt, completion) tokens of a ``usage`` object, if it holds two counts ≥ 0."""
    if not isinstance(obj, dict):
        return None
    prompt, completion = obj.get("prompt_tokens"), obj.get("completion_tokens")
    if _count(prompt) and _count(completion):
        return prompt, completion
    return None


def _count(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a token count: an int ≥ 0 (JSON ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _error_text(body: str) -> str:
    """The provider's own words from an error body (``error.message`` and ``code``), one line."""
    try:
        parsed: object = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and parsed:  # Gemini's OpenAI-compatible API wraps it in a list
        parsed = parsed[0]
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            code = error.get("code") or error.get("type") or error.get("status")
            message = str(error.get("message", "")).strip()
            return f"{code}: {message}" if code and message else message or str(code or "")
        if isinstance(error, str):
            return error
    return body.strip()


class ChatTransport:
    """Sends chat completions over one shared, pooled ``httpx.AsyncClient``.

    Use as ``async with ChatTransport(settings) as transport: await transport.send(endpoint,
    request)``, or call :meth:`aclose` when done. ``transport`` replaces the network (tests:
    ``httpx.MockTransport``, ``httpx.ASGITransport``); ``clock`` is the monotonic clock TTFT and
    latency are read from, s; ``wall_clock`` the POSIX time an HTTP-date ``Retry-After`` is
    counted from."""

    def __init__(
        self,
        settings: TransportSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.perf_counter,
        wall_clock: Clock = time.time,
    ) -> None:
        self.settings = s = settings or TransportSettings()
        self._clock = clock
        self._wall_clock = wall_clock
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=s.max_connections,
                max_keepalive_connections=s.max_keepalive_connections,
                keepalive_expiry=s.keepalive_expiry_s,
            ),
            timeout=httpx.Timeout(
                connect=s.connect_timeout_s, read=s.read_timeout_s, write=s.write_timeout_s, pool=s.pool_timeout_s
            ),
            transport=transport,
            trust_env=s.trust_env,
            follow_redirects=False,
            headers={"user-agent": s.user_agent},
        )

    async def __aenter__(self) -> ChatTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._client.aclose()

    async def send(self, endpoint: Endpoint, request: ChatRequest) -> ChatOutcome:
        """Post ``request`` to ``endpoint`` and return what came of it. Never raises but
        :class:`asyncio.CancelledError` (the caller's cancellation); every failure is in the
        outcome's ``failure`` and ``detail``."""
        progress = _Progress(started=self._clock())
        try:
            async with asyncio.timeout(endpoint.timeout_s):
                await self._exchange(endpoint, request, progress)
        except TimeoutError:
            return self._failed(
                endpoint, request, progress, ErrorKind.TIMEOUT,
                f"no complete answer within the endpoint's {endpoint.timeout_s:g} s deadline",
            )
        except _ExchangeError as failed:
            return self._failed(endpoint, request, progress, failed.kind, failed.detail, failed.throttle)
        except httpx.TimeoutException as exc:
            detail = _timeout_detail(exc, self._timeouts(endpoint))
            return self._failed(endpoint, request, progress, ErrorKind.TIMEOUT, detail)
        except httpx.ConnectError as exc:
            return self._failed(endpoint, request, progress, ErrorKind.CONNECTION, f"cannot connect: {exc}")
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            where = f"after {progress.events} events" if progress.status is not None else "before a response"
            detail = f"connection broken {where}: {exc or type(exc).__name__}"
            return self._failed(endpoint, request, progress, ErrorKind.CONNECTION, detail)
        except httpx.HTTPError as exc:  # a proxy, protocol or content-decoding error
            return self._failed(endpoint, request, progress, ErrorKind.MALFORMED, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a server can send what no parser foresaw; a run must go on
            log.error("%s: unexpected %s while reading the answer", endpoint.name, type(exc).__name__, exc_info=True)
            return self._failed(endpoint, request, progress, ErrorKind.MALFORMED, f"unexpected {type(exc).__name__}")
        return self._answered(endpoint, request, progress)

    def _timeouts(self, endpoint: Endpoint) -> httpx.Timeout:
        """The client's per-phase timeouts, none longer than the endpoint's whole deadline (s)."""
        s, total = self.settings, endpoint.timeout_s
        return httpx.Timeout(
            connect=min(s.connect_timeout_s, total),
            read=min(s.read_timeout_s, total),
            write=min(s.write_timeout_s, total),
            pool=min(s.pool_timeout_s, total),
        )

    async def _exchange(self, endpoint: Endpoint, request: ChatRequest, progress: _Progress) -> None:
        headers = {"accept": "text/event-stream" if request.stream else "application/json"}
        if endpoint.api_key is not None:
            headers["authorization"] = f"Bearer {endpoint.api_key.get_secret_value()}"
        if request.output_tokens is not None:
            headers[OUTPUT_TOKENS_HEADER] = str(request.output_tokens)
        async with self._client.stream(
            "POST", endpoint.url, json=request.body(endpoint.model), headers=headers, timeout=self._timeouts(endpoint)
        ) as response:
            progress.status = response.status_code
            said = _without_key(response.headers, endpoint)  # notes quote header values
            progress.rate_limits = parse_rate_limits(said, endpoint.dialect)
            progress.notes.extend(progress.rate_limits.notes)
            now = dt.datetime.fromtimestamp(self._wall_clock(), dt.UTC)
            retry = retry_after_from_headers(said, now)
            if retry is not None:
                progress.retry_after_s = retry.seconds
                if retry.note:
                    progress.notes.append(retry.note)
            if not response.is_success:
                await self._refused(response, progress)
            elif "text/event-stream" in response.headers.get("content-type", ""):
                await self._read_events(response, progress)
            else:
                await self._read_json(response, progress)

    async def _read_bounded(self, response: httpx.Response, limit: int) -> tuple[str, bool]:
        """The body as text, up to ``limit`` bytes, and whether it was longer."""
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                return bytes(data[:limit]).decode(response.encoding or "utf-8", "replace"), True
        return bytes(data).decode(response.encoding or "utf-8", "replace"), False

    async def _refused(self, response: httpx.Response, progress: _Progress) -> None:
        """A status other than 2xx: name the failure from the status and the error body."""
        body, _ = await self._read_bounded(response, self.settings.max_error_bytes)
        status = response.status_code
        said = _error_text(body)
        said = f": {said}" if said else ""
        if status == 429:
            throttle = classify_429(progress.rate_limits, progress.retry_after_s, body)
            raise _ExchangeError(ErrorKind.RATE_LIMITED, f"429 {throttle.kind} ({throttle.reason}){said}", throttle)
        if status >= 500:
            raise _ExchangeError(ErrorKind.SERVER_ERROR, f"HTTP {status}{said}")
        if status == 408:
            raise _ExchangeError(ErrorKind.TIMEOUT, f"HTTP 408: the server timed out waiting for the request{said}")
        if 400 <= status < 500:
            raise _ExchangeError(ErrorKind.CLIENT_ERROR, f"HTTP {status}{said}")
        raise _ExchangeError(ErrorKind.MALFORMED, f"unexpected HTTP status {status}{said}")

    def _chunk(self, chunk: object, progress: _Progress, at: float) -> None:
        """Take one completion chunk (or a whole non-streamed completion): text, usage, finish."""
        if not isinstance(chunk, dict):
            raise _ExchangeError(ErrorKind.MALFORMED, f"event {progress.events} is JSON but not an object")
        error = chunk.get("error")
        if error is not None:
            said = _error_text(json.dumps({"error": error}))
            if _RATE_LIMITED.search(said):
                throttle = classify_429(progress.rate_limits, progress.retry_after_s, said)
                raise _ExchangeError(ErrorKind.RATE_LIMITED, f"429 {throttle.kind} in the stream: {said}", throttle)
            raise _ExchangeError(ErrorKind.SERVER_ERROR, f"error in the stream: {said}")
        groq = chunk.get("x_groq")
        usage = _usage(chunk.get("usage")) or (_usage(groq.get("usage")) if isinstance(groq, dict) else None)
        if usage is not None:
            progress.usage = usage
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise _ExchangeError(ErrorKind.MALFORMED, f"event {progress.events}: 'choices' is not a list")
        for choice in choices:
            if not isinstance(choice, dict):
                raise _ExchangeError(ErrorKind.MALFORMED, f"event {progress.events}: a choice is not an object")
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, dict):
                raise _ExchangeError(ErrorKind.MALFORMED, f"event {progress.events}: a delta is not an object")
            text = delta.get("content")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(text, str) and text:
                progress.parts.append(text)
            calls = delta.get("tool_calls")  # a tool call's pieces are tokens too
            if (isinstance(text, str) and text) or (isinstance(reasoning, str) and reasoning) or calls:
                if progress.first_token_at is None:
                    progress.first_token_at = at
                progress.last_token_at = at
            if choice.get("finish_reason"):
                progress.finish_reason = str(choice["finish_reason"])
        self.accepted(chunk)

    def accepted(self, chunk: dict[str, Any]) -> None:
        """Hear of each completion chunk this transport accepted, as it arrives (after its own
        checks: an error event or a malformed chunk never gets here). Does nothing; the seam a
        pass-through (``capacity serve``'s relay) overrides to stream text on as it comes."""

    async def _read_events(self, response: httpx.Response, progress: _Progress) -> None:
        """Read a server-sent event stream to its end (events after ``[DONE]`` are drained and
        ignored, so the connection goes back to the pool). The size bound is checked at each
        event; a line that never ends is bounded by the endpoint's deadline instead."""
        limit, data_chars = self.settings.max_response_bytes, 0
        async with contextlib.aclosing(EventSource(response).aiter_sse()) as events:
            async for event in events:
                data_chars += len(event.data)  # counts what a transport that pre-reads the body does not report
                if max(response.num_bytes_downloaded, data_chars) > limit:
                    raise _ExchangeError(ErrorKind.MALFORMED, f"the answer exceeds {limit} bytes")
                if progress.done:
                    continue
                data = event.data.strip()
                if data == "[DONE]":
                    progress.done = True
                    continue
                if not data:  # a keep-alive or an event without data
                    continue
                progress.events += 1
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise _ExchangeError(ErrorKind.MALFORMED, f"event {progress.events} is not valid JSON") from None
                self._chunk(chunk, progress, self._clock())
        if not progress.done and progress.finish_reason is None:
            raise _ExchangeError(ErrorKind.MALFORMED, f"the stream ended after {progress.events} events without [DONE]")

    async def _read_json(self, response: httpx.Response, progress: _Progress) -> None:
        """Read a whole (non-streamed) completion."""
        body, longer = await self._read_bounded(response, self.settings.max_response_bytes)
        if longer:
            raise _ExchangeError(ErrorKind.MALFORMED, f"the answer exceeds {self.settings.max_response_bytes} bytes")
        at = self._clock()
        try:
            completion = json.loads(body)
        except ValueError:
            raise _ExchangeError(ErrorKind.MALFORMED, "the answer is not valid JSON") from None
        progress.events = 1
        self._chunk(completion, progress, at)
        if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
            raise _ExchangeError(ErrorKind.MALFORMED, "the answer has no 'choices'")
        if progress.first_token_at is None:  # an empty answer still arrived, whole, now
            progress.first_token_at = progress.last_token_at = at

    def _tokens(self, request: ChatRequest, progress: _Progress) -> tuple[int, int, bool]:
        """(prompt, completion, reported): the endpoint's usage, else counted words."""
        if progress.usage is not None:
            return progress.usage[0], progress.usage[1], True
        prompt = sum(count_words(m.get("content", "")) for m in request.messages if isinstance(m.get("content"), str))
        return prompt, count_words("".join(progress.parts)), False

    def _answered(self, endpoint: Endpoint, request: ChatRequest, progress: _Progress) -> ChatOutcome:
        end = self._clock()
        latency = (progress.last_token_at if progress.last_token_at is not None else end) - progress.started
        ttft = (progress.first_token_at if progress.first_token_at is not None else end) - progress.started
        return self._outcome(endpoint, request, progress, None, "", None, ttft, latency)

    def _failed(
        self,
        endpoint: Endpoint,
        request: ChatRequest,
        progress: _Progress,
        kind: ErrorKind,
        detail: str,
        throttle: Throttle | None = None,
    ) -> ChatOutcome:
        latency = self._clock() - progress.started
        ttft = progress.first_token_at - progress.started if progress.first_token_at is not None else latency
        log.debug("%s: %s: %s", endpoint.name, kind, _redact(detail, endpoint))
        return self._outcome(endpoint, request, progress, kind, detail, throttle, ttft, latency)

    def _outcome(
        self,
        endpoint: Endpoint,
        request: ChatRequest,
        progress: _Progress,
        failure: ErrorKind | None,
        detail: str,
        throttle: Throttle | None,
        ttft_s: float,
        latency_s: float,
    ) -> ChatOutcome:
        """What a call came to, its texts redacted of the endpoint's key."""
        prompt, completion, reported = self._tokens(request, progress)
        if failure is None and not reported:
            detail = "no usage in the answer: tokens counted as whitespace-separated words"
        return ChatOutcome(
            failure=failure,
            status=progress.status,
            ttft_s=ttft_s,
            latency_s=latency_s,
            prompt_tokens=prompt,
            completion_tokens=completion,
            content="".join(progress.parts),
            usage_reported=reported,
            retry_after_s=progress.retry_after_s,
            rate_limits=progress.rate_limits,
            throttle=throttle,
            finish_reason=progress.finish_reason,
            detail=_redact(detail, endpoint),
            notes=tuple(_redact(n, endpoint) for n in progress.notes),
        )


def _timeout_detail(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    """Which of httpx's per-phase timeouts fired, and its length."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout: no connection within {timeout.connect:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timeout: no byte for {timeout.read:g} s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"write timeout: the request was not sent within {timeout.write:g} s"
    return f"pool timeout: no free connection within {timeout.pool:g} s"


_MAX_DETAIL = 300


def _without_key(headers: httpx.Headers, endpoint: Endpoint) -> Mapping[str, str]:
    """The response headers, with the endpoint's key blanked should a server echo it (a note
    quoting a header value is cut short, so redacting afterwards could leave part of it)."""
    secret = endpoint.api_key.get_secret_value() if endpoint.api_key is not None else ""
    if not secret or not any(secret in value for value in headers.values()):
        return headers
    return {name: value.replace(secret, "[redacted]") for name, value in headers.items()}


def _redact(text: str, endpoint: Endpoint) -> str:
    """``text`` without the endpoint's key (a server may echo it back), one line, bounded."""
    if endpoint.api_key is not None:
        secret = endpoint.api_key.get_secret_value()
        if secret:
            text = text.replace(secret, "[redacted]")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
