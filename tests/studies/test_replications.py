"""Replications: independent seeds, the first the scenario's own, and Student-t 95% intervals."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from capacity.config.loader import Configuration
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.studies.replications import (
    confidence_interval,
    headline_intervals,
    metric_interval,
    replicate,
    replication_seeds,
)

SMALL_B = ("demand.interviews=300", "candidates.count=30")


@pytest.fixture(scope="module")
def config(load_scenario: Callable[..., Configuration]) -> Configuration:
    """Scenario B shrunk to 300 interviews: free tiers with random latencies, errors and retries."""
    return load_scenario("B", *SMALL_B)


def _numbers(result: RunResult) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump()
    data.pop("wall_time_s")  # how long the computer took, not part of the model
    return data


def test_replications_are_independent_runs_with_95_percent_intervals(config: Configuration) -> None:
    runs = replicate(config, 4)
    seeds = replication_seeds(config.scenario.seed, 4)
    assert [r.seed for r in runs] == seeds
    assert seeds[0] == config.scenario.seed
    assert len(set(seeds)) == 4
    assert _numbers(runs[0]) == _numbers(simulate(config))  # replication 1 is the plain run
    assert len({r.turn_latency_s.mean for r in runs}) == 4
    intervals = headline_intervals(runs)
    for key, interval in intervals.items():
        values = np.asarray([r.headline()[key] for r in runs])
        # Student t with n − 1 = 3 degrees of freedom: t(0.975, 3) = 3.182
        half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / math.sqrt(4)
        if key.startswith("turn_latency_"):  # a quantile: no narrower than its histogram bucket
            half = max(half, (10 ** (1 / 200) - 1) * values.mean())
        assert interval.n == 4
        assert interval.mean == pytest.approx(values.mean())
        assert interval.half_width == pytest.approx(half, abs=1e-12)
        assert interval.low <= interval.mean <= interval.high


def test_confidence_interval_textbook() -> None:
    ci = confidence_interval([1.0, 2.0, 3.0])
    assert ci.mean == 2.0
    assert ci.half_width == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) · 1 / √3
    single = confidence_interval([5.0])
    assert single.mean == 5.0
    assert math.isnan(single.half_width)


def test_the_interval_of_a_quantity_never_negative_does_not_reach_below_zero() -> None:
    """Tried as a new user would: `sweep -r 2` gave a p50 turn latency interval down to −0.75 s."""
    ci = confidence_interval([0.1, 2.0])
    assert ci.half_width > ci.mean  # the t interval of two values is wide …
    assert ci.low == 0.0 and ci.high == ci.mean + ci.half_width  # … but a latency is not negative
    signed = confidence_interval([-0.5, 2.0])  # a quantity that can be negative keeps its interval
    assert signed.low == signed.mean - signed.half_width < 0


def test_a_quantile_interval_is_no_narrower_than_its_histogram_bucket() -> None:
    """Tried as a new user would: every replication of B's sweep read p95 turn latency 31.805… s (one
    histogram bucket), shown as "31.8 (31.8–31.8)", a certainty the 1.16% buckets cannot give."""
    p95 = metric_interval("turn_latency_p95_s", [31.805, 31.805, 31.805])
    assert p95.half_width == pytest.approx(31.805 * (10 ** (1 / 200) - 1))
    assert round(p95.low, 2) == 31.44 and round(p95.high, 2) == 32.17
    carried = metric_interval("carried_interviews_per_day", [350.0, 350.0])  # a count is exact: no floor
    assert carried.half_width == 0.0
    wide = metric_interval("turn_latency_p95_s", [10.0, 20.0])  # the t interval where it is the wider
    assert wide.half_width == pytest.approx(confidence_interval([10.0, 20.0]).half_width)
