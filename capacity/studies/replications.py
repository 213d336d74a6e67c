"""Independent replications of a run, and confidence intervals of their headline numbers.

Replication *i* uses the *i*-th child of the scenario seed's ``SeedSequence`` (independent
streams; the first replication is the scenario's seed itself, so it is the plain run); a 95%
interval is mean ± t(0.975, n−1) · s / √n over the replications (Student's t).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capacity.config.loader import Configuration
from capacity.metrics.histogram import RESOLUTION
from capacity.result import RunResult
from capacity.studies.runner import Fidelity, SimClock, SimTask


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% confidence half-width (NaN with one replication); ``floor``, the least the
    mean can be (0 for a quantity that is never negative: latency, counts, shares, dollars)."""

    mean: float
    half_width: float
    n: int
    floor: float = -math.inf

    @property
    def low(self) -> float:
        """Lower end, not below ``floor`` (a t interval of a few non-negative values can reach below 0);
        NaN where there is no interval (one replication, or a figure not modelled)."""
        if math.isnan(self.half_width) or math.isnan(self.mean):
            return math.nan
        return max(self.floor, self.mean - self.half_width)

    @property
    def high(self) -> float:
        """Upper end (NaN where there is no interval)."""
        return self.mean + self.half_width


LATENCY_METRICS = ("turn_latency_p50_s", "turn_latency_p95_s")
"""Headline numbers read from a histogram's quantile (its resolution bounds how finely replications tell
them apart), and that the fluid mode does not model (NaN in a fluid run, shown as –)."""


def confidence_interval(values: list[float], level: float = 0.95, resolution: float = 0.0) -> Interval:
    """Student-t interval of the mean of independent ``values``, its lower end kept at 0 or above
    where every value is (:attr:`Interval.floor`); its half-width at least ``resolution`` × the mean
    (a quantile's histogram bucket, :data:`~capacity.metrics.histogram.RESOLUTION`: replications whose p95
    falls in one bucket read the same figure, which is no proof the means are equal)."""
    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    floor = 0.0 if n and min(values) >= 0 else -math.inf  # the mean of non-negative values is not negative
    # (a NaN among the values, a figure not modelled, makes the mean and the interval NaN)
    if n < 2:
        return Interval(mean, math.nan, n, floor)
    sd = float(np.std(values, ddof=1))
    from scipy import stats  # here, not at the top: it is a third of the CLI's start-up, and few commands need it

    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return Interval(mean, max(t * sd / math.sqrt(n), resolution * abs(mean)), n, floor)


def metric_interval(metric: str, values: list[float]) -> Interval:
    """The 95% interval of headline number ``metric`` over replications (a quantile's no narrower than
    its histogram's resolution)."""
    return confidence_interval(values, resolution=RESOLUTION if metric in LATENCY_METRICS else 0.0)


def replication_seeds(seed: int, n: int) -> list[int]:
    """Seeds of ``n`` independent replications derived from ``seed`` (the first is ``seed``)."""
    children = np.random.SeedSequence(seed).spawn(n - 1) if n > 1 else []
    return [seed] + [int(c.generate_state(1)[0]) for c in children]


def replication_tasks(
    config: Configuration,
    n: int,
    *,
    seed: int | None = None,
    days: int | None = None,
    fidelity: Fidelity = "exact",
) -> list[SimTask]:
    """The ``n`` runs of :func:`replicate`, as tasks for :func:`~capacity.studies.runner.run_tasks`."""
    base = config.scenario.seed if seed is None else seed
    return [
        SimTask(config, s, days, f"{config.scenario.name} replication {i + 1}/{n}", fidelity)
        for i, s in enumerate(replication_seeds(base, n))
    ]


def replicate(
    config: Configuration,
    n: int,
    *,
    seed: int | None = None,
    days: int | None = None,
    progress: Callable[[int], SimClock] | None = None,
    fidelity: Fidelity = "exact",
) -> list[RunResult]:
    """``n`` runs with independent seeds, one after the other; ``progress(i)`` gives replication i's clock;
    ``fidelity`` chooses the engine (exact, or fluid: :mod:`capacity.sim.fluid`)."""
    return [
        task(progress(i) if progress else None)
        for i, task in enumerate(replication_tasks(config, n, seed=seed, days=days, fidelity=fidelity))
    ]


def headline_intervals(results: list[RunResult]) -> dict[str, Interval]:
    """95% interval of each headline number over replications."""
    keys = results[0].headline().keys() if results else []
    return {k: metric_interval(k, [r.headline()[k] for r in results]) for k in keys}
