"""The base of every configuration model: strict, immutable, documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A frozen pydantic model that rejects unknown keys and non-finite numbers (``.nan``, ``.inf``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
