"""The one monthly-cost basis of every study and page: a month of interviews at list price.

A paid API's **cost per interview** is its list price × the scenario's mean API tokens per
interview as ``capacity plan`` counts them: the script's requests after templates, the
response cache and in-flight de-duplication
(:attr:`~capacity.plan.result.WorkloadSummary.input_tokens_per_interview` and
``output_tokens_per_interview``) — what reaches the API for one of *that scenario's*
interviews. A **month** is the calendar's interviewing days in 30 days
(:func:`~capacity.studies.demand.month_days`: 22 on weekdays, 30 for 24/7); a run's bill and
carried interviews scale to it by interviewing days (:func:`~capacity.studies.demand.runs_per_month`).
A monthly API bill is therefore interviews per interviewing day × interviewing days a month ×
cost per interview.

Why this basis. The seed audit once priced the seed's Option 1 (48,000 interviews a day on
GPT-3.5 Turbo) at $41,989/month and ``capacity compare`` at $29,908/month. The audit took 30
days a month and scenario A's interview (48,896 input + 3,141 output tokens: A spreads a
candidate's ten interviews over the month, so the resume analysis is rarely cached); compare
took 22 interviewing days and scenario B's interview (47,971 + 2,891: B runs them back to back
in a day, so the resume analysis is answered from the cache after the first). Option 1 serves
B's demand — 50,000 interviews every interviewing day — on a weekday calendar: interviews run
on 22 days of a 30-day month, and × 30 is the very mistake the audit corrects in the seed's
own arithmetic ("× 30 counts every day of the month"). So the basis is 22 interviewing days of
the interview of the scenario whose demand is being priced: $29,908/month on both pages.

A paid API carrying the whole volume keeps every interview on itself, so its prompt cache
(``prompt_cache`` in providers.yaml) serves the conversation's earlier prompt as ``plan``
expects it with one destination (:mod:`capacity.plan.prompt_cache`): its input tokens are priced
at the mean input price factor that gives (gpt-4o-mini: about 80% cached at half price in A and
B; GPT-3.5 Turbo has no prompt cache in providers.yaml, so Option 1 is unchanged).
"""

from __future__ import annotations

from capacity.config.loader import Configuration
from capacity.config.providers import ModelSpec, Provider
from capacity.plan import plan as make_plan
from capacity.plan.prompt_cache import expected_effect
from capacity.plan.tco import TcoOption, api_option, api_usd_per_interview
from capacity.studies.demand import month_days
from capacity.workload.script import compile_script

REFERENCE_APIS: tuple[tuple[str, str], ...] = (
    ("openai", "gpt-4o-mini"),
    ("groq-paid", "llama-3.1-8b-instant"),
    ("openai", "gpt-3.5-turbo-0125"),
)
"""Paid APIs every TCO sets against owning GPUs (provider, model), where providers.yaml prices them."""


def tokens_per_interview(config: Configuration) -> tuple[float, float]:
    """Mean API (input, output) tokens of one of the scenario's interviews, after templates and cache."""
    w = make_plan(config).workload
    return w.input_tokens_per_interview, w.output_tokens_per_interview


def input_price_factor(config: Configuration, provider: Provider, spec: ModelSpec) -> float:
    """Mean price of an input token of the scenario's interviews on ``spec`` alone ÷ its list
    input price: its prompt cache's reads (cheaper) and writes (dearer); 1 without a cache."""
    return expected_effect(compile_script(config.scenario.script), provider.prompt_cache_of(spec)).input_price_factor


def priced_tokens_per_interview(config: Configuration, provider: Provider, spec: ModelSpec) -> tuple[float, float]:
    """Mean (input, output) tokens of one of the scenario's interviews on ``spec`` alone, the input
    weighted by :func:`input_price_factor`."""
    tokens_in, tokens_out = tokens_per_interview(config)
    return tokens_in * input_price_factor(config, provider, spec), tokens_out


def usd_per_interview(config: Configuration, provider: str, model: str) -> float | None:
    """List price of one of the scenario's interviews on ``provider``/``model`` (its prompt cache
    counted), USD (None: unknown or unpriced)."""
    p = config.providers.get(provider)
    spec = p.model(model) if p is not None else None
    if p is None or spec is None or spec.prices is None:
        return None
    return api_usd_per_interview(spec.prices, *priced_tokens_per_interview(config, p, spec))


def paid_option(
    config: Configuration, provider: str, model: str, interviews_per_month: float, *, note: str = ""
) -> TcoOption | None:
    """``provider``/``model`` at list price carrying ``interviews_per_month`` of the scenario's interviews.

    Labelled ``<provider label>: <model>``; ``note`` (default: the price per interview) says
    where the figure comes from. None when providers.yaml has no such model or no price for it.
    """
    p = config.providers.get(provider)
    spec = p.model(model) if p is not None else None
    if p is None or spec is None or spec.prices is None:
        return None
    tokens_in, tokens_out = priced_tokens_per_interview(config, p, spec)
    per = api_usd_per_interview(spec.prices, tokens_in, tokens_out)
    return api_option(
        f"{p.label}: {model}",
        spec.prices,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        interviews_per_month=interviews_per_month,
        note=note or f"${per:.4f}/interview at list price",
    )


def monthly_usd(config: Configuration, provider: str, model: str, interviews_per_day: float) -> float | None:
    """A month's list-price bill for ``interviews_per_day`` interviews each interviewing day, USD.

    Interviews a day × interviewing days a month × cost per interview (None: unpriced).
    """
    per = usd_per_interview(config, provider, model)
    return None if per is None else interviews_per_day * month_days(config) * per


def reference_options(config: Configuration, interviews_per_month: float, *, note: str = "") -> list[TcoOption]:
    """The paid APIs of :data:`REFERENCE_APIS` carrying ``interviews_per_month`` (those priced)."""
    options = (paid_option(config, p, m, interviews_per_month, note=note) for p, m in REFERENCE_APIS)
    return [o for o in options if o is not None]


def list_prices(config: Configuration) -> dict[str, tuple[float, float]]:
    """Destination label → paid list price ($ per 1M tokens in, out), where known (GPU pools: none)."""
    out = {}
    for d in config.scenario.routing.all_destinations:
        if d.provider is None or d.model is None:
            continue  # a GPU pool: its cost is its hardware, not tokens
        spec = config.provider(d.provider).model(d.model)
        if spec is not None and spec.prices is not None:
            out[d.label] = (spec.prices.usd_per_mtok_in, spec.prices.usd_per_mtok_out)
    return out
