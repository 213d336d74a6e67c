"""Helpers of the ``capacity serve`` tests: a one-provider scenario, the emulator of its
provider, and the service in front of it, each on a free loopback port in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from simkit import build, const, demand, destinations, hours, one_turn, provider

from capacity.config.loader import Configuration
from capacity.live.emulator import Emulator, EmulatorThread, ScaledClock
from capacity.live.performer import resolve_routes
from capacity.live.serve import ServeSettings, ServeThread

START = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)


def config(
    limits: dict[str, Any] | None = None,
    *,
    names: tuple[str, ...] = ("acme",),
    ttft_s: float = 0.0,
    cache: bool = False,
    **routing: Any,
) -> Configuration:
    """Providers ``names`` (model ``m`` each, ``limits``, a constant time to first token
    ``ttft_s``, decoding at once), in that order, routed as ``routing`` adds; the response
    cache and in-flight de-duplication on with ``cache``."""
    return build(
        [provider(n, limits=limits or {}, ttft=const(ttft_s), tps=const(1e6)) for n in names],
        demand(10),
        hours("00:00", "01:00"),
        one_turn(output=const(5.0), max_output=16),
        {"cache": {"enabled": cache, "deduplicate_in_flight": cache}},
        destinations(*names, **routing),
    )


@contextmanager
def emulator_of(cfg: Configuration) -> Iterator[EmulatorThread]:
    """The emulator of ``cfg``'s providers on the wall clock."""
    emulator = Emulator(list(cfg.providers.values()), ScaledClock(1.0), START)
    with EmulatorThread(emulator) as server:
        yield server


@contextmanager
def service(cfg: Configuration, emulator_url: str, **settings: Any) -> Iterator[ServeThread]:
    """``capacity serve`` of ``cfg`` in front of the emulator at ``emulator_url``."""
    routes = resolve_routes(cfg, emulator=emulator_url)
    with ServeThread(ServeSettings(cfg, routes, **settings)) as server:
        yield server
