"""Passing an upstream's stream on to the client as it arrives.

A streamed client request through ``capacity serve`` is a pass-through: each text delta the
upstream sends (its ``content``, a reasoning model's ``reasoning_content``, or a tool call's
``tool_calls`` — OpenAI's function name and argument pieces, passed on unchanged) is handed to the
client's response as soon as the transport has read and accepted it, so the client's time to
first token is the upstream's TTFT plus the service's own small overhead.

The seam is :class:`RelayTransport`, the live :class:`~capacity.live.transport.ChatTransport`
that also offers every completion chunk it accepted (after its own checks: an error event, a
malformed chunk or an oversized answer never reaches a client) to the :class:`Relay` of the task
that sent the request (a context variable, so one shared, pooled client serves every request).
A plain ``ChatTransport`` offers nothing: the stream then arrives whole at its end.

The :class:`Relay` is a queue of deltas closed by ``None`` when the upstream exchange ends, and
counts the words passed on (what a call abandoned half-way is settled with).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from capacity.live.chat import count_words
from capacity.live.transport import ChatTransport

__all__ = ["Delta", "Relay", "RelayTransport", "relaying"]

Delta = dict[str, Any]
"""One delta as OpenAI streams it: ``{"content": …}``, ``{"reasoning_content": …}`` and/or
``{"tool_calls": [{"index": …, "id": …, "function": {"name": …, "arguments": …}}]}``."""

_RELAY: contextvars.ContextVar[Relay | None] = contextvars.ContextVar("capacity_serve_relay", default=None)

_TEXT_KEYS = ("content", "reasoning_content")


class Relay:
    """The deltas of one upstream call on their way to the client, in arrival order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Delta | None] = asyncio.Queue()
        self.words_out = 0
        """Output tokens passed on so far, counted as whitespace-separated words."""
        self.sending = True
        """Whether the upstream exchange is still going (False once it ended, however)."""

    def offer(self, chunk: object) -> None:
        """Queue the text and tool-call pieces of an accepted completion chunk (a streamed
        ``delta`` or a whole ``message``); a chunk with neither (the role, the finish, the
        usage) queues nothing."""
        if not isinstance(chunk, dict):
            return
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, dict):
                continue
            text: Delta = {k: v for k in _TEXT_KEYS if isinstance(v := delta.get(k), str) and v}
            calls = delta.get("tool_calls")
            if isinstance(calls, list) and calls:
                text["tool_calls"] = calls
            if text:
                self.words_out += count_words(text.get("content", ""))
                self.queue.put_nowait(text)

    def close(self) -> None:
        """The upstream exchange has ended: no more deltas."""
        self.sending = False
        self.queue.put_nowait(None)


def relaying(relay: Relay) -> None:
    """Make ``relay`` the current task's: what :class:`RelayTransport` reads in it goes there.
    Call it inside the task that sends (each task has its own copy of the context)."""
    _RELAY.set(relay)


class RelayTransport(ChatTransport):
    """A :class:`~capacity.live.transport.ChatTransport` that also offers each completion chunk
    it accepted to the sending task's :class:`Relay` (none: it behaves as its parent)."""

    def accepted(self, chunk: dict[str, Any]) -> None:
        relay = _RELAY.get()
        if relay is not None:
            relay.offer(chunk)
