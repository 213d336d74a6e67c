"""Requests a day one account can serve under each of a model's limits.

A provider states its limits in many units — requests per minute, hour, day or month,
tokens per minute, hour, day or month, Cloudflare *neurons* per day, dollars of credit —
and the first one to run out is the one that matters. This module turns every limit of a
:class:`~capacity.config.providers.ModelSpec` into the same unit, **requests per business
day per account** (a business day is a day on which interviews run), for a given
:class:`RequestProfile` (what one API request of the scenario costs), and names the binding
limit: the smallest.

The conversions, for one account:

- per-minute and per-hour limits can be spent only while interviews run, so they carry
  ``limit × 60 × H`` and ``limit × H`` requests a day, with ``H`` the active hours per day;
- per-day limits carry their value (a daily quota renews every calendar day, but only a
  business day spends it);
- monthly limits and monthly credit are spread over the business days of a month;
- a one-time credit is spread over the business days of the scenario's horizon;
- token limits are divided by the tokens a request is *charged*: input + mean output, or
  input + max output where the provider reserves the maximum up front (Cerebras);
- neurons and credit are divided by a request's neurons and dollars at mean tokens;
- concurrency carries ``concurrent × H × 3600 / mean service time`` requests a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.config.providers import Limits, ModelSpec
from capacity.units import HOUR_S, MINUTE_S, MTOK
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
    """Business days of the scenario's horizon (a one-time credit is spread over them)."""

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
        profile.input_tokens * spec.prices.usd_per_mtok_in
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
    """Tokens a token window is charged per request: reserved or actually used."""
    return profile.reserved_tokens if limits.charge_max_output_up_front else profile.tokens


def limit_capacities(spec: ModelSpec, profile: RequestProfile) -> list[LimitCapacity]:
    """Requests per business day per account under each limit the model states, in field order."""
    lim = spec.limits
    hours = profile.active_hours_per_day
    month_days = profile.business_days_per_month
    charged = charged_tokens(lim, profile)
    charge_word = "reserved (input + max output)" if lim.charge_max_output_up_front else "used"
    tok = f"{_fmt(charged)} tokens {charge_word}/request"
    out: list[LimitCapacity] = []

    def add(kind: str, quota: float | None, unit: str, per_day: float, how: str) -> None:
        if quota is not None:
            out.append(LimitCapacity(kind, float(quota), unit, per_day, how))

    if lim.rpm is not None:
        add(
            "rpm",
            lim.rpm,
            "requests/min",
            lim.rpm * (HOUR_S / MINUTE_S) * hours,
            f"{_fmt(lim.rpm)} req/min × 60 × {_fmt(hours)} active h",
        )
    if lim.rph is not None:
        add(
            "rph",
            lim.rph,
            "requests/hour",
            lim.rph * hours,
            f"{_fmt(lim.rph)} req/h × {_fmt(hours)} active h",
        )
    if lim.rpd is not None:
        add("rpd", lim.rpd, "requests/day", float(lim.rpd), f"{_fmt(lim.rpd)} req/day")
    if lim.requests_per_month is not None:
        add(
            "requests_per_month",
            lim.requests_per_month,
            "requests/month",
            lim.requests_per_month / month_days,
            f"{_fmt(lim.requests_per_month)} req/month ÷ {_fmt(month_days)} business days",
        )
    if lim.tpm is not None:
        add(
            "tpm",
            lim.tpm,
            "tokens/min",
            _per(lim.tpm * (HOUR_S / MINUTE_S) * hours, charged),
            f"{_fmt(lim.tpm)} tokens/min × 60 × {_fmt(hours)} active h ÷ {tok}",
        )
    if lim.tokens_per_hour is not None:
        add(
            "tokens_per_hour",
            lim.tokens_per_hour,
            "tokens/hour",
            _per(lim.tokens_per_hour * hours, charged),
            f"{_fmt(lim.tokens_per_hour)} tokens/h × {_fmt(hours)} active h ÷ {tok}",
        )
    if lim.tpd is not None:
        add("tpd", lim.tpd, "tokens/day", _per(lim.tpd, charged), f"{_fmt(lim.tpd)} tokens/day ÷ {tok}")
    if lim.tokens_per_month is not None:
        add(
            "tokens_per_month",
            lim.tokens_per_month,
            "tokens/month",
            _per(lim.tokens_per_month / month_days, charged),
            f"{_fmt(lim.tokens_per_month)} tokens/month ÷ {_fmt(month_days)} business days ÷ {tok}",
        )
    neurons = neurons_per_request(spec, profile)
    if lim.neurons_per_day is not None and neurons is not None:
        add(
            "neurons_per_day",
            lim.neurons_per_day,
            "neurons/day",
            _per(lim.neurons_per_day, neurons),
            f"{_fmt(lim.neurons_per_day)} neurons/day ÷ {neurons:.2f} neurons/request",
        )
    price = usd_per_request(spec, profile)
    if lim.credit_usd is not None and price is not None:
        if lim.credit_renews == "monthly":
            days, span = month_days, "business days a month (renews monthly)"
        else:
            days, span = profile.business_days_in_horizon, "business days of the horizon (one-time credit)"
        add(
            "credit_usd",
            lim.credit_usd,
            "USD credit",
            _per(lim.credit_usd / days, price),
            f"${lim.credit_usd:,.2f} ÷ {_fmt(days)} {span} ÷ ${price:.6f}/request",
        )
    if lim.concurrent_requests is not None:
        service = mean_service_time_s(spec, profile)
        add(
            "concurrent_requests",
            lim.concurrent_requests,
            "requests in flight",
            _per(lim.concurrent_requests * hours * HOUR_S, service),
            f"{lim.concurrent_requests} in flight × {_fmt(hours)} active h × 3600 ÷ {service:.2f} s/request",
        )
    return out


def binding_limit(capacities: list[LimitCapacity]) -> LimitCapacity | None:
    """The limit that runs out first (fewest requests a day); None when no limit is stated."""
    return min(capacities, key=lambda c: c.requests_per_day, default=None)
