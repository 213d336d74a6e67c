"""Samplers for the named distributions of :mod:`capacity.config.distributions`.

Each sampler is a small class behind the :class:`Sampler` protocol (``sample(rng)``,
``sample_block(rng, n)``, ``mean``), picked from the explicit :data:`SAMPLERS` registry by the
spec's ``kind``. Randomness always comes from a ``numpy.random.Generator`` passed in; no
sampler holds random state of its own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from capacity.config.distributions import (
    ConstantSpec,
    DistributionSpec,
    EmpiricalSpec,
    ExponentialSpec,
    LognormalSpec,
    NormalSpec,
)

FloatArray = NDArray[np.float64]


class Sampler(Protocol):
    """A distribution that can be sampled and knows its mean."""

    @property
    def mean(self) -> float:
        """The expected value."""
        ...

    def sample(self, rng: np.random.Generator) -> float:
        """One draw."""
        ...

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        """``n`` independent draws (faster than ``n`` calls of ``sample``)."""
        ...


class Constant:
    """Always ``value``."""

    def __init__(self, spec: ConstantSpec) -> None:
        self.value = spec.value

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value)


class Exponential:
    """Exponential with the given mean."""

    def __init__(self, spec: ExponentialSpec) -> None:
        self._mean = spec.mean

    @property
    def mean(self) -> float:
        return self._mean

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self._mean))

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self._mean, n)


class Lognormal:
    """Lognormal with median ``median`` and log-sd ``sigma``; mean = median·exp(σ²/2)."""

    def __init__(self, spec: LognormalSpec) -> None:
        self.mu = math.log(spec.median)
        self.sigma = spec.sigma

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.lognormal(self.mu, self.sigma))

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.lognormal(self.mu, self.sigma, n)


@functools.lru_cache(maxsize=256)
def _truncated_normal_mean(mu: float, sd: float, lo: float, hi: float) -> float:
    """scipy's mean of N(``mu``, ``sd``) truncated to [``lo``, ``hi``], remembered: every run of
    a study asks for the same few (a search simulates a scenario a dozen times), and scipy's
    answer takes milliseconds."""
    from scipy.stats import truncnorm

    return float(truncnorm.mean((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd))


class TruncatedNormal:
    """Normal truncated to [min, max]: out-of-range draws are redrawn (then clipped)."""

    def __init__(self, spec: NormalSpec) -> None:
        self.mu = spec.mean
        self.sd = spec.sd
        self.lo = spec.min
        self.hi = math.inf if spec.max is None else spec.max

    @property
    def mean(self) -> float:
        if self.sd == 0:
            return min(max(self.mu, self.lo), self.hi)
        return _truncated_normal_mean(self.mu, self.sd, self.lo, self.hi)

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.sample_block(rng, 1)[0])

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        out = rng.normal(self.mu, self.sd, n)
        for _ in range(8):
            bad = (out < self.lo) | (out > self.hi)
            count = int(bad.sum())
            if count == 0:
                break
            out[bad] = rng.normal(self.mu, self.sd, count)
        return np.clip(out, self.lo, self.hi)


class Empirical:
    """One of the observed ``values``, with probability proportional to ``weights``."""

    def __init__(self, spec: EmpiricalSpec) -> None:
        self.values = np.asarray(spec.values, dtype=float)
        w = np.ones(len(spec.values)) if spec.weights is None else np.asarray(spec.weights, dtype=float)
        self.p = w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.p))

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.choice(self.values, p=self.p))

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.choice(self.values, size=n, p=self.p)


class StandardUniform:
    """U(0, 1): for yes/no decisions drawn in blocks (a call fails if U < its error rate)."""

    mean = 0.5

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.random())

    def sample_block(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.random(n)


SAMPLERS: dict[str, Callable[..., Sampler]] = {
    "constant": Constant,
    "exponential": Exponential,
    "lognormal": Lognormal,
    "normal": TruncatedNormal,
    "empirical": Empirical,
}
"""Sampler class for each distribution ``kind``."""


def sampler(spec: DistributionSpec) -> Sampler:
    """The sampler for a distribution spec."""
    return SAMPLERS[spec.kind](spec)


class BlockStream:
    """Draws from a sampler handed out one at a time, generated in blocks for speed."""

    __slots__ = ("_block", "_buf", "_i", "_rng", "_sampler")

    def __init__(self, dist: Sampler, rng: np.random.Generator, block: int = 4096) -> None:
        self._sampler = dist
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        """The next draw."""
        if self._i >= len(self._buf):
            self._buf = self._sampler.sample_block(self._rng, self._block).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value
