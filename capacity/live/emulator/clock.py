"""The emulator's clock: run time (s since the emulated run start), optionally compressed.

With ``--time-scale X`` the emulated clock runs X times faster than the wall clock: a
per-minute window lasts 60/X wall seconds, a provider's midnight comes X times sooner, and a
response's time to first token and decode time are slept for 1/X of their emulated length.
Every duration the emulator *tells* a client (``retry-after``, ``x-ratelimit-reset-*``) is in
wall seconds, so an unmodified client that honours them behaves correctly.

:class:`ManualClock` stands still until told to move: tests and property checks use it to put
a request at an exact run time without waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "ScaledClock"]


class Clock(Protocol):
    """Run time of the emulator and how to wait for it."""

    @property
    def time_scale(self) -> float:
        """Emulated seconds per wall second."""
        ...

    def now(self) -> float:
        """Run time now, emulated seconds since the run start."""
        ...

    async def sleep_until(self, run_s: float) -> None:
        """Return once run time ``run_s`` has come (at once if it has)."""
        ...


class ScaledClock:
    """Run time that advances ``time_scale`` emulated seconds per wall second from ``origin_s``.

    Raises ``ValueError`` unless ``time_scale`` is finite and positive.
    """

    def __init__(self, time_scale: float = 1.0, origin_s: float = 0.0, wall_origin: float | None = None) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time scale must be finite and > 0, got {time_scale}")
        self._scale = time_scale
        self._origin = origin_s
        # CLOCK_MONOTONIC is one clock for every process of the machine: a child process
        # given the parent's instant counts the same run time
        self._wall0 = time.monotonic() if wall_origin is None else wall_origin

    @property
    def time_scale(self) -> float:
        return self._scale

    @property
    def wall_origin(self) -> float:
        """The ``time.monotonic()`` instant at which run time was ``origin_s`` (a client's
        run clock started at the same instant counts the same run time)."""
        return self._wall0

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._wall0) * self._scale

    async def sleep_until(self, run_s: float) -> None:
        wait = (run_s - self.now()) / self._scale
        if wait > 0:
            await asyncio.sleep(wait)


class ManualClock:
    """Run time that moves only when :meth:`advance` or :meth:`set` is called (tests).

    Waiting never blocks: a response's latency passes instantly, and what a client is told
    to wait is in emulated seconds (the time scale is 1).
    """

    time_scale = 1.0

    def __init__(self, now_s: float = 0.0) -> None:
        self._now = now_s

    def now(self) -> float:
        return self._now

    def set(self, run_s: float) -> None:
        """Put the clock at run time ``run_s``."""
        self._now = run_s

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` (≥ 0)."""
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        self._now += seconds

    async def sleep_until(self, run_s: float) -> None:
        await asyncio.sleep(0)
