"""A streamed tool call passes through ``capacity serve`` unchanged.

The client sends OpenAI's ``tools`` and a ``tool_choice`` naming one; the service passes both
upstream, and the emulator answers with a call of that function as ``delta.tool_calls`` chunks.
What the client reads is what the emulator sent: the same ``tool_calls`` deltas in the same
order, and ``finish_reason: tool_calls``; the official ``openai`` client assembles the call.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from servekit import config, emulator_of, service

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "score_answer", "parameters": {"type": "object", "properties": {}}}},
]
CHOICE = {"type": "function", "function": {"name": "score_answer"}}
MESSAGES = [{"role": "user", "content": "score this answer"}]
HINT = {"x-emulator-output-tokens": "6"}  # the emulator's answer: six tokens of arguments


def tool_deltas(response: httpx.Response) -> tuple[list[Any], list[str]]:
    """The ``tool_calls`` deltas of a streamed answer, in order, and its finish reasons."""
    calls, finishes = [], []
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                if choice["delta"].get("tool_calls"):
                    calls.append(choice["delta"]["tool_calls"])
                if choice.get("finish_reason"):
                    finishes.append(choice["finish_reason"])
    return calls, finishes


def test_tool_call_deltas_reach_the_client_as_the_provider_sent_them() -> None:
    cfg = config({"rpm": 100})
    body = {"messages": MESSAGES, "max_tokens": 16, "stream": True, "tools": TOOLS, "tool_choice": CHOICE}
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        direct = httpx.post(f"{emu.base_url}/p/acme/v1/chat/completions", json={**body, "model": "m"},
                            headers={"authorization": "Bearer emulator-acme-account-1", **HINT}, timeout=10.0)
        routed = httpx.post(f"{srv.base_url}/v1/chat/completions", json={**body, "model": "interview"},
                            headers=HINT, timeout=10.0)
        assert routed.status_code == 200 and routed.headers["x-capacity-source"] == "api"
        sent, _ = tool_deltas(direct)
        got, finishes = tool_deltas(routed)
        ids = {c[0].get("id") for c in sent} - {None}
        assert len(ids) == 1 and len(sent) >= 3  # the opening (id, name), argument pieces, the closing
        # unchanged but for the call's id, which is the emulator's own per answer
        assert [[{**c, "id": None} for c in d] for d in got] == [[{**c, "id": None} for c in d] for d in sent]
        assert finishes == ["tool_calls"]
        arguments = json.loads("".join(d[0]["function"]["arguments"] for d in got))
        assert got[0][0]["function"]["name"] == "score_answer" and len(arguments["text"].split()) == 6

        client = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="interview", messages=MESSAGES, max_tokens=16, stream=True,  # type: ignore[arg-type]
            tools=TOOLS, tool_choice=CHOICE, extra_headers=HINT,  # type: ignore[arg-type]
        )
        pieces = [c.choices[0].delta.tool_calls or [] for c in stream if c.choices]
        call = [p for chunk in pieces for p in chunk]
        assert call[0].function is not None and call[0].function.name == "score_answer"
        assert json.loads("".join(p.function.arguments or "" for p in call if p.function))["text"]


def test_tools_in_a_request_that_is_not_streamed_are_refused_plainly() -> None:
    cfg = config({"rpm": 100})
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        body = {"model": "interview", "messages": MESSAGES, "tools": TOOLS, "tool_choice": CHOICE}
        answer = httpx.post(f"{srv.base_url}/v1/chat/completions", json=body, timeout=10.0)
        assert answer.status_code == 400
        assert "streamed requests only" in answer.json()["error"]["message"]
