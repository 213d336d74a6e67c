"""Helpers of the ``capacity serve`` tests: a one-provider scenario, the emulator of its
provider, and the service in front of it, each on a free loopback port in-process; and a clock
that holds the emulator's streams where a test wants them."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from simkit import BASE, build, const, demand, destinations, hours, merge, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.emulator import Clock, Emulator, EmulatorThread, FaultRates, ScaledClock
from capacity.live.performer import resolve_routes
from capacity.live.serve import ServeSettings, ServeThread

START = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, which the dashboard tests drive through Playwright."""


def require_browser() -> None:
    """Skip (or, under CI, fail) without Chromium or Playwright."""
    missing = [] if CHROMIUM else ["chromium (Debian: apt-get install chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"not installed: {', '.join(missing)}; CI must install them (see .ci/run)")
        pytest.skip(f"not installed: {', '.join(missing)}")


def config(
    limits: dict[str, Any] | None = None,
    *,
    names: tuple[str, ...] = ("acme",),
    ttft_s: float = 0.0,
    tokens_per_s: float = 1e6,
    cache: bool = False,
    **routing: Any,
) -> Configuration:
    """Providers ``names`` (model ``m`` each, ``limits``, a constant time to first token
    ``ttft_s``, decoding ``tokens_per_s`` output tokens a second: at once by default), in that
    order, routed as ``routing`` adds; the response cache and in-flight de-duplication on with
    ``cache``."""
    return build(
        [provider(n, limits=limits or {}, ttft=const(ttft_s), tps=const(tokens_per_s)) for n in names],
        demand(10),
        hours("00:00", "01:00"),
        one_turn(output=const(5.0), max_output=16),
        {"cache": {"enabled": cache, "deduplicate_in_flight": cache}},
        destinations(*names, **routing),
    )


class GateClock:
    """An emulator clock that stands still until the test moves it, and whose waits wait for
    it (a stream's next chunk is sent only once the clock reaches its time): what a client has
    received while the clock stands still is exactly what the emulator sent before it."""

    time_scale = 1.0

    def __init__(self) -> None:
        self._now = 0.0

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move run time on (a float store: safe from the test's thread)."""
        self._now += seconds

    async def sleep_until(self, run_s: float) -> None:
        while self._now < run_s:
            await asyncio.sleep(0.005)


@contextmanager
def emulator_of(
    cfg: Configuration, time_scale: float = 1.0, *, clock: Clock | None = None, faults: FaultRates | None = None
) -> Iterator[EmulatorThread]:
    """The emulator of ``cfg``'s providers, ``time_scale`` emulated seconds per wall second
    (or on ``clock``), misbehaving as ``faults`` draws."""
    emulator = Emulator(list(cfg.providers.values()), clock or ScaledClock(time_scale), START, faults=faults)
    with EmulatorThread(emulator) as server:
        yield server


@contextmanager
def service(cfg: Configuration, emulator_url: str, **settings: Any) -> Iterator[ServeThread]:
    """``capacity serve`` of ``cfg`` in front of the emulator at ``emulator_url``."""
    routes = resolve_routes(cfg, emulator=emulator_url)
    with ServeThread(ServeSettings(cfg, routes, **settings)) as server:
        yield server


def write_files(folder: Path, limits: dict[str, Any], interviews: int, **routing: Any) -> tuple[Path, Path]:
    """A scenario file and a providers file in ``folder`` for the CLI: :func:`config`'s provider
    ``acme`` with ``limits``, ``interviews`` one-request interviews spread over 00:00–01:00,
    routed as ``routing`` adds."""
    prov = provider("acme", limits=limits, tps=const(1e6))
    scenario = merge(BASE, {**demand(interviews), **hours("00:00", "01:00"),
                            **one_turn(output=const(5.0), max_output=16), **destinations("acme", **routing)})
    providers_path, scenario_path = folder / "providers.yaml", folder / "tiny.yaml"
    providers_path.write_text(yaml.safe_dump({"providers": [prov]}))
    scenario_path.write_text(yaml.safe_dump(scenario))
    return scenario_path, providers_path
