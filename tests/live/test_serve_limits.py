"""The model group's rate-limit headers against hand counts (no HTTP): a property test."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from servekit import config

from capacity.live.serve.gateway import SERVE_EPOCH
from capacity.live.serve.limits import GroupLimits
from capacity.policy.build import build_core, seed_streams
from capacity.policy.destination import Routed
from capacity.policy.observer import NULL_OBSERVER


@settings(max_examples=30, deadline=None)
@given(
    rpm=st.integers(1, 6),
    steps=st.lists(st.tuples(st.floats(0.0, 40.0), st.booleans()), min_size=1, max_size=30),
)
def test_remaining_is_the_limit_less_the_requests_of_the_last_minute(rpm: int, steps: list[tuple[float, bool]]) -> None:
    """Two providers of ``rpm`` each (rolling minutes): after any admissions and settlements,
    the group's remaining requests are 2·rpm less the admissions of the last 60 s, and it is
    whole again when the last of them leaves its window."""
    cfg = config({"rpm": rpm}, names=("acme", "beta"))
    core = build_core(cfg, SERVE_EPOCH, seed_streams(1), NULL_OBSERVER)
    limits = GroupLimits(core.destinations, shared=False)
    now = 0.0
    admitted: list[float] = []
    for advance, settle in steps:
        now += advance
        answer = core.router.route(now, 10, 5)
        if isinstance(answer, Routed):
            admitted.append(now)
            if settle:
                core.router.settle(now, answer, 10, 5, 0.1)
        else:
            assert sum(1 for t in admitted if t > now - 60.0) == 2 * rpm  # refused only when full
        headers = limits.headers(now)
        in_window = [t for t in admitted if t > now - 60.0]
        assert headers["x-ratelimit-limit-requests"] == str(2 * rpm)
        assert headers["x-ratelimit-remaining-requests"] == str(2 * rpm - len(in_window))
        reset = headers["x-ratelimit-reset-requests"]
        if not in_window:
            assert reset == "0s"
        else:
            expected = max(in_window) + 60.0 - now
            assert reset.endswith("s") and reset != "0s"
            assert math.isclose(_seconds(reset), expected, abs_tol=0.011)


def _seconds(go: str) -> float:
    """A Go duration as the headers write it (``1m2.5s``, ``12ms``, ``7.66s``), in seconds."""
    if go.endswith("ms"):
        return float(go[:-2]) / 1000
    minutes, _, rest = go.rpartition("m")
    return (float(minutes) * 60 if minutes else 0.0) + float(rest.rstrip("s"))
