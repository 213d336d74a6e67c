"""The verdict a planner can act on, from a run and the static plan of the same scenario.

Does the plan carry the demand within the latency target? If not: how many interviews a day
it does carry, which quota refused first and when in the day, what binds (the quota windows
full the longest share of the run, and from when), when the whole plan ran out,
how large the backlog is and how long it would take to clear, and what would close the gap
(more accounts of the best free tier — with the provider's terms —, a paid API at its list
price, or self-hosted GPUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capacity.config.groups import QUALITY_NOTE
from capacity.config.loader import Configuration
from capacity.plan.result import PlanResult
from capacity.plan.tco import api_usd_per_interview
from capacity.result import RunResult, WindowUse
from capacity.studies.costs import input_price_factor, tokens_per_interview
from capacity.studies.demand import month_days, run_interviewing_days
from capacity.studies.target import CARRIED_SHARE, carries
from capacity.units import DAY_S, MINUTE_S, ErrorKind, limit_unit


@dataclass(frozen=True)
class Verdict:
    """The answer, in a headline and a few findings."""

    carries: bool
    headline: str
    findings: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """Plain JSON form."""
        return {
            "carries": self.carries,
            "headline": self.headline,
            "findings": self.findings,
            "options": self.options,
        }


def clock(run_s: float) -> str:
    """Run time as 'day N HH:MM UTC' (day 1 is the start date)."""
    day = int(run_s // DAY_S)
    rest = run_s - day * DAY_S
    return f"day {day + 1} {int(rest // 3600):02d}:{int(rest % 3600 // 60):02d} UTC"


def binding_windows(result: RunResult) -> list[tuple[str, WindowUse, float]]:
    """Each destination's binding window — the one full the longest share of the run — with the
    destination's name and the run time it first refused (s), the destinations that carried the
    most requests first (:meth:`~capacity.result.RunResult.binding_windows`)."""
    return [(d.name, w, w.first_blocked_s or 0.0) for d, w in result.binding_windows()]


def _first_minute(series: list[int]) -> float | None:
    return next((i * MINUTE_S for i, v in enumerate(series) if v > 0), None)


def judge(result: RunResult, config: Configuration, plan: PlanResult | None = None) -> Verdict:
    """Judge ``result`` (a run of ``config``) against its demand and service level."""
    iv = result.interviews
    carried, share = iv.carried, iv.carried_share
    p95 = result.turn_latency_s.p95
    latency_ok = p95 <= result.sla_p95_turn_latency_s
    carried_all = carries(result)
    need = result.need_interviews_per_day
    per_day = result.carried_interviews_per_day
    if carried_all:
        headline = (
            f"YES: the plan carries the demand: {carried:,} of {iv.requested:,} interviews "
            f"({per_day:,.0f} per calendar day against {need:,.0f} needed), "
            + (
                "turn latency not modelled (fluid mode)."
                if result.fidelity == "fluid"
                else f"p95 turn latency {p95:.2f} s (target {result.sla_p95_turn_latency_s:g} s)."
            )
        )
    else:
        why = []
        if share < CARRIED_SHARE:
            why.append(
                f"it carries {per_day:,.0f} interviews per calendar day of the {need:,.0f} needed ({share:.0%})"
            )
        if not latency_ok:
            why.append(
                f"p95 turn latency is {p95:.2f} s against a {result.sla_p95_turn_latency_s:g} s target"
            )
        headline = "NO: " + "; ".join(why) + "."

    findings: list[str] = [
        f"Interviews: {iv.requested:,} requested, {iv.completed:,} completed, {iv.degraded:,} degraded, "
        f"{iv.failed:,} failed, {iv.unfinished:,} unfinished at the horizon."
    ]
    refusals = [
        (w.first_blocked_s, d.name, w.name)
        for d in result.destinations
        for w in d.windows
        if w.first_blocked_s is not None
    ]
    if refusals:
        t, dest, window = min(refusals)
        findings.append(f"First quota to refuse a request: {dest} {window}, at {clock(t)}.")
    queued = _first_minute(result.timeseries.queued_turns)
    failed = _first_minute(result.timeseries.failed_turns)
    # in the order they happened: a turn can fail (errors, retries and cool-downs running past its
    # deadline) before every destination is out of quota and turns queue
    timeline: list[tuple[float, str]] = []
    if queued is not None:
        timeline.append(
            (
                queued,
                f"No destination had room (each out of quota or cooling down after a failure) and turns first "
                f"queued at {clock(queued)}.",
            )
        )
    if failed is not None:
        before = (
            ", before any turn queued for quota (errors, retries and cool-downs ran past the deadline)"
            if queued is None or failed < queued
            else ""
        )
        timeline.append((failed, f"Turns first failed (deadline passed) at {clock(failed)}{before}."))
    findings += [text for _, text in sorted(timeline)]
    binding = binding_windows(result)[:3]
    if binding:
        findings.append(
            "What binds on the busiest destinations (share of the run each quota was full, and when it first "
            "refused): "
            + "; ".join(
                f"{name} {limit_unit(w.name)} (full {w.full_share:.0%}, from {clock(t)})" for name, w, t in binding
            )
            + "."
        )
    capped = [d for d in result.destinations if d.over_input_cap_from_s is not None]
    if capped:
        findings.append(
            "Requests over a per-request input cap (max_input_tokens_per_request) could not go to "
            + "; ".join(
                f"{d.name} (from {clock(d.over_input_cap_from_s or 0.0)}"
                + (", the only limit that refused it)" if d.binding_window is None else ")")
                for d in capped
            )
            + ": those turns need a destination with a larger context."
        )
    refused_429 = result.errors.get(ErrorKind.RATE_LIMITED, 0)
    if refused_429 and result.requests.api_calls:
        worst = max(result.destinations, key=lambda d: d.errors.get(ErrorKind.RATE_LIMITED, 0))
        routing = config.scenario.routing
        if routing.ledger == "local" and routing.replicas > 1:
            cause = (
                "as router replicas each counting against the full limits do (routing.ledger: local; a shared "
                "ledger does not)"
            )
        else:  # one ledger for all the routers: the provider counted use the ledger never saw
            cause = (
                "so the providers counted use the router's ledger did not see: use before the run (a resumed "
                "live run's ledger holds only the calls journaled before the stop — a private redis-server's "
                "none — while the provider remembers them all), another client on the same keys, or a limit "
                "enforced otherwise than providers.yaml states"
            )
        findings.append(
            f"Providers refused {refused_429:,} call{'s' if refused_429 != 1 else ''} with 429 "
            f"({refused_429 / result.requests.api_calls:.0%} of the calls sent; most at {worst.name}): the router "
            f"admitted more than the providers' own quotas allow, {cause}. A 429 spends no quota but costs a "
            "retry, and the turn fails when its retries run out."
        )
    if result.backlog_interviews and per_day > 0:
        days_to_clear = result.backlog_interviews / per_day
        more = f"{days_to_clear:,.1f} more days" if days_to_clear >= 0.1 else "less than a tenth of a day more"
        findings.append(
            f"Backlog: {result.backlog_interviews:,} interviews not carried; at {per_day:,.0f}/day they would "
            f"take {more} — the demand of {result.days} day(s) takes "
            f"{iv.requested / per_day:,.1f} days to serve."
        )
    elif result.backlog_interviews:
        findings.append(
            f"Backlog: {result.backlog_interviews:,} interviews; the plan carried none, it never clears."
        )
    claims = config.scenario.seed_claims
    if claims is not None:
        tables = " / ".join(f"{t.seed_total_interviews_per_day:,.0f}" for t in claims.tables)
        findings.append(
            f"The seed's static answer for these quotas: {tables} interviews/day "
            f"({claims.seed_optimized_interviews_per_day:,.0f} 'with ultra-optimization'); simulated on a "
            f"business-hours calendar with per-minute limits, the same plan carries {per_day:,.0f} per calendar "
            f"day ({share:.0%} of the demand)."
        )
    answered = result.requests.provider
    if answered and result.wasted_api_calls >= 0.01 * answered:  # 1 % of the calls or more: worth a lever
        findings.append(
            f"{result.wasted_api_calls:,} answered API calls ({result.wasted_api_calls / answered:.0%}) went to "
            "interviews that later failed: quota spent on nothing. "
            + (
                "Gated admission is on: these interviews started before the gate closed."
                if config.scenario.routing.admission == "gated"
                else "Starting interviews only while the plan has quota left (routing.admission: gated) "
                "would carry more with the same quotas."
            )
        )
    if result.fidelity == "fluid" and any(w.full_s > 0 for d in result.destinations for w in d.windows):
        findings.append(
            "Quotas bound in this fluid run: where they do, the fluid mode's figures stray from the exact "
            "engine's (the free tiers' first day, mean of four seeds: up to 8% of a destination's requests and "
            "26% of its output tokens — 45% on one seed —, 14% of B's small carried residue, B's response-cache "
            "hit rate 0.62 against 0.52, a minute window full about half as long, interview durations 4-6% long), "
            "and the exact engine is the faster (README, \"Fluid mode\"): run it without --fidelity fluid."
        )
    if config.scenario.routing.groups:
        bound = f" (the plan's binding one: {plan.binding_group})" if plan is not None and plan.binding_group else ""
        findings.append(f"Each stage ran on its own model group{bound}. {QUALITY_NOTE}")
    return Verdict(carried_all, headline, findings, [] if carried_all else _options(result, config, plan))


def alternatives(options: int) -> str:
    """How the verdict's ``options`` ways to close the gap combine, as a parenthesis for their heading
    ('' for one): each is sized to close the whole simulated shortfall on its own, so they are alternatives."""
    return " (any one of these alone: each is sized to close the whole simulated shortfall)" if options > 1 else ""


def _options(result: RunResult, config: Configuration, plan: PlanResult | None) -> list[str]:
    """What would close the gap, per interviewing day: the interviews not carried (more accounts, or a
    paid destination for the shortfall), or, where enough are carried and only the turn latency misses
    its target, the latency — more quota only shortens the queue for it."""
    shortfall = (result.interviews.requested - result.interviews.carried) / run_interviewing_days(config, result.days)
    cheapest = _cheapest_paid(config, plan)
    if result.interviews.carried_share >= CARRIED_SHARE or shortfall < 0.5:
        paid = f", such as a paid one ({cheapest[1]}, ${cheapest[0]:.4f} an interview)" if cheapest else ""
        return [
            f"Enough interviews are carried; the turn latency misses its target (p95 "
            f"{result.turn_latency_s.p95:.2f} s against {result.sla_p95_turn_latency_s:g} s). Turns wait for "
            "quota at the busiest hours or run on slow destinations: add quota where turns queue at the peak "
            f"(the destinations full longest, above) or route the peak to faster destinations{paid}. Accounts "
            "sized for more interviews a day do not shorten the wait."
        ]
    options = []
    if plan is not None:
        free = sorted(
            (
                (d.interviews_per_day / d.accounts, d)
                for d in plan.destinations
                if d.billing == "free"
                and (plan.binding_group is None or f"model group {plan.binding_group}" in d.notes)
                and d.accounts
                and math.isfinite(d.interviews_per_day)
                and d.interviews_per_day > 0
            ),
            key=lambda x: -x[0],
        )
        for per_account, d in free[:2]:
            n = math.ceil(shortfall / per_account)
            terms = config.provider(d.provider).terms
            note = (
                f"terms: {terms}"
                if terms
                else "its terms on several free accounts are not in our sources: read them before adding any"
            )
            if any(n.startswith("one-time credit") for n in d.notes):
                note += "; each account's credit is one-time: it carries this share only until it is spent"
            accounts = "account" if n == 1 else "accounts"
            options.append(
                f"Add {n:,} more {d.provider_label} {accounts} at {per_account:,.1f} interviews per interviewing "
                "day each, by the static plan "
                f"(the plan's binding limit: {d.binding_limit}; {note})."
            )
    if cheapest is not None:
        usd, name = cheapest
        demand = config.scenario.demand
        if demand.kind == "total":  # a demand with an end is priced over its own interviewing days
            days = run_interviewing_days(config, demand.days)
            bill = f"about ${shortfall * days * usd:,.0f} over the demand's {days} interviewing day(s)"
        else:
            days = month_days(config)
            bill = f"about ${shortfall * days * usd:,.0f}/month ({days} interviewing days)"
        options.append(
            f"Send the shortfall ({shortfall:,.0f} interviews per interviewing day) to {name}: "
            f"${usd:.4f} per interview, {bill}; its paid-tier rate limits are not in our sources. To try it, "
            f"add {{provider: {name.split('/', 1)[0]}, model: {name.split('/', 1)[1]}}} to routing.destinations "
            f"of the scenario (a shipped one: in a copy, `capacity init NAME --from {config.scenario.name}`)."
        )
    return options


def _cheapest_paid(config: Configuration, plan: PlanResult | None) -> tuple[float, str] | None:
    """The paid model with the lowest list price per interview, ($, ``provider/model``), or None."""
    # the one monthly-cost basis (capacity.studies.costs): the scenario's interview after templates
    # and cache, at list price (input priced with the API's prompt cache), over the calendar's
    # interviewing days in a month
    tokens = (
        (plan.workload.input_tokens_per_interview, plan.workload.output_tokens_per_interview)
        if plan is not None
        else tokens_per_interview(config)
    )
    paid = [
        (
            api_usd_per_interview(model.prices, tokens[0] * input_price_factor(config, provider, model), tokens[1]),
            f"{provider.name}/{model.name}",
        )
        for provider in config.providers.values()
        if provider.billing == "paid"
        for model in provider.models
        if model.prices is not None
    ]
    return min(paid) if paid else None
