"""Requests a day one account can serve under each of a model's limits.

A provider states its limits in many units — requests per minute, hour, day or month,
tokens per minute, hour, day or month, Cloudflare *neurons* per day, dollars of credit —
and the first one to run out is the one that matters. This module turns every limit of a
:class:`~capacity.config.providers.ModelSpec` into the same unit, **requests per business
day per account** (a business day is a day on which interviews run), for a given
:class:`RequestProfile` (what one API request of the scenario costs), and names the binding
limit: the smallest.

The conversions, for one account:

- per-second, per-minute and per-hour limits can be spent only while interviews run, so they
  carry ``limit × 3600 × H``, ``limit × 60 × H`` and ``limit × H`` a day, with ``H`` the active
  hours per day;
- per-day limits carry their value (a daily quota renews every calendar day, but only a
  business day spends it);
- monthly limits and monthly credit are spread over the business days of a month;
- a one-time credit is spread over the business days of the scenario's horizon (at least a
  month's for a daily need, which recurs past its horizon: :attr:`~capacity.plan.result.DemandSummary.credit_days`);
- token limits are divided by the tokens a request is *charged*: input + mean output, or
  input + max output where the provider reserves the maximum up front (Cerebras); a limit that
  counts only input tokens (Gemini's TPM, Anthropic's ITPM) by the input tokens alone, one that
  counts only output tokens (OTPM) by the output alone;
- neurons and credit are divided by a request's neurons and dollars at mean tokens;
- a destination's prompt cache (:mod:`capacity.plan.prompt_cache`) prices the cached share of
  the input at its read factor, and token limits that do not count cached tokens are divided
  by the tokens they count;
- concurrency carries ``concurrent × H × 3600 / mean service time`` requests a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.config.providers import Limits, ModelSpec
from capacity.units import CONCURRENT_REQUESTS, HOUR_S, LIMIT_KIND, MINUTE_S, MTOK, Measure, Period
from capacity.workload.distributions import sampler


@dataclass(frozen=True)
class RequestProfile:
    """What one API request of a scenario costs, on average, and when it can be sent."""

    input_tokens: float
    """Mean prompt tokens per request."""
    output_tokens: float
    """Mean completion tokens per request."""
    reserved_tokens: float
    """Mean input + max output tokens per request (what an up-front charge reserves)."""
    active_hours_per_day: float
    """Hours of a business day on which interviews run (per-minute/hour limits are spent then), h."""
    business_days_per_month: float
    """Business days in a month of the scenario's calendar (monthly caps are spread over them)."""
    business_days_in_horizon: float
    """Business days a one-time credit is spread over: the horizon's (at least a month's for a
    daily need: :attr:`~capacity.plan.result.DemandSummary.credit_days`)."""
    credit_span: str = "of the horizon"
    """What those days are, in words (a daily need: at least a month's)."""
    cached_input_tokens: float = 0.0
    """Mean input tokens per request served from the destination's prompt cache."""
    uncounted_input_tokens: float = 0.0
    """Mean input tokens per request that token limits do not count (cached, where the provider
    does not count cached tokens: Groq, Anthropic's ITPM)."""
    input_price_factor: float = 1.0
    """Mean price of an input token ÷ the list input price (prompt-cache reads and writes)."""

    @property
    def counted_input_tokens(self) -> float:
        """Mean input tokens per request that token limits count."""
        return self.input_tokens - self.uncounted_input_tokens

    @property
    def tokens(self) -> float:
        """Mean tokens (input + output) actually used per request."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class LimitCapacity:
    """Requests per business day one account can serve under one limit."""

    kind: str
    """The limit's field name in providers.yaml (``rpd``, ``tpm``, ``credit_usd`` …)."""
    quota: float
    """The limit's value as written (requests, tokens, neurons or dollars)."""
    unit: str
    """What ``quota`` counts, in words (``tokens/min``)."""
    requests_per_day: float
    """Requests per business day per account this limit allows (``math.inf``: unbounded)."""
    how: str
    """The conversion, in words and numbers."""


ONE_TIME_CREDIT = "one-time credit spread over {days:g} interviewing days; gone after them"
"""The note of a destination whose binding limit is a credit that never renews."""


def number_text(x: float | None) -> str:
    """A limit's value as stated: whole numbers with thousands separators, others as they are, ``none``."""
    return "none" if x is None else f"{x:,.0f}" if float(x).is_integer() else f"{x:,}"


def _fmt(x: float) -> str:
    """A number for an explanation: thousands separators, at most two decimals."""
    if math.isinf(x):
        return "∞"
    if abs(x - round(x)) < 1e-9:
        return f"{round(x):,}"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def _per(value: float, cost: float) -> float:
    """``value / cost``, unbounded when a request costs nothing of this unit."""
    return math.inf if cost <= 0 else value / cost


def usd_per_request(spec: ModelSpec, profile: RequestProfile) -> float | None:
    """List price of one mean request at the model's prices, $ (None: no price stated)."""
    if spec.prices is None:
        return None
    return (
        profile.input_tokens * profile.input_price_factor * spec.prices.usd_per_mtok_in
        + profile.output_tokens * spec.prices.usd_per_mtok_out
    ) / MTOK


def neurons_per_request(spec: ModelSpec, profile: RequestProfile) -> float | None:
    """Cloudflare neurons one mean request costs (None: the model has no neuron rates)."""
    if spec.neurons is None:
        return None
    return (
        profile.input_tokens * spec.neurons.per_mtok_in + profile.output_tokens * spec.neurons.per_mtok_out
    ) / MTOK


def mean_service_time_s(spec: ModelSpec, profile: RequestProfile) -> float:
    """Mean time one request holds a concurrency slot: TTFT + output ÷ decode speed, s."""
    ttft = sampler(spec.latency.ttft_s).mean
    speed = sampler(spec.latency.output_tokens_per_s).mean
    return ttft + (profile.output_tokens / speed if speed > 0 else 0.0)


def charged_tokens(limits: Limits, profile: RequestProfile) -> float:
    """Tokens a token window is charged per request: reserved or actually used, less the cached
    input tokens the provider does not count."""
    charged = profile.reserved_tokens if limits.charge_max_output_up_front else profile.tokens
    return charged - profile.uncounted_input_tokens


def _per_day(quota: float, period: Period, profile: RequestProfile) -> tuple[float, str]:
    """What ``quota`` over ``period`` gives per business day (in its own measure), and how, in words."""
    hours = profile.active_hours_per_day
    if period is Period.SECOND:
        return quota * HOUR_S * hours, f" × 3600 × {_fmt(hours)} active h"
    if period is Period.MINUTE:
        return quota * (HOUR_S / MINUTE_S) * hours, f" × 60 × {_fmt(hours)} active h"
    if period is Period.HOUR:
        return quota * hours, f" × {_fmt(hours)} active h"
    if period is Period.DAY:
        return quota, ""
    days = profile.business_days_per_month if period is Period.MONTH else profile.business_days_in_horizon
    return quota / days, f" ÷ {_fmt(days)} business days"


def _cost(measure: Measure, spec: ModelSpec, profile: RequestProfile) -> tuple[float, str] | None:
    """What one mean request costs of ``measure``, and how it reads (None: the model has no rate
    for it, so the limit says nothing about requests)."""
    if measure is Measure.REQUESTS:
        return 1.0, ""
    if measure is Measure.TOKENS:
        charged = charged_tokens(spec.limits, profile)
        word = "reserved (input + max output)" if spec.limits.charge_max_output_up_front else "used"
        if profile.uncounted_input_tokens:
            word += f", {_fmt(profile.uncounted_input_tokens)} cached not counted"
        return charged, f" ÷ {_fmt(charged)} tokens {word}/request"
    if measure is Measure.INPUT_TOKENS:
        counted = profile.counted_input_tokens
        return counted, f" ÷ {_fmt(counted)} input tokens/request"
    if measure is Measure.OUTPUT_TOKENS:
        up_front = spec.limits.charge_max_output_up_front
        out = profile.reserved_tokens - profile.input_tokens if up_front else profile.output_tokens
        word = "reserved (max output)" if up_front else "used"
        return out, f" ÷ {_fmt(out)} output tokens {word}/request"
    if measure is Measure.NEURONS:
        neurons = neurons_per_request(spec, profile)
        return None if neurons is None else (neurons, f" ÷ {neurons:.2f} neurons/request")
    price = usd_per_request(spec, profile)
    return None if price is None else (price, f" ÷ ${price:.6f}/request")


_CREDIT_SPAN = {Period.MONTH: " a month (renews monthly)", Period.ONCE: " {span} (one-time credit)"}
"""How a credit's period reads after its business days (``span``: :attr:`RequestProfile.credit_span`)."""


def limit_capacities(spec: ModelSpec, profile: RequestProfile) -> list[LimitCapacity]:
    """Requests per business day per account under each limit the model states, in the order of
    :data:`~capacity.units.LIMIT_KINDS` (per-request caps bound no rate and are left out)."""
    out: list[LimitCapacity] = []
    for limit in spec.limits.stated():
        kind, quota, period = limit.kind, limit.value, limit.period
        if period is None:
            if kind.field == CONCURRENT_REQUESTS:
                out.append(_concurrency(spec, profile, quota))
            continue
        cost = _cost(kind.measure, spec, profile)
        if cost is None:
            continue
        per_day, how_period = _per_day(quota, period, profile)
        per_request, how_cost = cost
        if kind.measure is Measure.USD:
            head = f"${quota:,.2f}"
            how_period += _CREDIT_SPAN.get(period, "").format(span=profile.credit_span)
        else:
            head = f"{_fmt(quota)} {kind.short}"
        how = head + how_period + how_cost
        out.append(LimitCapacity(kind.field, quota, kind.unit, _per(per_day, per_request), how))
    return out


def _concurrency(spec: ModelSpec, profile: RequestProfile, slots: float) -> LimitCapacity:
    """Requests a business day through ``slots`` requests in flight, each held for the mean service time."""
    hours = profile.active_hours_per_day
    service = mean_service_time_s(spec, profile)
    return LimitCapacity(
        CONCURRENT_REQUESTS,
        slots,
        LIMIT_KIND[CONCURRENT_REQUESTS].unit,
        _per(slots * hours * HOUR_S, service),
        f"{_fmt(slots)} in flight × {_fmt(hours)} active h × 3600 ÷ {service:.2f} s/request",
    )


def binding_limit(capacities: list[LimitCapacity]) -> LimitCapacity | None:
    """The limit that runs out first (fewest requests a day); None when no limit is stated."""
    return min(capacities, key=lambda c: c.requests_per_day, default=None)
