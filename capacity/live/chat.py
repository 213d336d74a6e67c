"""The chat-completion seam's data: where a request goes, what it asks, what came of it.

An :class:`Endpoint` is one model behind an OpenAI-compatible API (a hosted provider of
providers.yaml, a local vLLM / llama.cpp / Ollama server, or the project's emulator); a
:class:`ChatRequest` is one chat completion to ask it for; a :class:`ChatOutcome` is what
:meth:`capacity.live.transport.ChatTransport.send` made of the exchange, and
:func:`fill_call` writes it into the policy core's :class:`~capacity.policy.actions.Call`.

Secrets: the API key is read from the environment variable providers.yaml names and held as
a ``pydantic.SecretStr`` (its repr is masked); no error message here ever shows it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from capacity.config.providers import Provider
from capacity.errors import UsageError
from capacity.live.ratelimits import MAX_RETRY_AFTER_S, OPENAI, HeaderDialect, RateLimitSnapshot, Throttle, dialect_for
from capacity.policy.actions import Call
from capacity.units import ErrorKind
from capacity.workload.keyed import CallKey

__all__ = ["MAX_WAIT_S", "OUTPUT_TOKENS_HEADER", "ChatOutcome", "ChatRequest", "Endpoint", "count_words", "fill_call"]

OUTPUT_TOKENS_HEADER = "x-emulator-output-tokens"
"""Asks the project's emulator for exactly this many output tokens; real providers ignore it."""

_NO_LIMITS = RateLimitSnapshot()

MAX_WAIT_S = MAX_RETRY_AFTER_S
"""The longest a destination is held after a 429, run s: a day (``ratelimits.MAX_RETRY_AFTER_S``).
A burst window frees within minutes and a daily quota at its next reset, within a day, so no
honest wait for them is longer. A longer one — ``Retry-After: 1000000000``, a "try again in
9999h", a monthly quota's reset — holds the destination a day, after which one refused request
(which spends nothing) asks again. Uncapped, one absurd header would take a provider out of a
long run for good."""


@dataclass(frozen=True)
class Endpoint:
    """One model behind an OpenAI-compatible API.

    ``base_url`` ends in the API version (``https://api.groq.com/openai/v1``,
    ``http://127.0.0.1:8000/v1``); ``model`` is the provider's model id; ``api_key`` is sent as
    a bearer token (None for a local server that wants none); ``timeout_s`` is the total
    deadline of one request, s; ``dialect`` reads the provider's rate-limit headers.
    Raises :class:`~capacity.errors.UsageError` for a URL that is not http(s) or a deadline
    that is not a positive number."""

    name: str
    base_url: str
    model: str
    api_key: SecretStr | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    dialect: HeaderDialect = OPENAI

    def __post_init__(self) -> None:
        base = self.base_url.rstrip("/")
        try:
            scheme = httpx.URL(base).scheme
        except httpx.InvalidURL:
            scheme = ""
        if scheme not in {"http", "https"}:
            raise UsageError(f"endpoint {self.name}: base URL {base!r} is not an http:// or https:// URL")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise UsageError(f"endpoint {self.name}: timeout_s must be a positive number, not {self.timeout_s}")
        object.__setattr__(self, "base_url", base)

    @property
    def url(self) -> str:
        """Where chat completions are posted."""
        return f"{self.base_url}/chat/completions"

    @classmethod
    def from_env(
        cls,
        name: str,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None,
        timeout_s: float = 60.0,
        dialect: HeaderDialect = OPENAI,
        environ: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """An endpoint whose key is in the environment variable ``api_key_env`` (None: no key).
        Raises :class:`~capacity.errors.UsageError` naming the variable — never its value —
        when it is unset or empty."""
        env = os.environ if environ is None else environ
        key: SecretStr | None = None
        if api_key_env:
            value = env.get(api_key_env, "")
            if not value.strip():
                raise UsageError(f"endpoint {name}: environment variable {api_key_env} (its API key) is not set")
            key = SecretStr(value.strip())
        return cls(name, base_url, model, key, timeout_s, dialect)

    @classmethod
    def from_provider(
        cls, provider: Provider, model: str, *, base_url: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Endpoint:
        """The endpoint of ``model`` at ``provider`` as providers.yaml describes it (its base
        URL unless ``base_url`` overrides it, its ``api_key_env``, the model's ``timeout_s``, the
        provider's header dialect). Raises :class:`~capacity.errors.UsageError` for a model the
        provider does not list or an unset key variable."""
        spec = provider.model(model)
        if spec is None:
            known = ", ".join(m.name for m in provider.models)
            raise UsageError(f"provider {provider.name} has no model {model!r} (it lists: {known})")
        return cls.from_env(
            f"{provider.name}/{model}",
            base_url or provider.base_url,
            model,
            api_key_env=provider.api_key_env,
            timeout_s=spec.timeout_s,
            dialect=dialect_for(provider.name),
            environ=environ,
        )


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to ask for: ``messages`` (``{"role": …, "content": …}``),
    ``max_tokens`` (≥ 1), ``stream`` (server-sent events, so TTFT is seen) and
    ``output_tokens``, a hint sent as :data:`OUTPUT_TOKENS_HEADER` (the emulator generates
    exactly that many tokens); ``user``, OpenAI's end-user id (sent when given: ``capacity
    serve`` keeps one user's requests on one provider); ``options``, more fields of the body
    passed on as given (``capacity serve``'s clients' ``tools`` and ``tool_choice``); ``call_key``,
    the call's identity, sent as :data:`~capacity.workload.keyed.CALL_KEY_HEADER` so the emulator
    draws the call's fate as the simulator does (``capacity validate`` only). Raises
    ``ValueError`` for ``max_tokens`` < 1."""

    messages: Sequence[Mapping[str, str]]
    max_tokens: int
    stream: bool = True
    output_tokens: int | None = None
    user: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    call_key: CallKey | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")
        object.__setattr__(self, "messages", tuple(self.messages))

    def body(self, model: str) -> dict[str, Any]:
        """The JSON body of the request to ``model``."""
        body: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in self.messages],
            "max_tokens": self.max_tokens,
            "stream": self.stream,
        }
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        if self.user is not None:
            body["user"] = self.user
        body.update(self.options)
        return body


@dataclass(frozen=True)
class ChatOutcome:
    """What one request came to.

    ``failure`` is None when the endpoint answered, else the :class:`~capacity.units.ErrorKind`;
    ``status`` the HTTP status (None if no response came); ``ttft_s`` and ``latency_s`` the
    times to the first and the last token, s (TTFT ≤ latency); ``prompt_tokens`` and
    ``completion_tokens`` the endpoint's usage when ``usage_reported``, else counted words
    (for a failure, of what arrived); ``content`` the answer's text (what arrived, for a
    failure); ``retry_after_s`` the provider's ``Retry-After`` (s, clamped to a day);
    ``rate_limits`` its rate-limit headers; ``throttle`` the burst/exhausted verdict of a 429;
    ``finish_reason`` the model's; ``detail`` one line on the failure or on what was
    estimated; ``notes`` what was ignored in the headers."""

    failure: ErrorKind | None
    status: int | None
    ttft_s: float
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    content: str = ""
    usage_reported: bool = False
    retry_after_s: float | None = None
    rate_limits: RateLimitSnapshot = _NO_LIMITS
    throttle: Throttle | None = None
    finish_reason: str | None = None
    detail: str = ""
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the endpoint answered."""
        return self.failure is None


def count_words(text: str) -> int:
    """Tokens of ``text`` by the project's approximation: one per whitespace-separated word."""
    return len(text.split())


def fill_call(call: Call, outcome: ChatOutcome, time_scale: float = 1.0) -> None:
    """Write ``outcome`` into the policy core's ``call``: its failure (with the HTTP status and
    the one-line detail, already free of the key, from which the policy tells a refused
    destination from a refused request), TTFT and latency, the
    generated tokens when the endpoint reported usage (else the call keeps its planned count),
    the wait before a retry — a classified 429's full wait (the spent window's reset included),
    else ``Retry-After`` — and the outcome itself as ``payload``. The outcome's times are wall
    seconds; the call's are run seconds, ``time_scale`` run seconds to the wall second (the
    live driver's ``--time-scale``; a provider's waits are wall time too), the wait capped at
    :data:`MAX_WAIT_S` of run time. Raises
    ``ValueError`` for a ``time_scale`` that is not positive."""
    if not time_scale > 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    call.failure = None if outcome.failure is None else str(outcome.failure)
    call.status = outcome.status
    call.detail = outcome.detail if outcome.failure is not None else ""
    call.ttft_s = outcome.ttft_s * time_scale
    call.latency_s = outcome.latency_s * time_scale
    if outcome.failure is None and outcome.usage_reported:
        call.tokens_out = outcome.completion_tokens
    wait = outcome.throttle.wait_s if outcome.throttle is not None else None
    wait = wait if wait is not None else outcome.retry_after_s
    call.retry_after_s = None if wait is None else min(wait * time_scale, MAX_WAIT_S)
    call.payload = outcome
