"""The seed document's claimed quotas against the 2025 sources, on the seed's date.

:func:`check_claims` compares each claimed quota of the seed (docs/seed/000_821f7b3252fe384f.txt)
with the provider it names in providers.yaml (via each row's ``maps_to``), computing what the
source's limits really allow with the same per-limit arithmetic as the plan
(:func:`capacity.plan.limits.limit_capacities`), on the quotas in force on the seed's date
(:data:`SEED_DATE`): dated ``limit_changes`` applied (Gemini 2.5 Flash-Lite's 1,000 requests a
day fell to 20 on 2025-12-06), offers withdrawn by then left out (Gemini 2.0 Flash on
2025-12-06, Together's free model on 2025-10-08).

One rule decides every verdict of the audit (:data:`HOLDS_WITHIN`): a figure *holds* when
reality is within 10 % of it. A claimed quota that matches a limit documented for an offer in
force *holds* when that offer really allows ≥ 90 % of what the claim says in requests a day;
where another limit runs out first it *holds, but another limit binds first* (Groq's 1,000
requests a day: the 70B model's, whose 100,000 tokens a day bind at 48 requests); otherwise the
sources *contradict* it. A claim with no quota or no source is *not audited* and is left out of
every "N of M" count.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from capacity.config.providers import Limits, ModelSpec, Provider
from capacity.config.scenario import SeedClaims, SeedRow
from capacity.plan.limits import LimitCapacity, RequestProfile, binding_limit, limit_capacities
from capacity.plan.seed import CLAIM_UNIT_WORDS, capacity_text, claim_text, count_text, quota_text
from capacity.units import LIMIT_KINDS

HOLDS_WITHIN = 0.10
"""The one rule of the audit: a claimed figure holds when reality is within this share of it
(a capacity reaches ≥ 90 % of the claim; a cost or a time is at most 110 % of it)."""

SEED_DATE = dt.date(2025, 12, 14)
"""The seed document's date ("Last Updated: December 14, 2025"): its quotas are judged on the
limits in force that day."""

LIMIT_UNIT_WORDS: dict[str, str] = {k.field: k.unit for k in LIMIT_KINDS if k.period is not None}
"""The quota fields of providers.yaml a claimed figure may be confused with (the windows), and their units."""

SAME_UNIT_LIMIT: dict[str, str] = {
    "requests_per_day": "rpd",
    "requests_per_hour": "rph",
    "tokens_per_day": "tpd",
    "credit_usd": "credit_usd",
}
"""The providers.yaml field that states a seed row's unit."""

Verdict = Literal["holds", "holds, but another limit binds first", "contradicted", "not audited"]
"""A claimed quota against the sources (see the module docstring)."""

HOLDING: tuple[Verdict, ...] = ("holds", "holds, but another limit binds first")
"""The verdicts that count as holding."""


def reaches(claimed: float, real: float) -> bool:
    """Whether a capacity ``real`` holds a claimed ``claimed`` (it reaches ≥ 90 % of it)."""
    return real >= claimed * (1 - HOLDS_WITHIN)


def within(claimed: float, real: float) -> bool:
    """Whether a cost or a time ``real`` holds a claimed ``claimed`` (at most 10 % over it)."""
    return real <= claimed * (1 + HOLDS_WITHIN)


@dataclass(frozen=True)
class ClaimCheck:
    """One claimed quota of the seed, set against the 2025 source in providers.yaml."""

    seed_provider: str
    maps_to: str | None
    claim: str
    accounts: int
    claimed_requests_per_day: float | None
    """The claim in requests per interviewing day per account, at this scenario's tokens (None: no quota)."""
    source_requests_per_day: float | None
    """What the source's limits allow per account on :data:`SEED_DATE`, best model in force
    (None: not in providers.yaml; 0: no free offer in force)."""
    source_model: str | None
    source_binding_limit: str | None
    verdict: Verdict
    finding: str
    """Why, in one line."""
    source: str | None
    as_of: str | None
    terms: str | None
    notes: str | None

    @property
    def audited(self) -> bool:
        """Whether the claim was audited (counted in "N of M")."""
        return self.verdict != "not audited"

    @property
    def holds(self) -> bool:
        """Whether the claimed figure holds (with or without another limit binding first)."""
        return self.verdict in HOLDING


def _dedupe(claims: SeedClaims) -> list[SeedRow]:
    """Rows of all tables, each claim once (the largest account count kept)."""
    out: dict[tuple[str, float | None, str], SeedRow] = {}
    for table in claims.tables:
        for row in table.rows:
            key = (row.maps_to or row.provider, row.quota, row.unit)
            if key not in out or row.accounts > out[key].accounts:
                out[key] = row if key not in out else out[key].model_copy(update={"accounts": row.accounts})
    return list(out.values())


def _claimed_requests_per_day(row: SeedRow, profile: RequestProfile) -> float | None:
    if row.quota is None:
        return None
    if row.unit == "requests_per_day":
        return row.quota
    if row.unit == "requests_per_hour":
        return row.quota * profile.active_hours_per_day
    if row.unit == "tokens_per_day":
        return row.quota / profile.tokens if profile.tokens > 0 else math.inf
    return None


def _limit_value(limits: Limits, field: str) -> float | None:
    value = getattr(limits, field)
    return None if value is None else float(value)


def models_on(provider: Provider, day: dt.date) -> list[ModelSpec]:
    """The provider's models offered on ``day``, each with the limits in force then and the
    account-wide allowances to itself (:meth:`Provider.alone`)."""
    return [
        provider.alone(m.model_copy(update={"limits": m.limits_on(day)}))
        for m in provider.models
        if m.withdrawn_on is None or m.withdrawn_on > day
    ]


def _same_unit_facts(models: Sequence[ModelSpec], unit: str) -> list[tuple[str, str, float]]:
    """(model, field, value) of each limit stated in the claim's unit (rpm × 60 counts as per hour)."""
    field = SAME_UNIT_LIMIT.get(unit)
    out: list[tuple[str, str, float]] = []
    for m in models:
        if field is not None and (v := _limit_value(m.limits, field)) is not None:
            out.append((m.name, field, v))
        if unit == "requests_per_hour" and m.limits.rpm is not None:
            out.append((m.name, "rpm × 60", float(m.limits.rpm * 60)))
    return out


def _misread(models: Sequence[ModelSpec], unit: str, quota: float) -> list[tuple[str, str]]:
    """(model, field) of limits in *another* unit whose value equals the claimed quota."""
    same = SAME_UNIT_LIMIT.get(unit)
    return [
        (m.name, field)
        for m in models
        for field in LIMIT_UNIT_WORDS
        if field != same and _limit_value(m.limits, field) == quota
    ]


def _binding_text(bind: LimitCapacity | None) -> str:
    """``tpd binds: 1,000,000 tokens/day ÷ …`` or that no limit is stated."""
    return "no limit stated" if bind is None else f"{bind.kind} binds: {bind.how}"


def _model_list(names: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys(names))


def _best(models: Sequence[ModelSpec], profile: RequestProfile) -> list[tuple[str, LimitCapacity | None, float]]:
    """(model, binding limit, requests a day per account) of each model."""
    out: list[tuple[str, LimitCapacity | None, float]] = []
    for m in models:
        bind = binding_limit(limit_capacities(m, profile))
        out.append((m.name, bind, math.inf if bind is None else bind.requests_per_day))
    return out


def _judge(
    row: SeedRow, claim: str, claimed: float, models: Sequence[ModelSpec], profile: RequestProfile, parts: list[str]
) -> tuple[Verdict, str, LimitCapacity | None, float]:
    """The verdict on a claimed quota of an offer with models in force; ``parts`` gets the finding."""
    assert row.quota is not None
    per_model = _best(models, profile)
    best_name, best_bind, best = max(per_model, key=lambda x: x[2])
    best_text = f"{capacity_text(best)} requests/day on {best_name} ({_binding_text(best_bind)})"
    same = _same_unit_facts(models, row.unit)
    matched = [m for m, _, v in same if v == row.quota]
    if matched:
        field = next(f for m, f, v in same if v == row.quota)
        parts.append(f"{claim} matches the {field} of {_model_list(matched)}")
        if reaches(claimed, best):
            parts.append(f"it allows {best_text}")
            return "holds", best_name, best_bind, best
        if best_name in matched:
            parts.append(f"another limit binds first: {best_text}")
        else:
            bound = max(r for n, _, r in per_model if n in matched)
            parts.append(
                f"other limits bind first there ({capacity_text(bound)} requests/day); the best model allows "
                f"{best_text}"
            )
        return "holds, but another limit binds first", best_name, best_bind, best
    if same:
        stated = ", ".join(f"{quota_text(v)} ({m})" for m, _, v in same)
        parts.append(f"the seed claims {claim}; the source gives {same[0][1]} {stated}")
    else:
        parts.append(f"the seed claims {claim}; the source states no {CLAIM_UNIT_WORDS[row.unit]} limit")
    misread: dict[str, list[str]] = {}
    for model, field in _misread(models, row.unit, row.quota):
        misread.setdefault(field, []).append(model)
    for field, names in misread.items():
        parts.append(
            f"{quota_text(row.quota)} is the {field} ({LIMIT_UNIT_WORDS[field]}) of {_model_list(names)}, "
            f"read as {CLAIM_UNIT_WORDS[row.unit]}"
        )
    parts.append(f"the source allows {best_text}")
    return "contradicted", best_name, best_bind, best


def _history(provider: Provider, day: dt.date, parts: list[str]) -> None:
    """What changed before ``day``: withdrawn offers and dated limits (in ``parts``)."""
    for m in provider.models:
        if m.withdrawn_on is not None and m.withdrawn_on <= day:
            parts.append(f"{m.name} withdrawn on {m.withdrawn_on}, before the seed's {day}")
        elif m.withdrawn_on is not None:
            parts.append(f"{m.name} withdrawn on {m.withdrawn_on}")
        for change in m.limit_changes:
            if change.effective_from <= day and (change.effective_until is None or day < change.effective_until):
                was = ", ".join(f"{k} {quota_text(float(getattr(m.limits, k)))}" for k in change.limits)
                now = ", ".join(f"{quota_text(float(v))}" for v in change.limits.values())
                parts.append(f"{m.name}: {was} until {change.effective_from}, {now} from then")


def check_claim(
    row: SeedRow, provider: Provider | None, profile: RequestProfile, *, on: dt.date = SEED_DATE
) -> ClaimCheck:
    """Set one claimed quota against the provider's 2025 source, on the limits in force ``on``."""
    claim = claim_text(row)
    claimed = _claimed_requests_per_day(row, profile)
    if provider is None:
        where = f"maps to {row.maps_to!r}, which providers.yaml does not list" if row.maps_to else "no source"
        finding = f"{claim} → {count_text(row.seed_interviews_per_day)} interviews/day: {where}; not audited."
        return ClaimCheck(
            row.provider, row.maps_to, claim, row.accounts, claimed, None, None, None, "not audited", finding,
            None, None, None, None,
        )  # fmt: skip

    def named(m: ModelSpec) -> bool:  # a model the claim may stand for
        return row.models_named is None or m.name.startswith(row.models_named)

    models = [m for m in models_on(provider, on) if named(m)]
    parts: list[str] = []
    verdict: Verdict
    best_name, best_bind, best = "", None, 0.0
    if provider.billing == "paid":
        verdict = "contradicted"
        parts.append(f"{claim} free; the source lists no free tier (billing: paid)")
    elif not models:
        verdict = "contradicted"
        parts.append(f"{claim} free; no free offer of it was in force on {on}")
        # fair to the seed: what the offer allowed while it lasted
        if row.quota is not None and claimed is not None:
            gone = [provider.alone(m) for m in provider.models if named(m)]
            first = len(parts)
            _judge(row, claim, claimed, gone, profile, parts)
            parts[first] = "while it was offered, " + parts[first]
    elif row.quota is None or claimed is None:
        verdict = "not audited"
        best_name, best_bind, best = max(_best(models, profile), key=lambda x: x[2])
        parts.append(
            f"{claim}: no quota to check; the source allows {capacity_text(best)} requests/day on {best_name} "
            f"({_binding_text(best_bind)})"
        )
    else:
        verdict, best_name, best_bind, best = _judge(row, claim, claimed, models, profile, parts)
    _history(provider, on, parts)
    if row.accounts > 1:
        terms = provider.terms.rstrip(".") if provider.terms else "providers.yaml states none (none in the sources)"
        parts.append(f"the seed assumes {row.accounts} accounts; terms: {terms}")
    return ClaimCheck(
        seed_provider=row.provider,
        maps_to=row.maps_to,
        claim=claim,
        accounts=row.accounts,
        claimed_requests_per_day=claimed,
        source_requests_per_day=best,
        source_model=best_name or None,
        source_binding_limit=best_bind.kind
        if best_bind
        else ("no free tier" if provider.billing == "paid" else None if models else "withdrawn"),
        verdict=verdict,
        finding="; ".join(parts) + ".",
        source=provider.source,
        as_of=provider.as_of.isoformat(),
        terms=provider.terms,
        notes=provider.notes,
    )


def check_claims(
    claims: SeedClaims, providers: Mapping[str, Provider], profile: RequestProfile, *, on: dt.date = SEED_DATE
) -> list[ClaimCheck]:
    """Check every claimed quota of the seed (each once) against providers.yaml, on the limits in force ``on``."""
    return [
        check_claim(row, providers.get(row.maps_to) if row.maps_to else None, profile, on=on)
        for row in _dedupe(claims)
    ]
