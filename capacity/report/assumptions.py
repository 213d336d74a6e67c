"""The assumptions section of a scenario page: every input of the model, with its source.

Demand and calendar, the interview script and its stages, routing, cache and service level,
each provider's limits and list prices with the source and the date it was read (``as_of``),
GPU pools, and the latency models — the figures a reader may change with ``--set`` or in the
YAML files. Rendered from the configuration and the plan of a
:class:`~capacity.studies.runs.ScenarioRun`.
"""

from __future__ import annotations

from pathlib import Path

from capacity.config.distributions import (
    ConstantSpec,
    EmpiricalSpec,
    ExponentialSpec,
    LognormalSpec,
    NormalSpec,
)
from capacity.config.loader import Configuration
from capacity.report import markdown as md
from capacity.report.providers_table import limits_text
from capacity.report.verdict import clock
from capacity.studies.runs import ScenarioRun
from capacity.studies.target import CARRIED_SHARE


def dist_text(spec: object, unit: str) -> str:
    """A distribution specification in words: ``lognormal, median 120 s, σ 0.5``."""
    if isinstance(spec, ConstantSpec):
        return f"{spec.value:g} {unit}"
    if isinstance(spec, ExponentialSpec):
        return f"exponential, mean {spec.mean:g} {unit}"
    if isinstance(spec, LognormalSpec):
        return f"lognormal, median {spec.median:g} {unit}, σ {spec.sigma:g}"
    if isinstance(spec, NormalSpec):
        bounds = f", ≥ {spec.min:g}" + (f", ≤ {spec.max:g}" if spec.max is not None else "")
        return f"normal, mean {spec.mean:g} {unit}, sd {spec.sd:g}{bounds}"
    if isinstance(spec, EmpiricalSpec):
        return f"empirical, {len(spec.values)} values ({min(spec.values):g}–{max(spec.values):g} {unit})"
    return str(spec)


def _demand_text(config: Configuration) -> str:
    sc = config.scenario
    d, c = sc.demand, sc.candidates
    what = (
        f"{d.interviews:,} interviews in all over {d.days} days"
        if d.kind == "total"
        else f"{d.interviews:,} interviews every interviewing day, for {d.days} day(s)"
    )
    spacing = (
        "spread over different days"
        if c.spacing == "spread"
        else f"back to back on one day, {c.gap_between_interviews_s / 60:g} min apart"
    )
    return f"{what}: {c.count:,} candidates × {c.interviews_each} interviews each, {spacing}"


def _calendar_lines(config: Configuration) -> list[str]:
    cal = config.scenario.calendar
    total = sum(z.share for z in cal.timezones)
    zones = ", ".join(f"{z.timezone} {z.share / total:.0%}" for z in cal.timezones)
    lines = [
        f"Starts {cal.start_date:%a %Y-%m-%d}; run time 0 is 00:00 UTC that day.",
        f"Interviews from {cal.business_hours_start:%H:%M} to {cal.business_hours_end:%H:%M} local time"
        + (", weekdays only." if cal.weekdays_only else ", every day."),
        f"Candidates' time zones: {zones}.",
    ]
    if cal.hourly_profile:
        profile = ", ".join(f"{x:g}" for x in cal.hourly_profile)
        lines.append(f"Relative interview starts per business hour (a mid-morning peak): {profile}.")
    return lines




def scenario_file(config: Configuration) -> tuple[str, str]:
    """How a page names the scenario's file, and the ``--scenario`` argument that regenerates it:
    a ``scenarios/`` file by its name (``scenarios/A.yaml``, ``A``), a user's own file by its path."""
    given = Path(config.scenario_file)
    name = config.scenario.name
    if given.parent.name == "scenarios" and given.stem == name:
        return f"scenarios/{name}.yaml", name
    return str(given), str(given)


def assumptions_section(run: ScenarioRun) -> str:
    """The page's last section: every input of the model with its source and ``as_of`` date."""
    sc, w = run.config.scenario, run.plan.workload
    out = md.heading(2, "Assumptions") + "\n"
    out += (
        "Every figure below is an input of the model, not a result: change one with "
        f"`--set path.to.field=value` or in `{scenario_file(run.config)[0]}` / `providers.yaml`.\n\n"
    )
    out += (
        md.heading(3, "Demand and calendar")
        + "\n"
        + md.bullets([_demand_text(run.config) + ".", *_calendar_lines(run.config)])
    )
    out += "\n" + md.heading(3, "The interview") + "\n"
    s = sc.script
    out += md.bullets(
        [
            f"System prompt {s.system_prompt_tokens:,} tokens in every request; a resume of "
            f"{s.resume_tokens:,} tokens.",
            f"A candidate's answer: {dist_text(s.answer_tokens, 'tokens')}; thinking and speaking before it: "
            f"{dist_text(s.think_time_s, 's')}.",
            f"Script: {' → '.join(s.opening)}, then {s.rounds} rounds of {' → '.join(s.round)}, then "
            f"{' → '.join(s.closing)}.",
            f"Per interview: {w.logical_requests_per_interview} logical requests → "
            f"{w.api_requests_per_interview:.2f} API "
            f"requests after templates, cache and de-duplication ({md.pct(w.avoided_fraction)} avoided); "
            f"{w.tokens_per_interview:,.0f} tokens ({w.input_tokens_per_interview:,.0f} in + "
            f"{w.output_tokens_per_interview:,.0f} out) in the plan, {run.result.tokens_per_interview:,.0f} "
            "per carried interview in the run.",
        ]
    )
    stage_rows = []
    for name, st in s.stages.items():
        inputs = [x for x, on in (("resume", st.input.resume), ("history", st.input.history)) if on]
        if st.input.extra_tokens:
            inputs.append(f"+{st.input.extra_tokens} tokens")
        stage_rows.append(
            (
                name,
                "yes" if st.template else "no",
                ", ".join(inputs) or "system prompt only",
                dist_text(st.output_tokens, "tokens"),
                f"{st.max_output_tokens:,}",
                st.cache.key if st.cache.key != "none" else "–",
            )
        )
    out += "\n" + md.table(
        ["Stage", "Template", "Input (besides the system prompt)", "Output", "Max output", "Cache key"],
        stage_rows,
        "llllrl",
    )
    r = sc.routing
    out += (
        "\n"
        + md.heading(3, "Routing, cache and service level")
        + "\n"
        + md.bullets(
            [
                f"Strategy `{r.strategy}` over {len(r.destinations)} destinations in the order listed below; "
                f"when all are out of quota a turn does `{r.on_exhausted}`; a turn waits at most "
                f"{r.turn_deadline_s:g} s, then "
                f"does `{r.on_deadline}`; {r.max_retries} retries of a failed call (backoff from "
                f"{r.backoff_base_s:g} s).",
                f"Response cache {'on' if sc.cache.enabled else 'off'} (TTL {sc.cache.ttl_s:,.0f} s, "
                f"{sc.cache.max_entries:,} entries); in-flight de-duplication "
                f"{'on' if sc.cache.deduplicate_in_flight else 'off'}.",
                f"Service level: p95 turn latency ≤ {sc.sla.p95_turn_latency_s:g} s; time to first token ≤ "
                f"{sc.sla.ttft_s:g} s. A plan carries the demand when ≥ {CARRIED_SHARE * 100:g} % of the "
                "interviews are carried within it.",
                *(
                    [
                        "Outages: "
                        + ", ".join(
                            f"{o.provider} from {clock(o.start_s)} for {o.duration_s / 60:g} min"
                            for o in sc.outages
                        )
                        + "."
                    ]
                    if sc.outages
                    else []
                ),
            ]
        )
    )
    out += "\n" + md.heading(3, "Providers: limits, prices and sources") + "\n"
    rows, notes = [], []
    seen: set[str] = set()
    latency: dict[str, tuple[str, str, list[str]]] = {}
    for d in r.destinations:
        if d.provider is None or d.model is None:
            continue  # GPU pools: listed below
        provider = run.config.provider(d.provider)
        spec = provider.model(d.model)
        if spec is None:  # pragma: no cover - checked on load
            continue
        price = (
            f"${spec.prices.usd_per_mtok_in:g} / ${spec.prices.usd_per_mtok_out:g}" if spec.prices else "–"
        )
        rows.append(
            (
                d.label,
                provider.billing,
                d.accounts or provider.accounts,
                limits_text(spec.limits),
                price,
                f"{spec.error_rate:.1%}",
                provider.source,
                provider.as_of.isoformat(),
            )
        )
        if provider.name not in seen:
            seen.add(provider.name)
            for label, text in (("terms", provider.terms), ("note", provider.notes)):
                if text:
                    notes.append(f"**{provider.label}** ({label}): {text}")
        ttft, decode = (
            dist_text(spec.latency.ttft_s, "s"),
            dist_text(spec.latency.output_tokens_per_s, "tokens/s"),
        )
        latency.setdefault(f"{spec.latency.source}|{ttft}|{decode}", (ttft, decode, []))[2].append(d.label)
    out += md.table(
        [
            "Destination",
            "Billing",
            "Accounts",
            "Limits per account",
            "List price $/1M in / out",
            "Error rate",
            "Source",
            "As of",
        ],
        rows,
        "llrlllll",
    )
    out += "\n" + md.bullets(md.esc(n) for n in notes)
    if sc.gpu_pools:
        out += (
            "\n"
            + md.heading(3, "Self-hosted GPU pools")
            + "\n"
            + md.bullets(
                f"`{g.name}`: {g.servers} server(s) × {g.gpus_per_server} {g.gpu}, {g.model} ({g.precision}, "
                f"{g.engine}), {g.ownership}"
                + (
                    f", ${g.rent_usd_per_gpu_hour:g}/GPU-hour"
                    if g.ownership == "rented" and g.rent_usd_per_gpu_hour
                    else ""
                )
                + (f", amortised over {g.amortisation_months} months" if g.ownership == "owned" else "")
                + f"; schedule {g.schedule}; figures from the GPU catalogue (`capacity gpu`)."
                for g in sc.gpu_pools
            )
        )
    out += "\n" + md.heading(4, "Latency models") + "\n"
    out += md.table(
        ["Source", "Time to first token", "Decode speed", "Used by"],
        [
            (key.split("|", 1)[0], ttft, decode, ", ".join(users))
            for key, (ttft, decode, users) in latency.items()
        ],
    )
    return out
