"""The service-level target a plan must meet, and the capacity knee.

A **target** is what a planner promises: at least :data:`CARRIED_SHARE` (99 %) of the
requested interviews carried — completed or degraded by the end of the run — and the p95 turn
latency, optionally also the p95 time to first token, within a limit. The scenario's own
target (:meth:`Target.of_service_level`) checks the turn latency of its ``sla``; it is what
``capacity simulate``'s verdict, the capacity curve and ``capacity compare`` call "carries".

The **knee** of a plan is the largest demand such that it, and every smaller demand tried,
meets a target: beyond it the plan loses interviews or stalls them. :func:`knee_of` reads it
off runs in increasing demand — the points of a sweep, or the probes of a bisection — so the
two ways of finding it (:mod:`capacity.studies.sweep`, :func:`capacity.studies.sizing.knee`)
agree on what it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from capacity.result import RunResult

CARRIED_SHARE = 0.99
"""Least share of the requested interviews a plan must carry to be said to carry the demand."""

P = TypeVar("P")


@dataclass(frozen=True)
class Target:
    """What a plan must achieve: carried share, p95 turn latency, p95 time to first token."""

    p95_turn_latency_s: float | None
    """Limit on the 95th percentile turn latency, s (None: not checked)."""
    p95_ttft_s: float | None = None
    """Limit on the 95th percentile time to first token, s (None: not checked)."""
    carried_share: float = CARRIED_SHARE
    """Least share of requested interviews completed or degraded by the run's end, 0–1."""

    @staticmethod
    def of_service_level(result: RunResult) -> Target:
        """The scenario's own target, as its run states it: ≥ 99 % carried, p95 turn latency ≤ its SLA."""
        return Target(p95_turn_latency_s=result.sla_p95_turn_latency_s)

    def met(self, carried_share: float, p95_turn_latency_s: float, p95_ttft_s: float | None = None) -> bool:
        """Whether these measures meet every part of the target (``p95_ttft_s`` None: not measured)."""
        return carried_share >= self.carried_share and self.latency_met(p95_turn_latency_s, p95_ttft_s)

    def met_by(self, result: RunResult) -> bool:
        """Whether a run meets every part of the target (an empty run carries all of nothing)."""
        return self.met(result.carried_share, result.turn_latency_s.p95, result.ttft_s.p95)

    def latency_met(self, p95_turn_latency_s: float, p95_ttft_s: float | None = None) -> bool:
        """Whether these latencies meet the latency parts of the target."""
        return (self.p95_turn_latency_s is None or p95_turn_latency_s <= self.p95_turn_latency_s) and (
            self.p95_ttft_s is None or p95_ttft_s is None or p95_ttft_s <= self.p95_ttft_s
        )

    def describe(self) -> str:
        """``≥ 99% carried, p95 turn latency ≤ 3 s`` and so on."""
        parts = [f"≥ {self.carried_share:.0%} carried"]
        if self.p95_turn_latency_s is not None:
            parts.append(f"p95 turn latency ≤ {self.p95_turn_latency_s:g} s")
        if self.p95_ttft_s is not None:
            parts.append(f"p95 time to first token ≤ {self.p95_ttft_s:g} s")
        return ", ".join(parts)


def carries(result: RunResult) -> bool:
    """Whether a run carries its demand: its scenario's own target met (≥ 99 % carried within its SLA)."""
    return Target.of_service_level(result).met_by(result)


def knee_of(points: Iterable[P], meets: Callable[[P], bool]) -> P | None:
    """The knee: the last of ``points`` (in increasing demand) before the first that misses.

    None when the first point already misses (or there is none). A point that meets the target
    again after a miss is not the knee: a plan that stalls at some demand is not trusted above it.
    """
    best = None
    for p in points:
        if not meets(p):
            break
        best = p
    return best
