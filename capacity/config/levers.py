"""Work that need not wait for the interview: providers' batch APIs, deferred stages, question banks.

Three pieces of configuration, each small:

* :class:`BatchApi` — a provider's (or one model's) asynchronous batch API, in ``providers.yaml``:
  its price as a share of the synchronous list price, its completion window (the time within
  which the provider promises results), its limits on one batch and on the work enqueued at once,
  and whether batch requests draw on the normal rate limits. Facts and sources:
  ``docs/facts/batch-and-tiers.md`` §1. A figure the sources do not give takes the safe reading
  (see each field).
* :class:`Deferral` — on a scenario's stage: the stage's request is made between the candidate's
  *booking* (``lead_time_s`` before the interview starts) and the interview, through the batch API
  or live off-peak, and the interview uses the result if it is ready in time.
* :class:`Bank` — on a scenario's stage: the stage is answered from ``variants`` answers per role
  written once, before the first interview, instead of one request per interview.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from capacity.config.base import Model

__all__ = ["Bank", "BatchApi", "Deferral"]


class BatchApi(Model):
    """A provider's asynchronous batch API: price, completion window, limits, rate-limit pool.

    ``available: false`` records that the plan in question cannot use it (Gemini's and Groq's free
    tiers). Unknown values take the safe reading: an unknown window is the longest one published,
    an unknown limit is no limit *stated* (the plan names it), and unknown quota accounting counts
    batch requests against the normal limits.
    """

    available: bool = Field(default=True, description="Whether this plan (e.g. a free tier) may use the batch API.")
    price_factor: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Batch price ÷ synchronous list price, input and output alike (0.5: half price); "
        "1 where no discount is stated.",
    )
    completion_window_s: PositiveFloat = Field(
        default=86_400.0,
        description="Time within which the provider promises results, s (24 h = 86,400); the model counts a "
        "result ready only at the end of it (the guarantee, not the often-quicker typical turnaround).",
    )
    max_requests_per_batch: PositiveInt | None = Field(
        default=None, description="Requests one batch may hold (OpenAI 50,000); none: no limit stated."
    )
    max_enqueued_requests: PositiveInt | None = Field(
        default=None,
        description="Requests waiting across all unfinished batches (Mistral 1,000,000); none: not stated.",
    )
    max_enqueued_tokens: PositiveInt | None = Field(
        default=None,
        description="Input tokens waiting across all unfinished batches of one model (OpenAI tier 1 gpt-4o-mini "
        "2,000,000); none: not stated.",
    )
    draws_on_quotas: bool | Literal["unknown"] = Field(
        default="unknown",
        description="Whether batch requests count against the model's normal rate limits (false: their own pool); "
        "unknown counts them, the safe reading.",
    )
    source: str = Field(min_length=1, description="Where these figures come from (URL or document).")
    as_of: dt.date = Field(description="Date the source was read.")

    @property
    def counts_against_quotas(self) -> bool:
        """Whether batch requests are charged to the normal windows (``unknown``: yes)."""
        return self.draws_on_quotas is not False


class Deferral(Model):
    """A stage whose request is made ahead of the interview, between booking and interview.

    The candidate *books* ``lead_time_s`` before the interview starts; the request is made then.
    ``via: batch`` submits it to the batch API of ``provider``/``model`` (price, completion window,
    batch limits and quota pool of its ``batch:`` block); ``via: off_peak`` sends it at booking
    through the scenario's own router, on the normal quotas (choose the lead time so bookings fall
    outside business hours, where free daily quotas would otherwise reset unused). A result not
    ready when the interview reaches the stage is counted late and the stage falls back to a live
    call. The stage may read the resume but not the conversation, which does not exist yet.
    """

    lead_time_s: PositiveFloat = Field(
        description="Booking → interview start, s (a booking that would fall before the run starts is made at 0; "
        "with several deferred stages a session is booked once, at the longest of their lead times)."
    )
    via: Literal["batch", "off_peak"] = Field(
        description="batch: the provider's batch API; off_peak: a normal call at booking time, on the normal quotas."
    )
    provider: str | None = Field(
        default=None,
        description="batch: the provider whose batch API takes the request (give it with model, or neither: the "
        "first destination of the stage's model group that offers one).",
    )
    model: str | None = Field(default=None, description="batch: that provider's model (given with provider).")

    @model_validator(mode="after")
    def _batch_target(self) -> Deferral:
        if (self.provider is None) != (self.model is None):
            raise ValueError("deferral needs both provider and model, or neither")
        if self.via == "off_peak" and self.provider is not None:
            raise ValueError("via: off_peak uses the scenario's routing; provider/model name a batch API (via: batch)")
        return self


class Bank(Model):
    """A stage answered from a bank of pre-written variants per role, generated once.

    ``variants`` answers are written for each role (``candidates.roles``) before the first
    interview — through the batch API (``via: batch``, at its price) or on free quotas off-peak
    (``via: off_peak``, at the list price of a paid destination) — and every interview takes one
    of its role's variants (``policy``: uniformly at random, or the least used so far), so the
    stage sends no request during the interviews. Like a deferred stage, a banked stage cannot read
    the conversation.
    """

    variants: PositiveInt = Field(description="Variants written per role.")
    per: Literal["role"] = Field(default="role", description="What a bank is kept per (one bank per role).")
    policy: Literal["random", "least_used"] = Field(
        default="least_used", description="Which variant an interview takes: random (uniform) or least_used."
    )
    via: Literal["batch", "off_peak"] = Field(
        default="batch", description="How the bank is generated: the batch API, or normal calls off-peak."
    )
    provider: str | None = Field(default=None, description="The provider that writes the bank (default: as Deferral).")
    model: str | None = Field(default=None, description="That provider's model.")

    @model_validator(mode="after")
    def _target(self) -> Bank:
        if (self.provider is None) != (self.model is None):
            raise ValueError("bank needs both provider and model, or neither")
        return self


def batch_target(
    lever: Deferral | Bank, destinations: list[tuple[str, str]], batch_of: dict[tuple[str, str], BatchApi | None]
) -> tuple[str, str] | str:
    """The (provider, model) whose batch API serves ``lever``, or what is wrong (a message).

    ``destinations`` are the routing's API destinations in priority order; ``batch_of`` gives the
    batch API of every known (provider, model), ``None`` where none is stated.
    """
    if lever.provider is not None and lever.model is not None:
        key = (lever.provider, lever.model)
        if key not in batch_of:
            return f"unknown provider/model {lever.provider}/{lever.model}"
        batch = batch_of[key]
        if batch is None or not batch.available:
            why = "states no batch API" if batch is None else f"says its batch API is not available ({batch.source})"
            return f"{lever.provider}/{lever.model} {why}"
        if batch.counts_against_quotas:
            return (
                f"{lever.provider}/{lever.model}'s batch API draws on the normal rate limits (or it is not known "
                "whether it does), which the model does not charge batches to: use via: off_peak"
            )
        return key
    usable = [
        d for d in destinations if (b := batch_of.get(d)) is not None and b.available and not b.counts_against_quotas
    ]
    if not usable:
        return (
            "via: batch, but no routing destination offers a batch API with its own rate-limit pool on its plan; "
            "name one with provider/model (providers.yaml batch: blocks; `capacity providers` lists them)"
        )
    return usable[0]
