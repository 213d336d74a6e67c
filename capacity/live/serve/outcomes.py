"""What ``capacity serve``'s gateway is asked and what it answers, without HTTP.

A :class:`ClientRequest` is one client's chat completion; its answer is an :class:`Answer` (from
a provider, the response cache or an identical request's leader), :class:`Exhausted` (no quota
within the wait allowed: a 429 with ``Retry-After``), :class:`Failed` (every attempt failed
upstream), or, for a streamed request, :class:`Streaming` (passed on as it arrives). An answer
kept in Redis — the shared response cache, or the result an identical request on another
instance waits for — is :func:`encoded` as JSON and :func:`decoded` back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from capacity.live.chat import ChatOutcome, count_words
from capacity.live.serve.relay import Delta, Relay
from capacity.units import ErrorKind

__all__ = ["Answer", "ClientRequest", "Exhausted", "Failed", "Outcome", "Streaming", "decoded", "encoded"]


@dataclass(frozen=True)
class ClientRequest:
    """One client's chat completion: ``messages`` as sent, ``max_tokens`` (None: not given),
    ``session`` (None: no affinity), ``output_tokens`` (the emulator's hint, passed on),
    ``options``: OpenAI's ``tools`` and ``tool_choice`` as the client sent them, passed on
    upstream unchanged (a request with tools is neither cached nor de-duplicated)."""

    group: str
    messages: Sequence[Mapping[str, str]]
    max_tokens: int | None = None
    session: str | None = None
    output_tokens: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tokens_in(self) -> int:
        """Prompt tokens by the project's approximation (one per whitespace-separated word)."""
        return sum(count_words(m.get("content", "")) for m in self.messages)

    def cache_key(self) -> str:
        """The exact-match key of the response cache and of de-duplication: the group, the
        messages and ``max_tokens``, hashed (SHA-256)."""
        doc = json.dumps([self.group, list(map(dict, self.messages)), self.max_tokens], sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    """An answered request: the upstream's outcome and where it went (``destination`` None:
    from the cache or a de-duplicated request's leader)."""

    outcome: ChatOutcome
    destination: str | None
    source: str  # "api", "cache" or "deduplicated"


@dataclass(frozen=True)
class Exhausted:
    """No destination can take the request within the wait allowed: try again in
    ``retry_after_s`` wall seconds (≥ 1)."""

    retry_after_s: float


@dataclass(frozen=True)
class Failed:
    """Every attempt failed upstream: the last failure, its HTTP status (None: no response)
    and a one-line detail."""

    failure: ErrorKind
    status: int | None
    detail: str


Outcome = Answer | Exhausted | Failed


@dataclass(frozen=True)
class Streaming:
    """An upstream answer being passed on as it arrives, from ``destination``: its ``first``
    delta, the rest in ``relay`` (``None`` closes it), and the upstream ``call``, whose
    :class:`~capacity.live.chat.ChatOutcome` says at the end how it went (a failure now is
    final: text was already passed on). :meth:`abandon` when the client goes away."""

    destination: str
    relay: Relay
    call: asyncio.Task[ChatOutcome]
    first: Delta

    async def deltas(self) -> AsyncIterator[Delta]:
        """The answer's text deltas, the first included, as they arrive."""
        yield self.first
        while (delta := await self.relay.queue.get()) is not None:
            yield delta

    async def outcome(self) -> ChatOutcome:
        """How the upstream call ended (once its deltas are all read); waiting for it never
        cancels it."""
        return await asyncio.shield(self.call)

    def abandon(self) -> None:
        """The client has gone: cancel the upstream call if it is still sending (it then
        settles itself, once); a call already done is left to finish its accounting."""
        if self.relay.sending:
            self.call.cancel()


def encoded(outcome: ChatOutcome) -> bytes:
    """What the shared response cache keeps of an answer: its text, finish reason and usage (JSON)."""
    doc = {
        "content": outcome.content,
        "finish_reason": outcome.finish_reason,
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def decoded(payload: bytes) -> ChatOutcome | None:
    """An answer kept by :func:`encoded` (its times zero: it took no upstream call), or None for
    a payload not of that form (a miss)."""
    try:
        doc = json.loads(payload)
        return ChatOutcome(
            None, 200, 0.0, 0.0, int(doc["prompt_tokens"]), int(doc["completion_tokens"]), str(doc["content"]),
            usage_reported=True, finish_reason=doc["finish_reason"],
        )
    except (ValueError, KeyError, TypeError):
        return None
