"""Closed-form arithmetic for a run of decode steps whose batch does not change.

While no request arrives, finishes, or runs out of KV room, every step decodes one token
for the same n sequences, and each sequence's cached context grows by one token per step.
Step j (j = 0, 1, …) then lasts

    t(j) = max(a0 + a1·j, b0 + b1·j) ÷ speed-up + overhead

(memory time and compute time are both linear in the total context n·j added). The sum of
k such steps and its inverse — how many whole steps fit in a time — have closed forms, so
the fast server skips over thousands of steps at once.
"""

from __future__ import annotations

import math


def _line_sum(start: int, stop: int, c0: float, c1: float) -> float:
    """Σ (c0 + c1·j) for j in [start, stop)."""
    m = stop - start
    return m * c0 + c1 * m * (start + stop - 1) / 2.0


class DecodeRun:
    """k consecutive decode steps of an unchanging batch (times in seconds)."""

    __slots__ = ("_a0", "_a1", "_b0", "_b1", "_overhead", "_speedup", "_split")

    def __init__(
        self, a0: float, a1: float, b0: float, b1: float, *, speedup: float, overhead: float
    ) -> None:
        self._a0, self._a1, self._b0, self._b1 = a0, a1, b0, b1
        self._speedup = speedup
        self._overhead = overhead
        # the two lines cross at most once; before `split` steps one line is larger, after it the other
        d0, d1 = a0 - b0, a1 - b1
        self._split = math.inf if d1 == 0.0 else max(0.0, math.ceil(-d0 / d1))

    def step(self, j: int) -> float:
        """Duration of step j (0-based), s."""
        return max(self._a0 + self._a1 * j, self._b0 + self._b1 * j) / self._speedup + self._overhead

    def _piece(self, start: int, stop: int) -> float:
        if stop <= start:
            return 0.0
        mid = (start + stop - 1) / 2.0
        if self._a0 + self._a1 * mid >= self._b0 + self._b1 * mid:
            return _line_sum(start, stop, self._a0, self._a1)
        return _line_sum(start, stop, self._b0, self._b1)

    def duration(self, k: int) -> float:
        """Total duration of the first k steps, s."""
        if k <= 0:
            return 0.0
        split = self._split
        if split >= k or split <= 0:  # one line rules all k steps
            busy = self._piece(0, k)
        else:
            busy = self._piece(0, int(split)) + self._piece(int(split), k)
        return busy / self._speedup + k * self._overhead

    def _first_guess(self, dt: float) -> int:
        """Solve the (piecewise) quadratic for the steps that fit in dt; exact to ±1."""
        split = self._split
        start, spent = 0, 0.0
        if 0 < split < math.inf:
            first = self.duration(int(split))
            if first <= dt:
                start, spent = int(split), first
        # a point strictly inside the piece that begins at `start`, to tell which line rules it
        probe = float(start) if start < split else split + 1.0
        if self._a0 + self._a1 * probe >= self._b0 + self._b1 * probe:
            c0, c1 = self._a0, self._a1
        else:
            c0, c1 = self._b0, self._b1
        # step start + m costs alpha + beta·m
        alpha = (c0 + c1 * start) / self._speedup + self._overhead
        beta = c1 / self._speedup
        rest = dt - spent
        # beta/2·m² + (alpha − beta/2)·m = rest, solved in the cancellation-free form
        b = alpha - beta / 2.0
        m = 2.0 * rest / (b + math.sqrt(b * b + 2.0 * beta * rest)) if beta > 0.0 else rest / alpha
        return start + max(0, math.floor(m))

    def steps_within(self, dt: float) -> int:
        """The most whole steps whose total duration is at most ``dt`` seconds."""
        if dt <= 0.0:
            return 0
        k = self._first_guess(dt)
        while self.duration(k + 1) <= dt:
            k += 1
        while k > 0 and self.duration(k) > dt:
            k -= 1
        return k
