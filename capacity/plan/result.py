"""The result of ``capacity plan``: :class:`PlanResult`, plain frozen data with a JSON form.

Day basis: every ``*_per_day`` figure is per **interviewing (business) day** — a day on which
interviews run — because that is the day a daily quota must carry. ``*_per_calendar_day``
figures average over every day of the horizon (the seed's basis: 50,000 ÷ 30 ≈ 1,667).
Money is US dollars; tokens are means per interview or per request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capacity.plan.levers import LeverPlan
from capacity.plan.limits import LimitCapacity
from capacity.plan.savings import Saving
from capacity.plan.seed import SeedMethod
from capacity.plan.seed_sources import ClaimCheck

DAY_BASIS = (
    "per interviewing (business) day: daily quotas renew every calendar day but only days with "
    "interviews spend them; per-minute/hour limits are spent during the active hours only"
)


@dataclass(frozen=True)
class DemandSummary:
    """How many interviews a day the plan must carry."""

    kind: str
    """``total`` (interviews over ``days``) or ``per_day``."""
    interviews: int
    days: int
    """Calendar days of the horizon."""
    business_days: int
    """Days of the horizon on which interviews run."""
    business_days_per_month: int
    """Interviewing days in 30 days of the calendar (monthly caps are spread over them)."""
    need_interviews_per_calendar_day: float
    """Interviews over calendar days (the seed's basis: 50,000 ÷ 30)."""
    need_interviews_per_day: float
    """Interviews per interviewing day: what the daily quotas must carry (50,000 ÷ 22)."""
    start_date: dt.date | None = None
    """The horizon's first day (``calendar.start_date``): the plan counts the quotas in force then."""

    @property
    def credit_days(self) -> int:
        """Interviewing days a one-time credit is spread over: the horizon's for a demand with an
        end (``total``); for a daily need (``per_day``), which recurs past any horizon, at least a
        month's — a credit that carries a one-day horizon is gone in a day of a need that does not end."""
        if self.kind == "total":
            return self.business_days
        return max(self.business_days, self.business_days_per_month)


@dataclass(frozen=True)
class WorkloadSummary:
    """What one interview asks of the providers, after templates, cache and de-duplication."""

    logical_requests_per_interview: int
    api_requests_per_interview: float
    savings: tuple[Saving, ...]
    avoided_fraction: float
    """Share of logical requests that never reach a provider: 1 − Π(1 − sᵢ)."""
    input_tokens_per_interview: float
    output_tokens_per_interview: float
    tokens_per_interview: float
    """Input + output tokens per interview sent to providers."""
    reserved_tokens_per_interview: float
    """Input + max output per interview (what up-front charging reserves)."""
    tokens_per_request: float
    reserved_tokens_per_request: float
    active_hours_per_day: float
    """Hours a business day on which some time zone interviews, h."""


@dataclass(frozen=True)
class DestinationPlan:
    """One provider model of the routing plan: what its limits carry, and what it costs."""

    label: str
    provider: str
    model: str
    provider_label: str
    billing: str
    accounts: int
    scope: str
    source: str
    as_of: dt.date
    limits: tuple[LimitCapacity, ...]
    """Requests a day per account under each stated limit."""
    binding_limit: str | None
    """The limit that runs out first (``withdrawn`` if the offer ended; None: none stated)."""
    requests_per_day_per_account: float
    requests_per_day: float
    """Requests per interviewing day over all accounts (``inf``: no limit stated)."""
    interviews_per_day: float
    """requests_per_day ÷ API requests per interview."""
    usd_per_request: float | None
    allocated_interviews_per_day: float
    """Interviews of the need this destination takes, free tiers first in listed order, then paid."""
    monthly_cost_usd: float | None
    """Allocated requests × price × interviewing days a month (free tiers $0; None: paid, no price)."""
    notes: tuple[str, ...]
    prompt_cached_share: float = 0.0
    """Expected share of the input tokens served from the provider's prompt cache (0–1)."""


@dataclass(frozen=True)
class GroupPlan:
    """One model group of the routing (:mod:`capacity.plan.groups`): its stages' demand, its
    destinations' capacity for them, and what binds it."""

    name: str
    strategy: str
    stages: tuple[str, ...]
    """The script's stages that name this group and call a model (templates are left out)."""
    destinations: tuple[str, ...]
    """Its destinations' labels, in priority order."""
    api_requests_per_interview: float
    """Requests an interview sends to this group (after templates and cache hits)."""
    tokens_per_request: float
    """Input + output tokens of its mean request."""
    requests_per_day: float
    """What its destinations' limits carry per interviewing day (``inf``: no limit stated)."""
    interviews_per_day: float
    """requests_per_day ÷ api_requests_per_interview (``inf``: it sends no request)."""
    binding: str | None
    """The destination and limit that run out first (None: no limit stated)."""
    monthly_cost_usd: float | None


@dataclass(frozen=True)
class PlanTotals:
    """The plan against the need."""

    requests_per_day: float
    interviews_per_day: float
    """Capacity per interviewing day (compare with need_interviews_per_day)."""
    interviews_per_calendar_day: float
    """Capacity averaged over calendar days (compare with need_interviews_per_calendar_day)."""
    headroom_interviews_per_day: float
    """Capacity − need per interviewing day; negative is a shortfall."""
    carries_need: bool
    monthly_cost_usd: float | None
    """Cost of the allocated paid traffic a month (None: a paid destination has no price)."""


@dataclass(frozen=True)
class PlanResult:
    """Everything ``capacity plan`` computes for one scenario."""

    scenario: str
    description: str
    demand: DemandSummary
    workload: WorkloadSummary
    destinations: tuple[DestinationPlan, ...]
    totals: PlanTotals
    seed_method: SeedMethod | None
    """The seed's own arithmetic and its correction (scenarios with ``seed_claims``)."""
    corrections: tuple[str, ...]
    """One line per mistake in the seed's arithmetic."""
    seed_claim_checks: tuple[ClaimCheck, ...]
    """Each claimed quota of the seed against the 2025 sources."""
    notes: tuple[str, ...]
    """How to read the figures."""
    groups: tuple[GroupPlan, ...] = ()
    """Each model group's plan, the binding one first (empty: the scenario has no ``routing.groups``)."""
    binding_group: str | None = None
    """The model group that carries the fewest interviews a day (None: no groups)."""
    levers: LeverPlan | None = None
    """Deferred stages and question banks (``None``: the script has neither)."""

    @property
    def seed_contradictions(self) -> tuple[ClaimCheck, ...]:
        """The seed's claims the sources contradict."""
        return tuple(c for c in self.seed_claim_checks if c.verdict == "contradicted")

    @property
    def seed_audited_checks(self) -> tuple[ClaimCheck, ...]:
        """The seed's claims that were audited (those with a quota and a source): the M of "N of M"."""
        return tuple(c for c in self.seed_claim_checks if c.audited)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``inf`` becomes null: no limit stated)."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "description": self.description,
            "day_basis": DAY_BASIS,
            "need_interviews_per_day": self.demand.need_interviews_per_day,
            "need_interviews_per_calendar_day": self.demand.need_interviews_per_calendar_day,
            "interviews_per_day": _plain(self.totals.interviews_per_day),
            "interviews_per_calendar_day": _plain(self.totals.interviews_per_calendar_day),
            "headroom_interviews_per_day": _plain(self.totals.headroom_interviews_per_day),
            "carries_need": self.totals.carries_need,
            "monthly_cost_usd": self.totals.monthly_cost_usd,
            "tokens_per_interview": self.workload.tokens_per_interview,
            "demand": _plain(self.demand),
            "workload": _plain(self.workload),
            "providers": [_plain(d) for d in self.destinations],
            "totals": _plain(self.totals),
        }
        if self.seed_method is not None:
            out["seed_method"] = _plain(self.seed_method)
        out["corrections"] = list(self.corrections)
        out["seed_contradictions"] = [_plain(c) for c in self.seed_contradictions]
        out["seed_claim_checks"] = [_plain(c) for c in self.seed_claim_checks]
        out["notes"] = list(self.notes)
        if self.groups:
            out["groups"] = [_plain(g) for g in self.groups]
            out["binding_group"] = self.binding_group
        if self.levers is not None:
            out["levers"] = _plain(self.levers)
        return out


def _plain(value: Any) -> Any:
    """Dataclasses, tuples, mappings, dates and floats → JSON values (``inf``/``nan`` → None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
