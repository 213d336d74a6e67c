"""Named probability distributions as they appear in YAML (``kind:`` + parameters).

These are *specifications* only; :mod:`capacity.workload.distributions` turns them into
samplers. Units are those of the field that holds the distribution (seconds, tokens, …).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capacity.config.base import Model


class ConstantSpec(Model):
    """Always the same value."""

    kind: Literal["constant"]
    value: float = Field(ge=0, description="The value, in the unit of the field.")


class ExponentialSpec(Model):
    """Exponential with the given mean (memoryless; Poisson inter-arrival times)."""

    kind: Literal["exponential"]
    mean: float = Field(gt=0, description="Mean, in the unit of the field.")


class LognormalSpec(Model):
    """Lognormal given by its median and shape ``sigma`` (the sd of the log); right-skewed."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0, description="Median, in the unit of the field.")
    sigma: float = Field(ge=0, description="Standard deviation of log(value); 0 is constant.")


class NormalSpec(Model):
    """Normal, truncated to ``[min, max]`` by resampling (clipped after a few tries)."""

    kind: Literal["normal"]
    mean: float = Field(description="Mean before truncation.")
    sd: float = Field(ge=0, description="Standard deviation before truncation.")
    min: float = Field(default=0.0, description="Lower truncation bound.")
    max: float | None = Field(default=None, description="Upper truncation bound (none: no bound).")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> NormalSpec:
        if self.max is not None and self.max < self.min:
            raise ValueError("max must not be below min")
        return self


class EmpiricalSpec(Model):
    """Draws one of ``values`` with probabilities proportional to ``weights``."""

    kind: Literal["empirical"]
    values: list[float] = Field(min_length=1, description="The observed values.")
    weights: list[float] | None = Field(
        default=None, description="Relative weights, one per value (none: equal)."
    )

    @model_validator(mode="after")
    def _weights_match(self) -> EmpiricalSpec:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have one entry per value")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
        return self


DistributionSpec = Annotated[
    ConstantSpec | ExponentialSpec | LognormalSpec | NormalSpec | EmpiricalSpec,
    Field(discriminator="kind"),
]
