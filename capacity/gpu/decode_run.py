"""Closed-form arithmetic for a run of decode steps whose batch does not change.

While no request arrives, finishes, or runs out of KV room, every step decodes one token
for the same n sequences, and each sequence's cached context grows by one token per step.
Both the bytes a step reads and the FLOPs it computes grow by the same amount each step, so
step j (j = 0, 1, …) lasts

    t(j) = (c0 + c1·j) ÷ speed-up + overhead

(:meth:`capacity.gpu.roofline.Deployment.step_time_s` with the run's n and contexts). The
sum of k such steps and its inverse — how many whole steps fit in a time — have closed
forms, so the fast server skips over thousands of steps at once.
"""

from __future__ import annotations

import math


class DecodeRun:
    """k consecutive decode steps of an unchanging batch (times in seconds)."""

    __slots__ = ("_alpha", "_beta")

    def __init__(self, c0: float, c1: float, *, speedup: float, overhead: float) -> None:
        # step j costs alpha + beta·j
        self._alpha = c0 / speedup + overhead
        self._beta = c1 / speedup

    def step(self, j: int) -> float:
        """Duration of step j (0-based), s."""
        return self._alpha + self._beta * j

    def duration(self, k: int) -> float:
        """Total duration of the first k steps, s."""
        if k <= 0:
            return 0.0
        return k * self._alpha + self._beta * k * (k - 1) / 2.0

    def steps_within(self, dt: float) -> int:
        """The most whole steps whose total duration is at most ``dt`` seconds."""
        if dt <= 0.0:
            return 0
        alpha, beta = self._alpha, self._beta
        # beta/2·k² + (alpha − beta/2)·k = dt, solved in the cancellation-free form; exact to ±1
        b = alpha - beta / 2.0
        k = max(0, math.floor(2.0 * dt / (b + math.sqrt(b * b + 2.0 * beta * dt)) if beta > 0.0 else dt / alpha))
        while self.duration(k + 1) <= dt:
            k += 1
        while k > 0 and self.duration(k) > dt:
            k -= 1
        return k
