"""A provider call's fate drawn from its identity: the same call fares the same in two runs.

The simulator draws each provider call's fate — whether it fails (a 5xx, with the model's
``error_rate``), its time to first token (TTFT, s) and its decode speed (output tokens/s) —
from streams consumed in the order calls happen. Two runs of one seed that order their calls
even slightly differently (the simulation and a live run of the same interviews, whose timers
fire a little late) then hand the same call different fates: in ``capacity validate`` the
provider emulator failed 8 calls to one provider where the simulator failed 5, and each
failure was retried elsewhere, so requests per provider differed by sampling noise, not by a
fault of either side.

For validation both sides instead draw a call's fate from a generator seeded by the run's seed
and the call's :data:`CallKey` — the candidate, the candidate's interview number, the turn of
the script, the attempt — the same call in both runs whatever the order of events: a call that
fails in the simulation fails live, and takes the same service time. What is then compared is
the two systems, not two samples. The simulator does this with ``keyed_draws=True``, the
emulator for a request that carries the key in :data:`CALL_KEY_HEADER` (the live driver sends
it only when validating); ordinary runs draw from their streams as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from capacity.workload.distributions import Sampler

__all__ = ["CALL_KEY_HEADER", "CallKey", "ServiceDraw", "draw_service", "format_call_key", "parse_call_key"]

CallKey: TypeAlias = tuple[int, int, int, int]
"""A call's identity in a run of a seed: (candidate, the candidate's interview number from 0,
the turn's index in the script, the attempt from 0), each ≥ 0."""

CALL_KEY_HEADER = "x-emulator-call-key"
"""Asks the project's emulator to draw the call's fate from this key (``candidate.interview.turn.attempt``)."""

_DOMAIN = 0x5E41CE
"""Mixed into every keyed seed, so these generators never coincide with the run's own streams."""


@dataclass(frozen=True, slots=True)
class ServiceDraw:
    """One call's fate: ``failure_u`` is uniform on [0, 1) (the call fails with a 5xx if it is
    below the model's error rate), ``ttft_s`` the time to first token (s) and
    ``output_tokens_per_s`` the decode speed, both from the model's latency model."""

    failure_u: float
    ttft_s: float
    output_tokens_per_s: float


def draw_service(seed: int, key: CallKey, ttft: Sampler, speed: Sampler) -> ServiceDraw:
    """The fate of call ``key`` in a run of ``seed`` on a model with these TTFT (s) and decode
    speed (tokens/s) distributions: a pure function of its arguments (a fraction of a
    millisecond: for validation runs of some thousands of calls, not for month-long simulations). Raises
    ``ValueError`` if the seed or a part of the key is negative."""
    rng = np.random.default_rng((_DOMAIN, seed, *key))
    failure_u = float(rng.random())
    return ServiceDraw(failure_u, ttft.sample(rng), speed.sample(rng))


def format_call_key(key: CallKey) -> str:
    """``key`` as the emulator's header value: ``candidate.interview.turn.attempt``."""
    return ".".join(map(str, key))


def parse_call_key(text: str) -> CallKey | None:
    """The key of a :data:`CALL_KEY_HEADER` value, or None unless it is four whole numbers ≥ 0
    joined by dots."""
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    a, b, c, d = (int(p) for p in parts)
    return a, b, c, d
