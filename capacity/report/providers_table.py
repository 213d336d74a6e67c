"""``capacity providers``: the configured providers, their limits, refill semantics, sources and ages.

Each limit's refill rule (rolling, fixed at a local time, token bucket, calendar month, or
unknown — counted as rolling) is shown with the evidence it rests on and when that was read,
and each dated limit change with its source.

Free tiers change often (Gemini 2.0 Flash's free requests a day went 1,500 → 1,000 → 200
in six months of 2025), so every entry carries the date its source was read (``as_of``).
An entry older than the stale threshold is marked: its figures may no longer hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from capacity.config.levers import BatchApi
from capacity.config.providers import (
    CalendarMonthReset,
    FixedReset,
    Limits,
    ModelSpec,
    PromptCache,
    Provider,
    ResetRule,
    StatedLimit,
    UnknownReset,
)
from capacity.units import Measure, Period


def age_days(as_of: dt.date, today: dt.date) -> int:
    """Days since the source was read."""
    return (today - as_of).days


def is_stale(as_of: dt.date, today: dt.date, stale_days: int) -> bool:
    """Whether a figure read on ``as_of`` is older than ``stale_days`` on ``today``."""
    return age_days(as_of, today) > stale_days


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def limit_text(limit: StatedLimit) -> str:
    """One stated limit in words: ``15 req/min``, ``$5.00 credit once``, ``5 in flight``."""
    if limit.kind.measure is Measure.USD:
        renews = "a month" if limit.period is Period.MONTH else "once"
        return f"${limit.value:,.2f} {limit.kind.short} {renews}"
    return f"{_number(limit.value)} {limit.kind.short}"


def limits_text(limits: Limits) -> str:
    """The limits a model states, in one line: ``15 req/min · 200 req/day · 1,000,000 tokens/min``.

    Counted limits first, in the order of :data:`~capacity.units.LIMIT_KINDS`; credit last."""
    stated = limits.stated()
    parts = [limit_text(s) for s in stated if s.kind.measure is not Measure.USD]
    parts += [limit_text(s) for s in stated if s.kind.measure is Measure.USD]
    if limits.charge_max_output_up_front:
        parts.append("max output charged up front")
    return " · ".join(parts) if parts else "none stated"


def used_periods(model: ModelSpec | Limits) -> list[Period]:
    """The periods of the windows a model (or an account's allowances) states, in table order."""
    limits = model if isinstance(model, Limits) else model.limits
    periods: list[Period] = []
    for limit in limits.stated():
        if limit.period is not None and limit.period is not Period.ONCE and limit.period not in periods:
            periods.append(limit.period)
    return periods


def semantics_text(rule: ResetRule) -> str:
    """A refill rule in words: ``fixed at 00:00 America/Los_Angeles``, ``token bucket``, ``unknown …``."""
    if isinstance(rule, FixedReset):
        return f"fixed at {rule.at:%H:%M} {rule.timezone}"
    if isinstance(rule, CalendarMonthReset):
        return f"calendar month from the 1st, {rule.timezone}"
    if isinstance(rule, UnknownReset):
        return "unknown (counted as rolling, the safe default)"
    return rule.kind.replace("_", " ")


def _semantics_lines(model: ModelSpec) -> list[str]:
    """One line per period a model's limits use: its refill rule and the evidence for it."""
    lines = []
    for period in used_periods(model):
        rule = model.resets.rule(period)
        evidence = rule.evidence or "no evidence given"
        when = f", read {rule.as_of}" if rule.as_of else ""
        lines.append(f"per {period.value}: {semantics_text(rule)} — {evidence}{when}")
    for change in model.limit_changes:
        values = ", ".join(f"{k} {_number(v)}" for k, v in change.limits.items())
        until = f" until {change.effective_until}" if change.effective_until else ""
        lines.append(f"from {change.effective_from}{until}: {values} — {change.source}")
    return lines


def account_lines(provider: Provider) -> list[str]:
    """The account-wide allowances of a provider, shared by its models, with their refill rules."""
    shared = provider.account_limits
    if shared is None:
        return []
    lines = [f"account-wide, shared by its models: {limits_text(shared)}"]
    for period in used_periods(shared):
        rule = provider.account_resets.rule(period)
        when = f", read {rule.as_of}" if rule.as_of else ""
        lines.append(f"per {period.value}: {semantics_text(rule)} — {rule.evidence or 'no evidence given'}{when}")
    return lines


def prompt_cache_text(cache: PromptCache) -> str:
    """A prompt cache in one line: minimum, steps, lifetime, prices, limits, TTFT (unknowns named)."""

    def known(value: float | str, unit: str = "") -> str:
        return value if isinstance(value, str) else f"{_number(float(value))}{unit}"

    counts = (
        "unknown (counted)"
        if cache.counts_toward_limits == "unknown"
        else ("counted" if cache.counts_toward_limits else "not counted")
    )
    return (
        f"prompt cache: min prefix {known(cache.min_prefix_tokens, ' tokens')}, "
        f"steps {known(cache.granularity_tokens, ' tokens')}, "
        f"lifetime {known(cache.retention_s, ' s')}, read {cache.read_price_factor:g}× / write "
        f"{cache.write_price_factor:g}× input price, against limits {counts}, TTFT saving {known(cache.ttft_saving)}"
    )


def batch_text(batch: BatchApi | None) -> str:
    """A batch API in one line: price, completion window, limits, rate-limit pool, source."""
    if batch is None:
        return "batch API: none found"
    if not batch.available:
        return f"batch API: not on this plan (as of {batch.as_of}; source in --json)"
    limits = [
        f"{_number(v)} {what}"
        for v, what in (
            (batch.max_requests_per_batch, "requests a batch"),
            (batch.max_enqueued_requests, "requests enqueued"),
            (batch.max_enqueued_tokens, "input tokens enqueued"),
        )
        if v is not None
    ]
    pool = (
        "rate-limit pool unknown (counted against the normal limits)"
        if batch.draws_on_quotas == "unknown"
        else "draws on the normal limits"
        if batch.draws_on_quotas
        else "own rate-limit pool"
    )
    return (
        f"batch API: {batch.price_factor:g}× list price, results within {_number(batch.completion_window_s / 3600)} h, "
        f"{', '.join(limits) or 'no batch limits stated'}, {pool} (as of {batch.as_of}; source in --json)"
    )


def _semantics_json(model: ModelSpec) -> dict[str, Any]:
    """The refill rule and evidence of each period the model's limits use."""
    return {p.value: model.resets.rule(p).model_dump(mode="json", exclude_none=True) for p in used_periods(model)}


def _prices_text(model: ModelSpec) -> str:
    if model.prices is None:
        return "–"
    return f"${model.prices.usd_per_mtok_in:g} / ${model.prices.usd_per_mtok_out:g}"


def _limits_json(limits: Limits) -> dict[str, Any]:
    """The limits a model states (absent ones left out)."""
    out: dict[str, Any] = limits.model_dump(mode="json", exclude_none=True)
    if limits.credit_usd is None:
        out.pop("credit_renews", None)
    if not limits.charge_max_output_up_front:
        out.pop("charge_max_output_up_front", None)
    return out


def providers_json(providers: Sequence[Provider], today: dt.date, stale_days: int) -> dict[str, Any]:
    """The providers with their limits, sources, ages and staleness, as JSON-ready data."""
    entries = []
    for p in providers:
        entries.append(
            {
                "name": p.name,
                "label": p.label,
                "billing": p.billing,
                "accounts": p.accounts,
                "scope": p.scope,
                "source": p.source,
                "as_of": p.as_of.isoformat(),
                "age_days": age_days(p.as_of, today),
                "stale": is_stale(p.as_of, today, stale_days),
                "terms": p.terms,
                "notes": p.notes,
                "account_limits": None if p.account_limits is None else _limits_json(p.account_limits),
                "account_semantics": {
                    period.value: p.account_resets.rule(period).model_dump(mode="json", exclude_none=True)
                    for period in (used_periods(p.account_limits) if p.account_limits is not None else [])
                },
                "models": [
                    {
                        "name": m.name,
                        "limits": _limits_json(m.limits),
                        "semantics": _semantics_json(m),
                        "limit_changes": [c.model_dump(mode="json", exclude_none=True) for c in m.limit_changes],
                        "prices": None if m.prices is None else m.prices.model_dump(mode="json"),
                        "withdrawn_on": None if m.withdrawn_on is None else m.withdrawn_on.isoformat(),
                        "prompt_cache": None if (pc := p.prompt_cache_of(m)) is None else pc.model_dump(mode="json"),
                        "batch": None if (b := p.batch_of(m)) is None else b.model_dump(mode="json"),
                    }
                    for m in p.models
                ],
            }
        )
    return {
        "today": today.isoformat(),
        "stale_days": stale_days,
        "stale": [e["name"] for e in entries if e["stale"]],
        "providers": entries,
    }


def render_providers(providers: Sequence[Provider], today: dt.date, stale_days: int, console: Console) -> None:
    """Print one row per provider model: limits, prices, source and age (stale ones marked)."""
    table = Table(
        title=f"Configured providers (stale: source read more than {stale_days} days before {today})",
        title_justify="left",
    )
    table.add_column("Provider / model")
    table.add_column("Billing")
    table.add_column("Limits per account")
    table.add_column("$/1M tokens in / out", justify="right")
    table.add_column("As of")
    stale_names = []
    for p in providers:
        stale = is_stale(p.as_of, today, stale_days)
        if stale:
            stale_names.append(p.name)
        age = Text(f"{p.as_of}\n{age_days(p.as_of, today)} days")
        if stale:
            age.append("\nSTALE", style="bold red")
        head = Text(p.name, style="bold")
        head.append(f" {p.label}\n")
        head.append(f"source: {p.source}", style="dim")
        for line in account_lines(p):
            head.append(f"\n{line}", style="dim")
        table.add_row(head, p.billing, "", "", age)
        for m in p.models:
            limits = Text(limits_text(m.limits))
            for line in _semantics_lines(m):
                limits.append(f"\n{line}", style="dim")
            if m.withdrawn_on is not None:
                limits.append(f"\nwithdrawn on {m.withdrawn_on}", style="red")
            cache = p.prompt_cache_of(m)
            limits.append(
                f"\n{prompt_cache_text(cache) if cache is not None else 'prompt cache: none modelled'}", style="dim"
            )
            limits.append(f"\n{batch_text(p.batch_of(m))}", style="dim")
            table.add_row(f"  {m.name}", "", limits, _prices_text(m), "")
        table.add_section()
    console.print(table)
    if stale_names:
        console.print(
            Text(
                f"{len(stale_names)} stale: {', '.join(stale_names)} — check their sources before trusting a plan.",
                style="yellow",
            )
        )
