"""``capacity serve`` in front of the provider emulator: OpenAI's own client, headers, limits, stats."""

from __future__ import annotations

import httpx
import openai
from servekit import config, emulator_of, service

MESSAGES = [{"role": "user", "content": "tell me about your last project"}]


def test_the_official_openai_client_completes_through_the_service() -> None:
    cfg = config({"rpm": 100})
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        client = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(model="interview", messages=MESSAGES, max_tokens=12)  # type: ignore[arg-type]
        assert reply.choices[0].message.content
        assert reply.usage is not None and reply.usage.completion_tokens == 12
        assert reply.usage.prompt_tokens >= 5  # the emulator's count of the five words (and the role)
        stream = client.chat.completions.create(
            model="interview", messages=MESSAGES, max_tokens=7, stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert len(text.split()) == 7
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
        models = client.models.list()
        assert [m.id for m in models.data] == ["interview"]
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]
        assert stats["requests"] == 2
