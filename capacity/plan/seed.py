"""The seed document's arithmetic, reproduced by its own method, then corrected and checked.

The seed (shared/seed/000_821f7b3252fe384f.txt) plans 50,000 interviews on free tiers with
a spreadsheet method: per provider, ``⌊daily requests ÷ 26⌋ × accounts`` interviews a day,
summed; × 30 for a month; then "ultra-optimization" *adds* 30 % + 10 % + 5 % of the total.
:func:`seed_method` reproduces its figures from the rows kept in ``seed_claims`` (1,090 and
1,560 interviews a day, 32,700 and 46,800 a month, 2,262 optimized) and, for the same
inputs, the corrected arithmetic:

- avoided requests compound: capacity ÷ Π(1 − sᵢ), not capacity × (1 + Σ sᵢ);
- a per-hour quota is multiplied by the hours interviews run, not read as per day;
- token quotas are divided by one consistent figure of tokens per interview (the seed's
  rows imply 40,000 for Cerebras and 25,000 for Mistral);
- a month of interviews on weekdays only has about 22 interviewing days, not 30.

:func:`check_claims` compares each claimed quota with the 2025 sources in providers.yaml
(via each row's ``maps_to``), computing what the source's limits really allow with the
same per-limit arithmetic as the plan, and says which claims the sources contradict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from capacity.config.providers import Limits, Provider
from capacity.config.scenario import SeedClaims, SeedRow
from capacity.plan.limits import LimitCapacity, RequestProfile, binding_limit, limit_capacities
from capacity.plan.savings import Combination, capacity_multiplier, combine
from capacity.units import LIMIT_KINDS

CLAIM_UNIT_WORDS: dict[str, str] = {
    "requests_per_day": "requests/day",
    "requests_per_hour": "requests/hour",
    "tokens_per_day": "tokens/day",
    "credit_usd": "USD credit",
    "unstated": "(no quota stated)",
}
"""How each unit of a seed row reads in a sentence."""

LIMIT_UNIT_WORDS: dict[str, str] = {k.field: k.unit for k in LIMIT_KINDS if k.period is not None}
"""The quota fields of providers.yaml a claimed figure may be confused with (the windows), and their units."""

SAME_UNIT_LIMIT: dict[str, str] = {
    "requests_per_day": "rpd",
    "requests_per_hour": "rph",
    "tokens_per_day": "tpd",
    "credit_usd": "credit_usd",
}
"""The providers.yaml field that states a seed row's unit."""

CONFIRMED_SHARE = 0.9
"""A claim is confirmed when the source states the same figure and really allows ≥ 90 % of it."""


def _n(x: float) -> str:
    """A whole number with thousands separators (rounded)."""
    return f"{x:,.0f}"


def _cap(x: float) -> str:
    """A capacity in whole interviews or requests, rounded down (a part of one is not carried)."""
    return "unbounded" if math.isinf(x) else f"{math.floor(x + 1e-9):,}"


def _need(x: float) -> str:
    """A need in whole interviews, rounded up."""
    return f"{math.ceil(x - 1e-9):,}"


def _q(x: float) -> str:
    """A quota as written: whole numbers without decimals, others with two."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def claim_text(row: SeedRow) -> str:
    """The seed's claim in words: ``10,000 requests/day``, ``$10 credit``."""
    if row.quota is None:
        return "free tier (no quota stated)"
    if row.unit == "credit_usd":
        return f"${_q(row.quota)} credit"
    return f"{_q(row.quota)} {CLAIM_UNIT_WORDS[row.unit]}"


# --------------------------------------------------------------------------- the seed's method


@dataclass(frozen=True)
class SeedRowResult:
    """One row of a seed table: the seed's figure, reproduced by its method, and corrected."""

    provider: str
    maps_to: str | None
    claim: str
    quota: float | None
    unit: str
    accounts: int
    seed_interviews_per_day: float
    """What the seed's table says."""
    seed_method_interviews_per_day: float
    """The seed's method applied to the row (its figure where it converted nothing)."""
    method: str
    """How the seed got its figure."""
    converted: bool
    """False where the seed states a figure without deriving it from the quota (flagged)."""
    corrected_interviews_per_day: float
    """The same claimed quota with the arithmetic corrected (the seed's figure where unverifiable)."""
    correction: str | None
    """What the seed got wrong on this row (None: nothing)."""


@dataclass(frozen=True)
class SeedTableResult:
    """A seed table: its rows and totals, the seed's and corrected."""

    title: str
    rows: tuple[SeedRowResult, ...]
    rows_sum_interviews_per_day: float
    """Sum of the rows by the seed's method."""
    seed_total_interviews_per_day: float
    """The total the seed prints."""
    seed_interviews_per_month: float
    """The seed's monthly figure: its total × 30."""
    corrected_interviews_per_day: float
    """Sum of the corrected rows (per interviewing day)."""


@dataclass(frozen=True)
class SeedMethod:
    """The seed's figures by its own method, and the corrected arithmetic for the same inputs."""

    requests_per_interview: int
    tables: tuple[SeedTableResult, ...]
    savings: Mapping[str, float]
    """The seed's savings, fractions of requests avoided."""
    base_interviews_per_day: float
    """The seed's capacity before savings (its last table's total: 1,560)."""
    optimized_interviews_per_day: float
    """Base × (1 + Σ savings), the seed's method (2,262)."""
    seed_optimized_interviews_per_day: float
    """What the seed prints for it."""
    optimized_interviews_per_month: float
    """The seed's monthly figure: optimized × 30."""
    savings_combination: Combination
    savings_factor: float
    """Share of requests left after the savings: Π(1 − sᵢ) (or 1 − Σ sᵢ when additive)."""
    compounded_interviews_per_day: float
    """The seed's base ÷ savings factor: the savings correction alone (≈ 2,606)."""
    corrected_base_interviews_per_day: float
    """The last table with every row corrected."""
    corrected_optimized_interviews_per_day: float
    """Corrected base ÷ savings factor: all corrections together, per interviewing day."""
    business_days_per_month: int
    corrected_interviews_per_month: float
    """Corrected optimized × interviewing days in a month."""
    tokens_per_interview: float
    """The consistent tokens per interview the token rows are divided by."""
    active_hours_per_day: float
    """Hours a day interviews run (an hourly quota is spent in them)."""


def _seed_row(
    row: SeedRow, per_interview: int, tokens_per_interview: float, active_hours: float
) -> SeedRowResult:
    """The seed's method on one row, and the same row corrected."""
    claim = claim_text(row)
    acc = f" × {row.accounts} accounts" if row.accounts > 1 else ""
    stated = row.seed_interviews_per_day
    if row.unit in ("requests_per_day", "requests_per_hour") and row.quota is not None:
        per_account = math.floor(row.quota / per_interview)
        figure = float(per_account * row.accounts)
        method = f"⌊{_q(row.quota)} ÷ {per_interview}⌋{acc} = {_n(figure)}"
        if row.unit == "requests_per_day":
            return SeedRowResult(
                row.provider,
                row.maps_to,
                claim,
                row.quota,
                row.unit,
                row.accounts,
                stated,
                figure,
                method,
                True,
                figure,
                None,
            )
        per_day = row.quota * active_hours
        corrected = float(math.floor(per_day / per_interview) * row.accounts)
        correction = (
            f"{row.provider}: {claim} ÷ {per_interview} = {_cap(figure)} reads an hourly quota as daily; "
            f"× {active_hours:g} active hours = {_cap(per_day)} requests/day ÷ {per_interview} "
            f"= {_cap(corrected)} interviews/day."
        )
        return SeedRowResult(
            row.provider,
            row.maps_to,
            claim,
            row.quota,
            row.unit,
            row.accounts,
            stated,
            figure,
            method + " (per hour read as per day)",
            True,
            corrected,
            correction,
        )
    if row.unit == "tokens_per_day" and row.quota is not None:
        implied = row.quota / stated if stated > 0 else math.inf
        corrected = float(math.floor(row.quota / tokens_per_interview) * row.accounts)
        correction = (
            f"{row.provider}: {claim} → {_n(stated)} interviews implies {_n(implied)} tokens/interview; "
            f"at this scenario's consistent {_n(tokens_per_interview)} tokens/interview it carries "
            f"{_cap(corrected)}."
        )
        return SeedRowResult(
            row.provider,
            row.maps_to,
            claim,
            row.quota,
            row.unit,
            row.accounts,
            stated,
            stated,
            f"stated, not derived (implies {_n(implied)} tokens/interview)",
            False,
            corrected,
            correction,
        )
    correction = (
        f"{row.provider}: {claim} → {_n(stated)} interviews/day is stated, not derived from any quota "
        "or price; kept as stated, unverifiable."
    )
    return SeedRowResult(
        row.provider,
        row.maps_to,
        claim,
        row.quota,
        row.unit,
        row.accounts,
        stated,
        stated,
        "stated, not derived",
        False,
        stated,
        correction,
    )


def seed_method(
    claims: SeedClaims,
    *,
    tokens_per_interview: float,
    active_hours_per_day: float,
    business_days_per_month: int,
    combination: Combination,
) -> SeedMethod:
    """Reproduce the seed's figures by its method and correct them for the same inputs.

    ``tokens_per_interview`` is the consistent figure token quotas are divided by,
    ``active_hours_per_day`` the hours an hourly quota is spent in, and
    ``business_days_per_month`` the interviewing days of a month of the scenario's calendar.
    """
    per_interview = claims.requests_per_interview
    tables = []
    for table in claims.tables:
        rows = tuple(
            _seed_row(r, per_interview, tokens_per_interview, active_hours_per_day) for r in table.rows
        )
        tables.append(
            SeedTableResult(
                title=table.title,
                rows=rows,
                rows_sum_interviews_per_day=sum(r.seed_method_interviews_per_day for r in rows),
                seed_total_interviews_per_day=table.seed_total_interviews_per_day,
                seed_interviews_per_month=table.seed_total_interviews_per_day * 30,
                corrected_interviews_per_day=sum(r.corrected_interviews_per_day for r in rows),
            )
        )
    last = tables[-1]
    base = last.seed_total_interviews_per_day
    fractions = list(claims.savings.values())
    optimized = base + sum(s * base for s in fractions)
    factor = 1.0 - combine(fractions, combination)
    multiplier = capacity_multiplier(1.0 - factor)
    corrected_optimized = last.corrected_interviews_per_day * multiplier
    return SeedMethod(
        requests_per_interview=per_interview,
        tables=tuple(tables),
        savings=dict(claims.savings),
        base_interviews_per_day=base,
        optimized_interviews_per_day=optimized,
        seed_optimized_interviews_per_day=claims.seed_optimized_interviews_per_day,
        optimized_interviews_per_month=optimized * 30,
        savings_combination=combination,
        savings_factor=factor,
        compounded_interviews_per_day=base * multiplier,
        corrected_base_interviews_per_day=last.corrected_interviews_per_day,
        corrected_optimized_interviews_per_day=corrected_optimized,
        business_days_per_month=business_days_per_month,
        corrected_interviews_per_month=corrected_optimized * business_days_per_month,
        tokens_per_interview=tokens_per_interview,
        active_hours_per_day=active_hours_per_day,
    )


def seed_corrections(
    method: SeedMethod,
    *,
    derived_savings: Mapping[str, float],
    need_per_calendar_day: float,
    need_per_business_day: float,
    business_days: int,
    days: int,
) -> list[str]:
    """One line per thing the seed's arithmetic gets wrong, with the corrected figure."""
    lines: list[str] = []
    for table in method.tables:
        if round(table.rows_sum_interviews_per_day) != round(table.seed_total_interviews_per_day):
            lines.append(
                f"{table.title}: its rows sum to {_n(table.rows_sum_interviews_per_day)}/day; "
                f"the seed prints {_n(table.seed_total_interviews_per_day)}."
            )
    shares = [f"{s:.0%}" for s in method.savings.values()]
    kept = " × ".join(f"{1 - s:.2f}" for s in method.savings.values())
    combined = (
        f"{_n(method.base_interviews_per_day)} ÷ ({kept})"
        if method.savings_combination == "multiplicative"
        else f"{_n(method.base_interviews_per_day)} ÷ (1 − {sum(method.savings.values()):.2f})"
    )
    lines.append(
        f"Savings: the seed adds {' + '.join(shares)} of {_n(method.base_interviews_per_day)} "
        f"(= {_cap(method.optimized_interviews_per_day)}/day); avoiding a share s of requests multiplies "
        f"capacity by 1/(1 − s), and the savings combine {method.savings_combination}ly: "
        f"{combined} ≈ {_cap(method.compounded_interviews_per_day)}/day."
    )
    compared = [
        f"{name} {claimed:.0%} (derived: {derived_savings[name]:.1%})"
        for name, claimed in method.savings.items()
        if name in derived_savings
    ]
    if compared:
        lines.append(
            "Savings rates: the seed assumes "
            + ", ".join(compared)
            + "; the derived rates come from this scenario's script, cache TTL and calendar."
        )
    seen: set[tuple[str, float | None, str]] = set()
    for table in method.tables:
        for row in table.rows:
            key = (row.maps_to or row.provider, row.quota, row.unit)
            if row.correction and key not in seen:
                seen.add(key)
                lines.append(row.correction)
    implied = sorted(
        {
            round(r.quota / r.seed_interviews_per_day)
            for t in method.tables
            for r in t.rows
            if r.unit == "tokens_per_day" and r.quota and r.seed_interviews_per_day > 0
        }
    )
    if len(implied) > 1:
        lines.append(
            "Token rows: the seed's own figures imply "
            + " and ".join(_n(x) for x in implied)
            + " tokens per interview: inconsistent with each other."
        )
    if business_days < days:
        per_month = method.base_interviews_per_day * method.business_days_per_month
        lines.append(
            f"Calendar: × 30 counts every day of the month, but interviews run on {business_days} of the "
            f"{days} days (weekdays): {_n(method.base_interviews_per_day)}/day × "
            f"{method.business_days_per_month} = {_n(per_month)}/month, "
            f"not {_n(method.base_interviews_per_day * 30)}; the need is "
            f"{_need(need_per_business_day)} per interviewing day, not {_need(need_per_calendar_day)}."
        )
    return lines


# --------------------------------------------------------------------------- claims vs sources

Verdict = Literal["confirmed", "contradicted", "unverifiable"]


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
    """What the source's limits allow per account, best model (None: not in providers.yaml)."""
    source_model: str | None
    source_binding_limit: str | None
    verdict: Verdict
    finding: str
    """Why, in one line."""
    source: str | None
    as_of: str | None
    terms: str | None
    notes: str | None


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


def _same_unit_facts(provider: Provider, unit: str) -> list[tuple[str, str, float]]:
    """(model, field, value) of each limit stated in the claim's unit (rpm × 60 counts as per hour)."""
    field = SAME_UNIT_LIMIT.get(unit)
    out: list[tuple[str, str, float]] = []
    for m in map(provider.alone, provider.models):
        if field is not None and (v := _limit_value(m.limits, field)) is not None:
            out.append((m.name, field, v))
        if unit == "requests_per_hour" and m.limits.rpm is not None:
            out.append((m.name, "rpm × 60", float(m.limits.rpm * 60)))
    return out


def _misread(provider: Provider, unit: str, quota: float) -> list[tuple[str, str]]:
    """(model, field) of limits in *another* unit whose value equals the claimed quota."""
    same = SAME_UNIT_LIMIT.get(unit)
    return [
        (m.name, field)
        for m in map(provider.alone, provider.models)
        for field in LIMIT_UNIT_WORDS
        if field != same and _limit_value(m.limits, field) == quota
    ]


def _binding_text(bind: LimitCapacity | None) -> str:
    """``tpd binds: 1,000,000 tokens/day ÷ …`` or that no limit is stated."""
    return "no limit stated" if bind is None else f"{bind.kind} binds: {bind.how}"


def _model_list(names: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys(names))


def check_claim(row: SeedRow, provider: Provider | None, profile: RequestProfile) -> ClaimCheck:
    """Set one claimed quota against the provider's 2025 source."""
    claim = claim_text(row)
    claimed = _claimed_requests_per_day(row, profile)
    if provider is None:
        where = f"maps to {row.maps_to!r}, which providers.yaml does not list" if row.maps_to else "no source"
        finding = f"{claim} → {_n(row.seed_interviews_per_day)} interviews/day: {where}; unverifiable."
        return ClaimCheck(
            row.provider,
            row.maps_to,
            claim,
            row.accounts,
            claimed,
            None,
            None,
            None,
            "unverifiable",
            finding,
            None,
            None,
            None,
            None,
        )

    per_model: list[tuple[str, LimitCapacity | None, float]] = []
    for m in map(provider.alone, provider.models):
        bind = binding_limit(limit_capacities(m, profile))
        per_model.append((m.name, bind, math.inf if bind is None else bind.requests_per_day))
    best_name, best_bind, best = max(per_model, key=lambda x: x[2])
    best_text = f"{_cap(best)} requests/day on {best_name} ({_binding_text(best_bind)})"
    parts: list[str] = []
    verdict: Verdict = "contradicted"

    if provider.billing == "paid":
        best_name, best_bind, best = "", None, 0.0
        parts.append(f"{claim} free; the source lists no free tier (billing: paid)")
    elif row.quota is None or claimed is None:
        verdict = "unverifiable"
        parts.append(f"{claim}: no quota to check; the source allows {best_text}")
    else:
        same = _same_unit_facts(provider, row.unit)
        matched = [m for m, _, v in same if v == row.quota]
        if matched:
            field = next(f for m, f, v in same if v == row.quota)
            parts.append(f"{claim} matches the {field} of {_model_list(matched)}")
            if best >= CONFIRMED_SHARE * claimed:
                verdict = "confirmed"
                parts.append(f"it allows {best_text}")
            elif best_name in matched:
                parts.append(f"but another limit binds first: {best_text}")
            else:
                bound = max(r for n, _, r in per_model if n in matched)
                parts.append(
                    f"but other limits bind first there ({_cap(bound)} requests/day); "
                    f"the best model allows {best_text}"
                )
        else:
            if same:
                stated = ", ".join(f"{_q(v)} ({m})" for m, _, v in same)
                parts.append(f"the seed claims {claim}; the source gives {same[0][1]} {stated}")
            else:
                parts.append(
                    f"the seed claims {claim}; the source states no {CLAIM_UNIT_WORDS[row.unit]} limit"
                )
            misread: dict[str, list[str]] = {}
            for model, field in _misread(provider, row.unit, row.quota):
                misread.setdefault(field, []).append(model)
            for field, models in misread.items():
                parts.append(
                    f"{_q(row.quota)} is the {field} ({LIMIT_UNIT_WORDS[field]}) of "
                    f"{_model_list(models)}, read as {CLAIM_UNIT_WORDS[row.unit]}"
                )
            parts.append(f"the source allows {best_text}")
    for m in provider.models:
        if m.withdrawn_on is not None:
            parts.append(f"{m.name} withdrawn on {m.withdrawn_on}")
            if m.name == best_name and verdict == "confirmed":
                verdict = "contradicted"
    if row.accounts > 1 and provider.terms:
        parts.append(f"the seed assumes {row.accounts} accounts; terms: {provider.terms.rstrip('.')}")
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
        else ("no free tier" if provider.billing == "paid" else None),
        verdict=verdict,
        finding="; ".join(parts) + ".",
        source=provider.source,
        as_of=provider.as_of.isoformat(),
        terms=provider.terms,
        notes=provider.notes,
    )


def check_claims(
    claims: SeedClaims, providers: Mapping[str, Provider], profile: RequestProfile
) -> list[ClaimCheck]:
    """Check every claimed quota of the seed (each once) against providers.yaml."""
    return [
        check_claim(row, providers.get(row.maps_to) if row.maps_to else None, profile)
        for row in _dedupe(claims)
    ]
