"""The seed audit: which claims of the user's planning document hold, line by line.

The planning document (docs/seed/000_821f7b3252fe384f.txt, "Extreme Scale: 50,000
Interviews") plans 50,000 interviews — 5,000 candidates × 10 — on free LLM tiers. This page
sets each of its figures against three readings:

1. **its own arithmetic, done right** on the same claimed quotas (``capacity plan`` on the
   seed-claims scenario: savings compound, an hourly quota is not a daily one, one
   consistent tokens-per-interview figure, 22 interviewing days in a month);
2. **the 2025 sources** (providers.yaml, each figure with its source and ``as_of`` date):
   what each provider really allows;
3. **the simulated reality**: every interview, turn and request on a realistic calendar
   (business hours in US time zones, a mid-morning peak, per-minute limits) — once on the
   seed's own claimed quotas (scenario seed-claims), once on the 2025 free tiers (scenario
   A), and for 50,000 a day (scenario B).

One rule decides every verdict (:data:`capacity.plan.seed_sources.HOLDS_WITHIN`): a claim
*holds* when reality — the simulation on the 2025 free tiers for a capacity, the derived rate
for a saving, the list price for a cost — is within 10 % of it, and *does not hold* otherwise
(:mod:`capacity.report.audit_claims`); claimed quotas are judged on the limits in force on the
seed's date (:mod:`capacity.plan.seed_sources`). Claims the page cannot judge are *not
audited* and left out of every "N of M". The simulation on the document's own claimed quotas
is shown beside the verdict: it says what the plan would do if those quotas were real. The
monthly figure's numbers are listed under it, from the same :func:`monthly_bars`.
"""

from __future__ import annotations

from pathlib import Path

from capacity.plan.seed import SeedRowResult
from capacity.plan.seed_sources import HOLDS_WITHIN, SEED_DATE, ClaimCheck
from capacity.report import markdown as md
from capacity.report.audit_claims import AuditLine, audit_lines, counted, per_interviewing_day, seed_method_of
from capacity.report.figures.audit import Bar, ProviderBars, monthly_figure, providers_figure
from capacity.studies.demand import run_interviewing_days
from capacity.studies.runs import ScenarioRun

__all__ = ["FIGURES", "AuditLine", "audit_lines", "audit_markdown", "monthly_bars", "write_seed_audit"]

FIGURES = {"monthly": "monthly.png", "providers": "providers.png"}
"""File names of the audit's figures."""


def _seed_destination(seed: ScenarioRun, maps_to: str | None) -> list[str]:
    """The seed-claims destinations standing for ``maps_to`` (its providers are named seed-<provider>)."""
    if maps_to is None:
        return []
    out = []
    for d in seed.result.destinations:
        provider = d.name.split("/", 1)[0].removeprefix("seed-")
        if provider == maps_to or maps_to.startswith(provider + "-"):
            out.append(d.name)
    return out


def _simulated(run: ScenarioRun, names: list[str]) -> float | None:
    """Interviews a day the destinations ``names`` answered for, per interviewing day."""
    if not names:
        return None
    answered = sum(d.completed for d in run.result.destinations if d.name in names)
    return (
        answered
        / run_interviewing_days(run.config, run.result.days)
        / run.plan.workload.api_requests_per_interview
    )


def _check_for(row: SeedRowResult, checks: tuple[ClaimCheck, ...]) -> ClaimCheck | None:
    return next(
        (
            c
            for c in checks
            if c.claim == row.claim and (c.maps_to or c.seed_provider) == (row.maps_to or row.provider)
        ),
        None,
    )


def provider_rows(
    seed: ScenarioRun, real: ScenarioRun
) -> list[tuple[SeedRowResult, ClaimCheck | None, float | None, float | None]]:
    """Each row of the seed's last table: its check against the sources, and the two simulations."""
    m = seed_method_of(seed)
    out = []
    for row in m.tables[-1].rows:
        check = _check_for(row, seed.plan.seed_claim_checks)
        claimed = _simulated(seed, _seed_destination(seed, row.maps_to))
        names = [
            d.name for d in real.result.destinations if row.maps_to and d.name.split("/", 1)[0] == row.maps_to
        ]
        out.append((row, check, claimed, _simulated(real, names)))
    return out


def audit_markdown(
    seed: ScenarioRun, real: ScenarioRun, per_day: ScenarioRun | None, levers: ScenarioRun | None = None
) -> str:
    """The seed audit page, in Markdown."""
    m = seed_method_of(seed)
    lines = audit_lines(seed, real, per_day, levers)
    rr = real.result
    carried = real.result.carried
    holds, audited = counted(lines)
    checks = [c for c in seed.plan.seed_claim_checks if c.audited]
    binds = sum(1 for c in checks if c.verdict == "holds, but another limit binds first")
    plain = sum(1 for c in checks if c.verdict == "holds")
    bars = monthly_bars(seed, real)
    parts = [
        md.heading(1, "Seed audit: which claims of the planning document hold"),
        "",
        "The planning document *Extreme Scale: 50,000 Interviews* (docs/seed/000_821f7b3252fe384f.txt, "
        "December 2025) plans 50,000 AI-led interviews — 5,000 candidates × 10 — on free LLM API tiers and "
        'concludes **"completely free & feasible … success rate 100 %"**. This page sets each of its figures '
        "against its own arithmetic done right (same claimed quotas), the 2025 sources (providers.yaml, with "
        "the "
        "date each was read), and a simulation of every interview on a realistic calendar. Regenerate with "
        "`capacity report --all`.",
        "",
        md.heading(2, "The answer"),
        "",
        md.bullets(
            [
                "**50,000 interviews in a month on free tiers: does not hold.** On the 2025 free tiers "
                "(scenario A, "
                f"{rr.days} simulated days) {carried:,} of {rr.interviews.requested:,} interviews are "
                f"carried ({carried / max(1, rr.interviews.requested):.0%}); p95 turn latency "
                f"{md.seconds(rr.turn_latency_s.p95)} against a {rr.sla_p95_turn_latency_s:g} s target.",
                "**Even on the document's own claimed quotas** (scenario seed-claims: its multi-account "
                f"table, with the per-minute limits of the sources) {seed.result.carried:,} of "
                f"{seed.result.interviews.requested:,} are carried "
                f"({seed.result.carried / max(1, seed.result.interviews.requested):.0%}), p95 turn latency "
                f"{md.seconds(seed.result.turn_latency_s.p95)}: per-day arithmetic misses the peak hours and "
                "the per-minute limits.",
                f"**The claimed quotas, on the seed's date ({SEED_DATE}):** the 2025 sources contradict "
                f"{len(seed.plan.seed_contradictions)} of the {len(checks)} audited; {plain} "
                f"{'holds' if plain == 1 else 'hold'}; {binds} {'holds' if binds == 1 else 'hold'}, but another "
                "limit of the same offer binds first (table below).",
                f"**{holds} of {audited} audited headline claims hold**; most that fail, fail by a factor, not "
                "a margin.",
            ]
        ),
        md.image("interviews in a month: the seed's figures against reality", FIGURES["monthly"]),
        "",
        md.table(
            ["The figure's bars", "Interviews in a month"], [(b.label, md.floor_count(b.value)) for b in bars], "lr"
        ),
        md.heading(2, "The document's figures, line by line"),
        "",
        md.table(
            [
                "Claim",
                "The document says",
                "Its arithmetic, corrected",
                "2025 sources",
                "Simulated",
                "Verdict",
            ],
            [
                (
                    line.claim,
                    line.seed_says,
                    line.corrected,
                    line.sources,
                    line.simulated,
                    f"**{line.verdict}**",
                )
                for line in lines
            ],
        ),
        md.heading(2, "Provider by provider"),
        "",
        f"The document's multi-account table ({m.tables[-1].title}), each row against the source and both "
        "simulations (interviews per interviewing day; the document's figures are per day). The source column "
        f"judges the claim on the seed's date ({SEED_DATE}); the last column is scenario A's run from "
        f"{real.result.run_start_utc[:10]}, on the limits in force on the days it simulates (Gemini 2.5 "
        "Flash-Lite allowed 1,000 requests a day until 2025-12-06 and 20 from then; 2.0 Flash left the free tier "
        "that day).",
        "",
        md.image("the seed's providers: claimed, corrected and simulated", FIGURES["providers"]),
        "",
        _provider_table(seed, real),
        md.heading(2, "What the arithmetic gets wrong"),
        "",
        md.bullets(md.esc(c) for c in seed.plan.corrections),
        md.heading(2, "Sources"),
        "",
        _sources_table(seed, real),
        md.heading(2, "How this page was made"),
        "",
        md.bullets(
            [
                f"Corrected arithmetic: `capacity plan --scenario {seed.config.scenario.name}` (the "
                "document's tables are kept in scenarios/seed-claims.yaml).",
                f"Simulations: `capacity simulate --scenario {real.config.scenario.name}` ({rr.days} days, "
                f"seed {rr.seed}), "
                f"`--scenario {seed.config.scenario.name}` ({seed.result.days} days, seed {seed.result.seed})"
                + (
                    f", `--scenario {per_day.config.scenario.name}` ({per_day.result.days} day, seed "
                    f"{per_day.result.seed})"
                    if per_day
                    else ""
                )
                + (
                    f", `--scenario {levers.config.scenario.name}` ({levers.result.days} days, seed "
                    f"{levers.result.seed}; each lever alone: `capacity compare levers -s "
                    f"{real.config.scenario.name}`)"
                    if levers
                    else ""
                )
                + "; their pages: "
                + ", ".join(
                    f"[{n}](../{n}/README.md)"
                    for n in [
                        real.config.scenario.name,
                        seed.config.scenario.name,
                        *([per_day.config.scenario.name] if per_day else []),
                        *([levers.config.scenario.name] if levers else []),
                    ]
                )
                + ".",
                f"One rule for every verdict: a claim holds when reality is within {HOLDS_WITHIN:.0%} of it (a "
                f"capacity reaches {1 - HOLDS_WITHIN:.0%} of the claim, a cost is at most "
                f"{1 + HOLDS_WITHIN:.0%} of it); a claimed quota that matches a documented limit holds, or holds "
                "but another limit binds first; claims not audited are left out of the counts. Claimed quotas "
                f"are judged on the limits in force on the seed's date, {SEED_DATE}. Interviews carried are "
                "completed or degraded (answered by a fallback template) ones.",
            ]
        ),
    ]
    return md.tidy("\n".join(parts))


def _sim_label(what: str, run: ScenarioRun) -> str:
    days = run.result.days
    if run_interviewing_days(run.config, days) >= run.plan.demand.business_days_per_month:
        return f"Simulated: {what} ({days} days)"
    return f"Simulated: {what} ({days}-day run × {run.plan.demand.business_days_per_month} days)"


def _who(row: SeedRowResult) -> str:
    """The document's provider name, with its accounts where the name does not say them."""
    if row.accounts > 1 and "account" not in row.provider:
        return f"{row.provider} × {row.accounts} accounts"
    return row.provider


def _provider_table(seed: ScenarioRun, real: ScenarioRun) -> str:
    rows = []
    for row, check, claimed, now in provider_rows(seed, real):
        who = _who(row)
        source = "no source" if check is None else f"**{check.verdict}**: {check.finding}"
        if check is not None and check.as_of:
            source += f" ({check.maps_to}, as of {check.as_of})"
        rows.append(
            (
                who,
                row.claim,
                f"{row.seed_interviews_per_day:,.0f}",
                md.floor_count(row.corrected_interviews_per_day),
                source,
                "–" if claimed is None else md.floor_count(claimed),
                "–" if now is None else md.floor_count(now) if row.maps_to else "–",
            )
        )
    return md.table(
        [
            "Provider (document)",
            "Claim",
            "Document: interviews/day",
            "Corrected",
            "2025 source",
            "Simulated: claimed quota",
            "Simulated: 2025 free tier",
        ],
        rows,
        "llrrlrr",
    )


def _sources_table(seed: ScenarioRun, real: ScenarioRun) -> str:
    names = sorted(
        {c.maps_to for c in seed.plan.seed_claim_checks if c.maps_to}
        | {d.provider for d in real.config.scenario.routing.all_destinations if d.provider}
    )
    rows = []
    for name in names:
        p = real.config.providers.get(name)
        if p is not None:
            rows.append((p.label, p.billing, p.source, p.as_of.isoformat(), p.terms or "–"))
    return md.table(["Provider", "Billing", "Source", "As of", "Terms"], rows)


def monthly_bars(seed: ScenarioRun, real: ScenarioRun) -> list[Bar]:
    """The monthly figure's bars, interviews in a month by each reading (the page lists the same numbers)."""
    m = seed_method_of(seed)
    days_a_month = real.plan.demand.business_days_per_month
    return [
        Bar(
            f"Document: optimized ({m.seed_optimized_interviews_per_day:,.0f}/day × 30)",
            m.optimized_interviews_per_month,
            "seed",
        ),
        Bar(
            f"Document: multi-account table ({m.tables[-1].seed_total_interviews_per_day:,.0f}/day × 30)",
            m.tables[-1].seed_interviews_per_month,
            "seed",
        ),
        Bar("Its claimed quotas and savings, arithmetic corrected", m.corrected_interviews_per_month, "corrected"),
        Bar(
            f"2025 free tiers: static plan × {days_a_month} days",
            real.plan.totals.interviews_per_day * days_a_month,
            "sources",
        ),
        Bar(_sim_label("its claimed quotas", seed), per_interviewing_day(seed) * days_a_month, "simulated"),
        Bar(_sim_label("2025 free tiers", real), per_interviewing_day(real) * days_a_month, "simulated"),
    ]


def write_seed_audit(
    seed: ScenarioRun,
    real: ScenarioRun,
    per_day: ScenarioRun | None,
    out_dir: Path,
    levers: ScenarioRun | None = None,
) -> list[Path]:
    """Write the seed audit page and its figures into ``out_dir``; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    d = real.plan.demand
    bars = monthly_bars(seed, real)
    rows = [
        ProviderBars(
            _who(row),
            row.seed_interviews_per_day,
            row.corrected_interviews_per_day,
            claimed,
            now if row.maps_to else None,
        )
        for row, _check, claimed, now in provider_rows(seed, real)
    ]
    paths = [
        monthly_figure(
            bars,
            float(d.interviews),
            out_dir / FIGURES["monthly"],
            "Interviews in a month: the planning document against reality",
        ),
        providers_figure(
            rows,
            out_dir / FIGURES["providers"],
            "The document's providers: interviews a day, claimed and real",
        ),
    ]
    page = out_dir / "README.md"
    page.write_text(audit_markdown(seed, real, per_day, levers), encoding="utf-8")
    return [page, *paths]
