"""``capacity serve`` in front of the provider emulator: OpenAI's own client, headers, limits, stats."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
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


def ask(base: str, *, session: str | None = None, content: str = "hello there", **headers: str) -> httpx.Response:
    """One non-streamed chat completion through the service."""
    hdrs = dict(headers)
    if session is not None:
        hdrs["x-session-id"] = session
    body = {"model": "interview", "messages": [{"role": "user", "content": content}], "max_tokens": 4}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers=hdrs, timeout=10.0)


def test_headers_count_the_group_and_a_spent_quota_answers_429_with_retry_after() -> None:
    cfg = config({"rpm": 3, "rpd": 5})
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        answers = [ask(srv.base_url) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        first, third, refused = answers[0].headers, answers[2].headers, answers[3].headers
        assert first["x-ratelimit-limit-requests"] == "3"
        assert first["x-ratelimit-remaining-requests"] == "2"
        assert first["x-ratelimit-limit-requests-day"] == "5"
        assert first["x-ratelimit-remaining-requests-day"] == "4"
        assert third["x-ratelimit-remaining-requests"] == "0"
        assert refused["x-ratelimit-remaining-requests"] == "0"
        assert refused["x-ratelimit-remaining-requests-day"] == "2"
        # a rolling minute: whole again 60 s (and the one-way margin) after the first request
        retry = int(refused["retry-after"])
        assert 55 <= retry <= 61
        assert answers[3].json()["error"]["code"] == "rate_limit_exceeded"
        assert "x-ratelimit-reset-requests" in refused
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]
        assert stats["requests"] == 3 and stats["rate_limited"] == {"burst": 0, "daily": 0}
        served = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
        assert served["total_requests"] == 4
        assert served["api_calls"] == {"count": 3, "rate": 0.75}
        assert served["refused"] == {"count": 1, "rate": 0.25}


def test_tokens_size_limit_and_a_wrong_model_are_refused_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config()
    with emulator_of(cfg) as emu, service(cfg, emu.base_url, tokens=("s3cret", "other"), max_body_bytes=2000) as srv:
        assert ask(srv.base_url).status_code == 401
        assert ask(srv.base_url, authorization="Bearer s3cre").status_code == 401
        assert ask(srv.base_url, authorization="Bearer other").status_code == 200
        big = ask(srv.base_url, content="word " * 1000, authorization="Bearer s3cret")
        assert big.status_code == 413
        wrong = httpx.post(f"{srv.base_url}/v1/chat/completions", headers={"authorization": "Bearer s3cret"},
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert wrong.status_code == 404 and "interview" in wrong.json()["error"]["message"]
        assert wrong.json()["error"]["code"] == "model_not_found"
        assert httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]["requests"] == 1


def test_cache_and_in_flight_deduplication_save_upstream_calls() -> None:
    cfg = config(cache=True, ttft_s=0.3)
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=10.0) as client:
                body = {"model": "interview", "messages": [{"role": "user", "content": "same"}], "max_tokens": 4}
                url = f"{srv.base_url}/v1/chat/completions"
                return list(await asyncio.gather(*(client.post(url, json=body) for _ in range(3))))

        answers = asyncio.run(burst())
        assert sorted(a.headers["x-capacity-source"] for a in answers) == ["api", "deduplicated", "deduplicated"]
        assert len({a.json()["choices"][0]["message"]["content"] for a in answers}) == 1
        again = ask(srv.base_url, content="same")
        assert again.headers["x-capacity-source"] == "cache"
        assert ask(srv.base_url, content="other").headers["x-capacity-source"] == "api"
        stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
        assert stats["total_requests"] == 5
        assert stats["cache_hits"] == {"count": 1, "rate": 0.2}
        assert stats["deduplicated"] == {"count": 2, "rate": 0.4}
        assert stats["api_calls"] == {"count": 2, "rate": 0.4}
        assert stats["savings"] == {"api_calls_saved": 3, "rate": 0.6}
        assert stats["template_hits"]["count"] == 0
        assert httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]["requests"] == 2
        metrics = httpx.get(f"{srv.base_url}/metrics").text
        assert 'capacity_serve_requests_total{outcome="deduplicated"} 2.0' in metrics
        assert "capacity_serve_cache_hits_total 1.0" in metrics
        assert 'capacity_serve_upstream_requests_total{provider="acme/m"} 2.0' in metrics
        assert "capacity_serve_request_duration_seconds_count 5.0" in metrics
        assert 'capacity_serve_quota_used_ratio{destination="acme/m",window="rpm"}' not in metrics  # no limits


def test_a_session_stays_on_its_provider_while_it_has_quota() -> None:
    cfg = config({"rpm": 4}, names=("acme", "beta"), strategy="most_headroom")
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        spread = {ask(srv.base_url).headers["x-capacity-destination"] for _ in range(2)}
        assert spread == {"acme/m", "beta/m"}  # least used first: the two alternate
        kept = [ask(srv.base_url, session="interview-1").headers["x-capacity-destination"] for _ in range(3)]
        assert len(set(kept)) == 1  # three turns on one provider, although the other had more room
        other = "beta/m" if kept[0] == "acme/m" else "acme/m"
        # its provider's minute is spent (1 + 3 = 4): the session moves rather than waits
        assert ask(srv.base_url, session="interview-1").headers["x-capacity-destination"] == other
        metrics = httpx.get(f"{srv.base_url}/metrics").text
        assert f'capacity_serve_quota_used_ratio{{destination="{kept[0]}",window="rpm"}} 1.0' in metrics
        assert httpx.get(f"{srv.base_url}/api/optimization_stats").json()["session_affinity_kept"] == 2


def test_an_upstream_refusing_its_key_is_taken_out_and_each_request_answered_by_the_next() -> None:
    """``gone``'s only account is taken by another key: the service's key gets 401 there once,
    then ``gone`` is out of rotation; with no retries at all, every request is still answered
    by ``good``."""
    cfg = config(names=("gone", "good"), max_retries=0)
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        body = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
        took = httpx.post(f"{emu.base_url}/p/gone/v1/chat/completions", json=body,
                          headers={"authorization": "Bearer someone-else"})
        assert took.status_code == 200
        answers = [ask(srv.base_url) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]
    assert stats["gone"]["unauthorised"] == 1  # asked once, then never again
    assert stats["good"]["models"]["m"]["served"] == 3


def test_a_group_whose_every_provider_refused_the_service_says_so_not_out_of_quota() -> None:
    """``gone`` is the group's only provider and refuses the service's key (401): the first
    request gets the upstream's refusal; every later one is answered at once with the cause —
    not a 429 saying the group is out of quota, which no wait would mend."""
    cfg = config(names=("gone",), max_retries=0)
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        body = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
        took = httpx.post(f"{emu.base_url}/p/gone/v1/chat/completions", json=body,
                          headers={"authorization": "Bearer someone-else"})
        assert took.status_code == 200
        first, later = ask(srv.base_url), ask(srv.base_url)
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]
    assert first.status_code == 502 and "401" in first.json()["error"]["message"]
    assert later.status_code == 502
    message = later.json()["error"]["message"]
    assert "every provider of the model group refused this service and was taken out of rotation" in message
    assert "gone/m: " in message and "401" in message
    assert "retry-after" not in later.headers
    assert stats["gone"]["unauthorised"] == 1  # asked once, never again

