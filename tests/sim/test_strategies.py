"""Routing strategies do what their names say, seen from the admissions of whole runs.

Two or three destinations, one-turn interviews arriving at random over an hour, zero service
time unless said otherwise; a :class:`~simkit.Probe` records which destination admitted each
request when, so each strategy's rule can be checked at every single admission.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from simkit import Admitted, Probe, build, check_conservation, const, demand, destinations, provider

from capacity.config.loader import Configuration
from capacity.result import RunResult
from capacity.sim.model import Simulation


def _run(config: Configuration) -> tuple[RunResult, Probe]:
    probe = Probe(Simulation(config))
    result = probe.run()
    check_conservation(result)
    return result, probe


def _times(records: list[Admitted]) -> np.ndarray[Any, Any]:
    return np.asarray([a.at for a in records])


def _in_last_minute(times: np.ndarray[Any, Any], at: float) -> int:
    """Admissions in (at − 60 s, at), the rolling minute an admission at ``at`` is checked against."""
    return int(np.sum((times + 60.0 > at) & (times < at)))


def test_fill_first_exhausts_the_first_before_the_second_gets_traffic() -> None:
    """1,200 requests in an hour (20 a minute) on p0 with RPM 10 then p1 without limits:
    p1 is used only at moments when p0 has admitted 10 in the last minute, and p0 carries
    nearly its whole 600 an hour."""
    config = build(
        [provider("p0", limits={"rpm": 10}), provider("p1")],
        demand(1200),
        destinations("p0", "p1", strategy="fill_first", on_exhausted="fail"),
    )
    result, probe = _run(config)
    first, second = _times(probe.at(0)), _times(probe.at(1))
    assert len(first) + len(second) == 1200 == result.interviews.completed
    assert all(_in_last_minute(first, t) == 10 for t in second)
    rpm = result.destinations[0].windows[0]
    assert rpm.first_blocked_s is not None
    assert second.min() >= rpm.first_blocked_s
    assert 540 <= len(first) <= 600  # a rolling RPM of 10 over an hour: at most 600


def test_weighted_splits_in_proportion_to_weights() -> None:
    """4,000 requests, weights 3 : 1, no limits: p0's share is Binomial(4000, 0.75)/4000,
    sd 0.0068; tolerance 4 sd."""
    config = build(
        [provider("p0"), provider("p1")],
        demand(4000),
        {
            "routing": {
                "strategy": "weighted",
                "destinations": [
                    {"provider": "p0", "model": "m", "weight": 3.0},
                    {"provider": "p1", "model": "m", "weight": 1.0},
                ],
            }
        },
    )
    result, _ = _run(config)
    share = result.destinations[0].requests / 4000
    assert share == pytest.approx(0.75, abs=4 * np.sqrt(0.75 * 0.25 / 4000))


def test_weighted_falls_back_when_the_drawn_destination_is_full() -> None:
    """Weights 1 : 1 but p1 has RPM 5: p1 carries at most 5 a minute, the overflow goes to p0."""
    config = build(
        [provider("p0"), provider("p1", limits={"rpm": 5})],
        demand(1200),
        destinations("p0", "p1", strategy="weighted", on_exhausted="fail"),
    )
    result, _ = _run(config)
    assert result.interviews.completed == 1200
    assert result.destinations[1].requests <= 300 < result.destinations[0].requests


def test_most_headroom_keeps_use_fractions_equal() -> None:
    """RPM 30 and RPM 60, 40 requests a minute: every request goes to the destination whose
    rolling minute is the less full (ties to the first), so traffic splits 1 : 2 like the
    limits and both windows peak at the same fraction."""
    config = build(
        [provider("p0", limits={"rpm": 30}), provider("p1", limits={"rpm": 60})],
        demand(2400),
        destinations("p0", "p1", strategy="most_headroom", on_exhausted="fail"),
    )
    result, probe = _run(config)
    assert result.interviews.completed == 2400  # 40 a minute is below the 90 both can take
    times = [_times(probe.at(0)), _times(probe.at(1))]
    limits = [30, 60]
    for record in probe.admitted:
        fraction = [_in_last_minute(times[i], record.at) / limits[i] for i in (0, 1)]
        chosen, other = record.dest, 1 - record.dest
        assert fraction[chosen] < fraction[other] or (fraction[chosen] == fraction[other] and chosen == 0)
    share = result.destinations[0].requests / 2400
    assert share == pytest.approx(1 / 3, abs=0.03)
    peaks = [d.windows[0].peak_fraction for d in result.destinations]
    assert peaks[0] == pytest.approx(peaks[1], abs=0.1)


def test_cost_aware_prefers_the_cheaper_paid_destination() -> None:
    """p0 at $1/Mtok listed first, p1 at $0.10/Mtok with RPM 10, p2 free with RPM 5: the free
    tier first, then the cheaper paid one, and the expensive one only when both are full."""
    config = build(
        [
            provider("p0", billing="paid", prices=(1.0, 1.0)),
            provider("p1", billing="paid", prices=(0.1, 0.1), limits={"rpm": 10}),
            provider("p2", billing="free", prices=(0.1, 0.1), limits={"rpm": 5}),
        ],
        demand(1200),
        destinations("p0", "p1", "p2", strategy="cost_aware", on_exhausted="fail"),
    )
    result, probe = _run(config)
    dear, cheap, free = (_times(probe.at(i)) for i in range(3))
    assert len(dear) + len(cheap) + len(free) == 1200
    assert all(_in_last_minute(free, t) == 5 for t in cheap)
    assert all(_in_last_minute(free, t) == 5 and _in_last_minute(cheap, t) == 10 for t in dear)
    # most of each rolling allowance is used (lulls in the random arrivals leave some unused)
    assert 0.9 * 300 <= len(free) <= 300
    assert 0.8 * 600 <= len(cheap) <= 600
    # 100 prompt tokens per request, no output: $1e-4 on p0, $1e-5 on p1, nothing on p2
    assert result.destinations[2].cost_usd == 0.0
    assert result.cost_usd == pytest.approx(len(dear) * 1e-4 + len(cheap) * 1e-5)


def test_latency_aware_prefers_the_faster_once_measured() -> None:
    """p0 answers in 2 s, p1 in 0.2 s, p0 listed first. Unmeasured destinations go first (to
    learn), in priority order: p0 takes requests until its first answer, p1 the next, and from
    then on p1 is faster and takes everything."""
    config = build(
        [provider("p0", ttft=const(2.0)), provider("p1", ttft=const(0.2))],
        demand(1000),
        destinations("p0", "p1", strategy="latency_aware"),
    )
    result, probe = _run(config)
    slow = _times(probe.at(0))
    assert slow[0] == probe.admitted[0].at  # the very first request learns p0
    assert np.all(slow <= slow[0] + 2.0)  # nothing more once p0's latency is known
    assert len(slow) <= 3  # one arrival every 3.6 s on average
    assert result.destinations[1].requests == 1000 - len(slow)
