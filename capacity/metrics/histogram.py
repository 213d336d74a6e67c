"""A fixed-bucket logarithmic histogram of durations, for streaming percentiles.

Buckets are equally spaced in log10 between ``low_s`` and ``high_s`` (200 per decade: a
reported quantile is within about 1.2% of the true sample quantile); values below ``low_s``
land in the first bucket, above ``high_s`` in the last. Memory is constant, whatever the
number of samples.
"""

from __future__ import annotations

import math

import numpy as np

from capacity.result import Quantiles

_log10 = math.log10

PER_DECADE = 200
"""Buckets per decade of the histograms' default."""
RESOLUTION = 10 ** (1 / PER_DECADE) - 1
"""A bucket's relative width (1.16%): quantiles of two runs that fall in one bucket read the same, so
two runs cannot be told apart more finely than this on a quantile."""


class LogHistogram:
    """Streaming histogram of non-negative durations, s."""

    __slots__ = ("_counts", "_inv_step", "_last", "_log_low", "count", "high_s", "low_s", "max", "total")

    def __init__(self, low_s: float = 1e-3, high_s: float = 1e6, per_decade: int = PER_DECADE) -> None:
        self.low_s = low_s
        self.high_s = high_s
        self._log_low = math.log10(low_s)
        self._inv_step = per_decade
        n = math.ceil((math.log10(high_s) - self._log_low) * per_decade) + 2
        self._counts = [0] * n
        self._last = n - 1  # the overflow bucket's index
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, value_s: float) -> None:
        """Record one duration."""
        self.count += 1
        self.total += value_s
        self.max = value_s if value_s > self.max else self.max  # max() without a call: a hot path
        if value_s <= self.low_s:
            self._counts[0] += 1
            return
        i = int((_log10(value_s) - self._log_low) * self._inv_step) + 1
        self._counts[i if i < self._last else self._last] += 1

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0–1), s: the geometric middle of the bucket holding it."""
        if self.count == 0:
            return 0.0
        target = q * self.count
        cumulative = np.cumsum(self._counts)
        i = int(np.searchsorted(cumulative, target, side="left"))
        if i == 0:
            return min(self.low_s, self.max)
        lo = 10 ** (self._log_low + (i - 1) / self._inv_step)
        hi = 10 ** (self._log_low + i / self._inv_step)
        return min(math.sqrt(lo * hi), self.max)

    def summary(self) -> Quantiles:
        """Count, mean, p50/p95/p99 and max."""
        mean = self.total / self.count if self.count else 0.0
        return Quantiles(
            count=self.count,
            mean=mean,
            p50=self.quantile(0.50),
            p95=self.quantile(0.95),
            p99=self.quantile(0.99),
            max=self.max,
        )

    def cdf(self) -> tuple[list[float], list[float]]:
        """(bucket upper edges s, cumulative fraction) over non-empty range, for plots."""
        if self.count == 0:
            return [], []
        cumulative = np.cumsum(self._counts) / self.count
        edges = [10 ** (self._log_low + i / self._inv_step) for i in range(len(self._counts))]
        nz = [i for i, c in enumerate(self._counts) if c]
        lo, hi = nz[0], nz[-1] + 1
        return edges[lo:hi], [float(x) for x in cumulative[lo:hi]]
