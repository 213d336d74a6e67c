"""The verdict of a comparison in one paragraph of plain words (``capacity compare``'s last word).

Per demand: what each strategy carries per interviewing day, at what p95 turn latency against
the target and for how much a month, and the cheapest that carries the demand within the
target; then, where an owned GPU pool is in the group, its 36-month TCO against the cheapest
alternative and the break-even month; what one card carries against the turn target; and the seed's
claims with their verdicts, counted by verdict.

One figure per question: the seed's "pays for itself in 3–4 months" is answered once, by the
payback claim (:mod:`capacity.studies.claims`: the seed's cards at the volume they carry, against
the cheapest paid API carrying it). The break-even month answers another question — from which
month owning this demand's GPU pool has cost less in all than the cheapest alternative over 36
months, at the volume the pool carried in this run — and the paragraph says so, citing the payback
figure beside it. Everything comes from the
:class:`~capacity.studies.compare.ComparisonResult`; nothing is computed here but words.
"""

from __future__ import annotations

import math
from collections import Counter

from capacity.plan.tco import HORIZON_MONTHS
from capacity.report.markdown import money
from capacity.studies.claims import ClaimCheck, ClaimVerdict
from capacity.studies.compare import ComparisonResult
from capacity.units import duration_text


def _money(x: float) -> str:
    return "—" if not math.isfinite(x) else f"${x:,.0f}"


def _per_day(x: float | None) -> str:
    return "none" if not x else f"{x:,.0f}"


_VERDICT_ORDER: tuple[ClaimVerdict, ...] = ("REFUTED", "CONFIRMED", "CONFIRMED ONLY UNDER 24/7")
"""The order the claims' tally names the verdicts in (a verdict no claim got is left out)."""


def _break_even_meaning(payback: ClaimCheck | None) -> str:
    """What the break-even month answers, and where the seed's payback question is answered."""
    text = (
        "The break-even month answers from when owning a demand's GPU pool has cost less in all than the "
        "cheapest alternative, at the volume it carried; it is not the seed's \"pays for itself in 3–4 months\""
    )
    if payback is None:
        return text + "."
    months = payback.numbers.get("payback_months")
    figure = "never" if months is None else f"{months:.1f} months"
    return text + f", whose one answer is the payback claim below ({figure})."


def short_answer(result: ComparisonResult) -> str:
    """The verdict in one sentence: per demand, the cheapest strategy that carries it within the p95
    turn-latency target, or, where none does, the one that carries the most (at what latency)."""
    parts = []
    for g in result.groups:
        good = [r for r in g.rows if r.carries]
        if good:
            best = min(good, key=lambda r: r.usd_per_month)
            parts.append(
                f"on {g.label}'s demand, {best.scenario} carries it within the target for "
                f"{_money(best.usd_per_month)}/month"
            )
            continue
        most = max(g.rows, key=lambda r: (round(r.carried_share, 3), -r.p95_turn_latency_s))
        sla = most.sla_p95_turn_latency_s
        parts.append(
            f"on {g.label}'s demand, none carries it within the {sla:g} s target; {most.scenario} carries the "
            f"most ({most.carried_share:.0%}, p95 {duration_text(most.p95_turn_latency_s)})"
        )
    return "In short: " + "; ".join(parts) + "." if parts else ""


def comparison_verdict(result: ComparisonResult) -> str:
    """One paragraph: the short answer (:func:`short_answer`); per demand, who carries it, at what latency
    and cost; then TCO and the claims."""
    groups, claims, cards = result.groups, result.claims, result.cards
    payback = next((c for c in claims if "payback_months" in c.numbers), None)
    sentences = [short_answer(result)] if groups else []
    break_even_said = False
    for g in groups:
        need = g.rows[0].need_per_day
        parts = []
        for r in g.rows:
            latency = "within" if r.p95_turn_latency_s <= r.sla_p95_turn_latency_s else "over"
            parts.append(
                f"{r.scenario} carries {r.carried_per_day:,.0f}/day ({r.carried_share:.0%}) at p95 "
                f"{duration_text(r.p95_turn_latency_s)} ({latency} the {r.sla_p95_turn_latency_s:g} s target) "
                f"for {_money(r.usd_per_month)}/month"
            )
        good = [r for r in g.rows if r.carries]
        best = min(good, key=lambda r: r.usd_per_month) if good else None
        tail = (
            f"the cheapest that carries it within the target is {best.scenario} at "
            f"{_money(best.usd_per_month)}/month ({money(best.usd_per_interview)}/interview)"
            if best
            else "none of them carries it within the target"
        )
        first = g.rows[0]
        demand = f"{need:,.0f} interviews per interviewing day"
        if round(need) != round(first.scenario_need_per_day):  # a slice of the horizon offers its own share
            days = "day" if first.days == 1 else "days"
            demand += f" in the {first.days} {days} simulated; {first.scenario_need_per_day:,.0f} over the scenario's"
        sentences.append(f"On {g.label}'s demand ({demand}), " + "; ".join(parts) + f" — {tail}.")
        owned = [o for o in g.tco_options if o.kind == "owned_gpu"]
        if owned and g.tco is not None:
            own = owned[0]
            others = [o for o in g.tco_options if o is not own]
            cheapest = min(others, key=lambda o: o.cumulative_usd(HORIZON_MONTHS), default=None)
            if cheapest is not None:
                even = next(b for b in g.break_even if b.other == cheapest.label)
                when = (
                    f"breaks even in month {even.month}" if even.month is not None else "never breaks even in 36 months"
                )
                sentences.append(
                    f"At the volume the GPUs carried ({g.tco.interviews_per_month:,.0f}/month), {own.label} "
                    f"costs {_money(own.cumulative_usd(HORIZON_MONTHS))} over 36 months against "
                    f"{_money(cheapest.cumulative_usd(HORIZON_MONTHS))} for the cheapest alternative, "
                    f"{cheapest.label}; owning {when}."
                )
                break_even_said = True
    if break_even_said:
        sentences.append(_break_even_meaning(payback))
    if cards:
        sla = groups[0].rows[0].sla_p95_turn_latency_s
        slow = [c for c in cards if c.strict_business is None and c.strict_24h is None]
        quick = [c for c in cards if c not in slow]
        parts = [
            f"{c.label} meets no {sla:g} s p95 turn target at any fleet size (an idle card takes "
            f"{c.floor_p95_turn_latency_s:.1f} s)"
            for c in slow
        ] + [f"{c.label} does ({_per_day(c.strict_business)}/day per card in business hours)" for c in quick]
        sentences.append("; ".join(parts) + ".")
    if claims:
        listed = "; ".join(f"{c.claim.split(':')[0]} — {c.verdict} ({c.summary})" for c in claims if c.summary)
        sentences.append(f"The seed's claims: {listed}.")
        counts = Counter(c.verdict for c in claims)
        tally = ", ".join(f"{counts[v]} {v.lower()}" for v in _VERDICT_ORDER if counts[v])
        sentences.append(f"Of the seed's {len(claims)} self-hosting and cost claims checked below: {tally}.")
    return " ".join(sentences)
