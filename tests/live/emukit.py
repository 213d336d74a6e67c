"""Helpers of the live tests (imported as ``emukit``: pytest puts this folder on the path):
small providers built in code, the emulator served on a free loopback port on a background
thread (stopped when the test ends), and a loopback port that refuses connections."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from capacity.config.providers import Provider
from capacity.config.scenario import Outage
from capacity.live.emulator import Clock, Emulator, EmulatorThread, FaultRates, ManualClock

START = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
"""A Monday noon UTC, far from any DST change."""

INSTANT = {"ttft_s": {"kind": "constant", "value": 0.0}, "output_tokens_per_s": {"kind": "constant", "value": 1e6}}
"""A latency model that answers at once."""


def model(name: str = "m", *, latency: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A model entry as providers.yaml writes it (``limits=``, ``resets=``, ``error_rate=`` …)."""
    return {"name": name, "latency": latency or INSTANT, **fields}


def provider(*models: dict[str, Any], name: str = "acme", accounts: int = 1) -> Provider:
    """A provider of ``models`` (default: one unlimited model ``m``)."""
    return Provider.model_validate({
        "name": name, "label": name, "base_url": "http://unused", "billing": "free", "accounts": accounts,
        "scope": "account", "source": "test", "as_of": "2025-01-01", "models": list(models) or [model()],
    })


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection while the block runs.

    The socket is bound (port 0: the kernel picks a free port) and never listens, so a connection
    to it is refused, and it stays bound until the block ends: no other process — another
    pytest-xdist worker's server — can take the port meanwhile, as it could a port bound and
    released.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@contextmanager
def serve(
    *providers: Provider,
    clock: Clock | None = None,
    run_start: dt.datetime = START,
    outages: tuple[Outage, ...] = (),
    faults: FaultRates | None = None,
    seed: int = 1,
) -> Iterator[tuple[Emulator, httpx.Client]]:
    """The emulator of ``providers`` on a free loopback port, and an HTTP client of it."""
    emulator = Emulator(list(providers), clock or ManualClock(), run_start, seed=seed, outages=outages,
                        faults=faults)
    with EmulatorThread(emulator) as server, httpx.Client(base_url=server.base_url, timeout=10.0,
                                                          trust_env=False) as client:
        yield emulator, client


def chat(
    client: httpx.Client,
    *,
    key: str = "key-1",
    provider_name: str = "acme",
    model_name: str = "m",
    prompt_words: int = 3,
    max_tokens: int | None = 10,
    output: int | None = None,
    fault: str | None = None,
    stream: bool = False,
    include_usage: bool = False,
) -> httpx.Response:
    """One chat completion (a prompt of ``prompt_words`` tokens), read whole."""
    body: dict[str, Any] = {
        "model": model_name,
        "messages": [{"role": "user", "content": " ".join(["word"] * prompt_words)}],
        "stream": stream,
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    headers = {"authorization": f"Bearer {key}"}
    if output is not None:
        headers["x-emulator-output-tokens"] = str(output)
    if fault is not None:
        headers["x-emulator-fault"] = fault
    return client.post(f"/p/{provider_name}/v1/chat/completions", json=body, headers=headers)


def stats(client: httpx.Client, provider_name: str = "acme", model_name: str = "m") -> dict[str, Any]:
    """``GET /stats`` for one provider model."""
    doc: dict[str, Any] = client.get("/stats").json()
    return doc["providers"][provider_name]["models"][model_name]  # type: ignore[no-any-return]
