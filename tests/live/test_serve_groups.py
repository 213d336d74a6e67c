"""``capacity serve`` with model groups: each group is a model clients name, answered only by
its own providers, with its own rate-limit headers; any other name is OpenAI's 404."""

from __future__ import annotations

from dataclasses import replace

import httpx
from servekit import emulator_of, service
from simkit import build, const, demand, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.serve.driving import through_router


def _config() -> Configuration:
    """acme (RPM 3) is the default group, served as ``interview``; beta (RPM 7) is the group ``fast``."""
    return build(
        [provider("acme", limits={"rpm": 3}, tps=const(1e6)), provider("beta", limits={"rpm": 7}, tps=const(1e6))],
        demand(10),
        hours("00:00", "01:00"),
        one_turn(output=const(5.0), max_output=16),
        {
            "routing": {
                "destinations": [{"provider": "acme", "model": "m"}],
                "groups": {"fast": {"destinations": [{"provider": "beta", "model": "m"}]}},
            }
        },
    )


def _ask(base: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 4}
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=10.0)


def test_each_model_group_is_answered_by_its_own_providers() -> None:
    cfg = _config()
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv:
        listed = httpx.get(f"{srv.base_url}/v1/models").json()
        assert [m["id"] for m in listed["data"]] == ["interview", "fast"]
        fast = [_ask(srv.base_url, "fast") for _ in range(4)]
        default = [_ask(srv.base_url, "interview") for _ in range(2)]
        assert {a.headers["x-capacity-destination"] for a in fast} == {"beta/m"}
        assert {a.headers["x-capacity-destination"] for a in default} == {"acme/m"}
        assert all(a.json()["model"] == "fast" for a in fast)
        # each group's own allowance: beta's RPM 7 with 4 used, acme's RPM 3 with 2 used
        assert (fast[-1].headers["x-ratelimit-limit-requests"], fast[-1].headers["x-ratelimit-remaining-requests"]) == (
            "7", "3",
        )
        assert default[-1].headers["x-ratelimit-limit-requests"] == "3"
        assert default[-1].headers["x-ratelimit-remaining-requests"] == "1"
        # acme's group spent: a third and fourth request to it get a 429, never beta's spare quota
        assert _ask(srv.base_url, "interview").status_code == 200
        assert _ask(srv.base_url, "interview").status_code == 429
        unknown = _ask(srv.base_url, "smart")
        assert unknown.status_code == 404
        error = unknown.json()["error"]
        assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
        assert "interview, fast" in error["message"]
        stats = httpx.get(f"{emu.base_url}/stats").json()["providers"]
        assert stats["beta"]["models"]["m"]["requests"] == 4
        assert stats["acme"]["models"]["m"]["requests"] == 3


def test_live_through_the_router_asks_each_stage_of_its_group_by_name() -> None:
    """``capacity live --router``: each model group becomes the router's model of that name (the
    default group under ``--group``'s), so a stage's requests name its group to the service."""
    cfg = _config()
    stages = {"ask": cfg.scenario.script.stages["ask"].model_copy(update={"group": "fast"})}
    script = cfg.scenario.script.model_copy(update={"stages": stages})
    driven = through_router(
        replace(cfg, scenario=cfg.scenario.model_copy(update={"script": script})), "http://127.0.0.1:4000", "interview"
    )
    routing = driven.scenario.routing
    assert [d.label for d in routing.all_destinations] == ["router/interview", "router/fast"]
    assert routing.group_members == {"default": (0,), "fast": (1,)}
    assert [m.name for m in driven.provider("router").models] == ["interview", "fast"]
