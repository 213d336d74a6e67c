"""Allowances shared by every model of a provider account (Cloudflare's 10,000 neurons a day,
SambaNova's and Fireworks' credit), spread over the plan's destinations that draw on them.

Counted destination by destination, each model would get the whole allowance; the plan instead
gives it first to the destinations that get the most requests out of it, each up to what its
own limits allow (:func:`share_account_pools`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from capacity.config.loader import Configuration
from capacity.config.providers import Limits
from capacity.plan.limits import ONE_TIME_CREDIT, LimitCapacity, RequestProfile, limit_capacities, number_text
from capacity.plan.result import DestinationPlan

__all__ = ["limits_text_short", "share_account_pools"]


def share_account_pools(
    plans: list[DestinationPlan], config: Configuration, profile: RequestProfile, api_requests: float
) -> list[DestinationPlan]:
    """Spread each provider's account-wide allowances over the destinations that draw on them.

    A destination's own limits give it ``R_d`` requests a day; alone, it could spend the
    account's allowance k on ``c_dk`` requests a day (× accounts). Together they can use
    Σ_d r_d ÷ c_dk ≤ 1 of it: the plan gives it first to the destinations that get the most
    requests out of it (fewest neurons or dollars a request), each up to its own ``R_d`` — the
    most requests the account allows (exact for one shared allowance). Cloudflare's two models
    counted apart get 10,000 neurons a day each; shared, one allowance between them.
    """
    out = list(plans)
    by_provider: dict[str, list[int]] = {}
    for i, d in enumerate(config.scenario.routing.destinations):
        if d.provider is not None and config.provider(d.provider).account_limits is not None:
            by_provider.setdefault(d.provider, []).append(i)
    for name, members in by_provider.items():
        provider = config.provider(name)
        shared = provider.account_limits
        assert shared is not None
        accounts = max(plans[i].accounts for i in members)
        alone: dict[int, list[LimitCapacity]] = {}
        for i in members:
            spec = config.model_spec(config.scenario.routing.destinations[i])
            caps = limit_capacities(spec.model_copy(update={"limits": shared}), profile)
            alone[i] = [
                replace(c, kind=f"account {c.kind}", requests_per_day=c.requests_per_day * accounts) for c in caps
            ]
        left = 1.0  # share of the account's allowances still unspent
        order = sorted(members, key=lambda i: -min((c.requests_per_day for c in alone[i]), default=math.inf))
        for i in order:
            p = out[i]
            pool_max = min((c.requests_per_day * left for c in alone[i]), default=math.inf)
            take = min(p.requests_per_day, pool_max)
            if alone[i] and take > 0:
                left -= max(take / c.requests_per_day for c in alone[i] if c.requests_per_day > 0)
                left = max(0.0, left)
            binding = p.binding_limit
            if pool_max < p.requests_per_day:
                binding = min(alone[i], key=lambda c: c.requests_per_day).kind
            others = ", ".join(plans[j].label for j in members if j != i)
            notes = [f"shares the account's {limits_text_short(shared)} with {others}"] if others else []
            if binding == "account credit_usd" and shared.credit_renews == "never":
                notes.append(ONE_TIME_CREDIT.format(days=profile.business_days_in_horizon))
            out[i] = replace(
                p,
                limits=(*p.limits, *alone[i]),
                binding_limit=binding,
                requests_per_day=take,
                requests_per_day_per_account=take / p.accounts if p.accounts else take,
                interviews_per_day=take / api_requests if api_requests > 0 else math.inf,
                notes=(*p.notes, *notes),
            )
    return out


def limits_text_short(limits: Limits) -> str:
    """An allowance in words: ``10,000 neurons/day``."""
    return " and ".join(f"{number_text(s.value)} {s.kind.short}" for s in limits.stated())
