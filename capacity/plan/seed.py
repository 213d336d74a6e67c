"""The seed document's arithmetic, reproduced by its own method, then corrected and checked.

The seed (docs/seed/000_821f7b3252fe384f.txt) plans 50,000 interviews on free tiers with
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

:mod:`capacity.plan.seed_sources` checks each claimed quota against the 2025 sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from capacity.config.scenario import SeedClaims, SeedRow
from capacity.plan.savings import Combination, capacity_multiplier, combine

CLAIM_UNIT_WORDS: dict[str, str] = {
    "requests_per_day": "requests/day",
    "requests_per_hour": "requests/hour",
    "tokens_per_day": "tokens/day",
    "credit_usd": "USD credit",
    "unstated": "(no quota stated)",
}
"""How each unit of a seed row reads in a sentence."""

def count_text(x: float) -> str:
    """A whole number with thousands separators (rounded)."""
    return f"{x:,.0f}"


def capacity_text(x: float) -> str:
    """A capacity in whole interviews or requests, rounded down (a part of one is not carried)."""
    return "unbounded" if math.isinf(x) else f"{math.floor(x + 1e-9):,}"


def _need(x: float) -> str:
    """A need in whole interviews, rounded up."""
    return f"{math.ceil(x - 1e-9):,}"


def quota_text(x: float) -> str:
    """A quota as written: whole numbers without decimals, others with two."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def claim_text(row: SeedRow) -> str:
    """The seed's claim in words: ``10,000 requests/day``, ``$10 credit``."""
    if row.quota is None:
        return "free tier (no quota stated)"
    if row.unit == "credit_usd":
        return f"${quota_text(row.quota)} credit"
    return f"{quota_text(row.quota)} {CLAIM_UNIT_WORDS[row.unit]}"


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
    """The same claimed quota with the arithmetic corrected (the seed's figure where not audited)."""
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
        method = f"⌊{quota_text(row.quota)} ÷ {per_interview}⌋{acc} = {count_text(figure)}"
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
            f"{row.provider}: {claim} ÷ {per_interview} = {capacity_text(figure)} reads an hourly quota as daily; "
            f"× {active_hours:g} active hours = {capacity_text(per_day)} requests/day ÷ {per_interview} "
            f"= {capacity_text(corrected)} interviews/day."
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
            f"{row.provider}: {claim} → {count_text(stated)} interviews implies {count_text(implied)} "
            "tokens/interview; "
            f"at this scenario's consistent {count_text(tokens_per_interview)} tokens/interview it carries "
            f"{capacity_text(corrected)}."
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
            f"stated, not derived (implies {count_text(implied)} tokens/interview)",
            False,
            corrected,
            correction,
        )
    correction = (
        f"{row.provider}: {claim} → {count_text(stated)} interviews/day is stated, not derived from any quota "
        "or price; kept as stated, not audited."
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
                f"{table.title}: its rows sum to {count_text(table.rows_sum_interviews_per_day)}/day; "
                f"the seed prints {count_text(table.seed_total_interviews_per_day)}."
            )
    shares = [f"{s:.0%}" for s in method.savings.values()]
    kept = " × ".join(f"{1 - s:.2f}" for s in method.savings.values())
    combined = (
        f"{count_text(method.base_interviews_per_day)} ÷ ({kept})"
        if method.savings_combination == "multiplicative"
        else f"{count_text(method.base_interviews_per_day)} ÷ (1 − {sum(method.savings.values()):.2f})"
    )
    lines.append(
        f"Savings: the seed adds {' + '.join(shares)} of {count_text(method.base_interviews_per_day)} "
        f"(= {capacity_text(method.optimized_interviews_per_day)}/day); avoiding a share s of requests multiplies "
        f"capacity by 1/(1 − s), and the savings combine {method.savings_combination}ly: "
        f"{combined} ≈ {capacity_text(method.compounded_interviews_per_day)}/day."
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
            + " and ".join(count_text(x) for x in implied)
            + " tokens per interview: inconsistent with each other."
        )
    if business_days < days:
        per_month = method.base_interviews_per_day * method.business_days_per_month
        lines.append(
            f"Calendar: × 30 counts every day of the month, but interviews run on {business_days} of the "
            f"{days} days (weekdays): {count_text(method.base_interviews_per_day)}/day × "
            f"{method.business_days_per_month} = {count_text(per_month)}/month, "
            f"not {count_text(method.base_interviews_per_day * 30)}; the need is "
            f"{_need(need_per_business_day)} per interviewing day, not {_need(need_per_calendar_day)}."
        )
    return lines
