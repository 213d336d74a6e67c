"""What deferred stages and question banks change in a plan: :func:`plan_levers`.

Closed forms, per interview and per interviewing day, with the scenario's mean tokens:

* **Question bank** — a banked stage sends nothing during the interviews (taken off the load by
  :func:`capacity.plan.savings.provider_load`); the bank costs ``variants × roles`` requests once,
  at the batch price (via batch) or the list price of a paid model (off-peak; 0 on a free tier).
* **Deferred to a batch API** — the requests leave the normal quotas (the loader accepts only a
  batch API with its own rate-limit pool) and cost list price × the batch price factor. Results
  count as ready one completion window after submission, so a booking needs
  ``lead_time_s ≥ completion window``; and the provider's queue holds at most
  ``max_enqueued_tokens``, each for a whole window, so it carries at most
  ``max_enqueued_tokens ÷ input tokens per request × day ÷ window`` deferred requests a day.
* **Deferred off-peak** — the requests stay on the normal quotas (daily windows count them), so
  the plan's capacity is unchanged; what they free is the quota of the busy hours: the
  peak-hour requests per minute they no longer need, from the calendar's hourly profile, taken
  as if every time zone peaked in the same hour (an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass

from capacity.config.loader import Configuration
from capacity.config.providers import Prices
from capacity.policy.levers import lever_target
from capacity.units import DAY_S, MTOK
from capacity.workload.script import CompiledScript

__all__ = ["BankPlan", "DeferralPlan", "LeverPlan", "plan_levers"]


@dataclass(frozen=True)
class DeferralPlan:
    """One deferred stage in the plan."""

    stage: str
    via: str
    target: str
    """provider/model of the batch API, or ``routing`` (off-peak)."""
    requests_per_interview: int
    lead_time_s: float
    completion_window_s: float | None
    """The batch API's window, s (``None`` off-peak)."""
    ready_in_time: bool
    """Whether the lead time covers the completion window (always true off-peak)."""
    batch_requests_per_day_max: float | None
    """Most deferred requests a day the batch queue can finish within the window (``None``: no
    queue limit stated, or off-peak)."""
    requests_per_day: float
    """Deferred requests per interviewing day at the scenario's need."""
    peak_requests_per_minute_freed: float
    """Requests per minute the busiest hour no longer sends live."""
    monthly_cost_usd: float
    """Batch price of a month's deferred requests, $ (0 off-peak: their price is in the destinations')."""

    @property
    def ready_share(self) -> float:
        """Share of the deferred requests whose results are ready when the interview needs them
        (0–1): none when the lead time is shorter than the batch window, else as much as the
        queue finishes a day within the window. The rest fall back to live calls (on the normal
        quotas, at the list price, after the batch price was paid too). 1 off-peak."""
        if not self.ready_in_time:
            return 0.0
        if self.batch_requests_per_day_max is None or self.requests_per_day <= 0:
            return 1.0
        return min(1.0, self.batch_requests_per_day_max / self.requests_per_day)


@dataclass(frozen=True)
class BankPlan:
    """One banked stage in the plan."""

    stage: str
    via: str
    variants: int
    roles: int
    one_off_requests: int
    one_off_cost_usd: float
    requests_per_interview_saved: int
    interviews_per_variant: float
    """Mean interviews that share one variant over the horizon (need × days ÷ variants ÷ roles)."""


@dataclass(frozen=True)
class LeverPlan:
    """Deferred stages and banks of a scenario, as the plan counts them."""

    deferrals: tuple[DeferralPlan, ...]
    banks: tuple[BankPlan, ...]
    peak_interviews_per_hour: float
    """Interview starts in the busiest hour (hourly profile's largest share of a day's need)."""


def _price_usd(prices: Prices | None, tokens_in: float, tokens_out: float) -> float:
    if prices is None:
        return 0.0
    return (tokens_in * prices.usd_per_mtok_in + tokens_out * prices.usd_per_mtok_out) / MTOK


def plan_levers(
    config: Configuration, script: CompiledScript, need_per_day: float, days: int, days_per_month: int
) -> LeverPlan | None:
    """The levers of ``config`` at ``need_per_day`` interviews per interviewing day over ``days`` of them
    (``days_per_month`` interviewing days in 30; ``None`` when the script has neither deferred nor
    banked stages)."""
    if not any(t.ahead for t in script.turns):
        return None
    calendar = config.scenario.calendar
    profile = calendar.hourly_profile or [1.0] * max(1, round(calendar.business_hours))
    peak_per_hour = need_per_day * max(profile) / sum(profile) if sum(profile) else 0.0
    tokens = {t.stage: t for t in script.expected_tokens()}
    deferrals: dict[str, DeferralPlan] = {}
    banks: dict[str, BankPlan] = {}
    for turn in script.turns:
        mean = tokens[turn.stage]
        count = sum(1 for t in script.turns if t.stage == turn.stage)
        if turn.deferral is not None and turn.stage not in deferrals:
            d = turn.deferral
            target = lever_target(config, d, config.scenario.script.stages[turn.stage].group)
            window = per_day_max = None
            usd = 0.0
            label = "routing"
            batch = target[2] if target is not None else None
            if target is not None and batch is not None:
                provider, model = target[0], target[1]
                label = f"{provider}/{model}"
                window = batch.completion_window_s
                if batch.max_enqueued_tokens is not None and mean.input_tokens > 0:
                    per_day_max = batch.max_enqueued_tokens / mean.input_tokens * DAY_S / window
                spec = config.provider(provider).model(model)
                prices = spec.prices if spec is not None else None
                usd = _price_usd(prices, mean.input_tokens, mean.output_tokens) * batch.price_factor
            per_day = need_per_day * count
            deferrals[turn.stage] = DeferralPlan(
                stage=turn.stage,
                via=d.via,
                target=label,
                requests_per_interview=count,
                lead_time_s=d.lead_time_s,
                completion_window_s=window,
                ready_in_time=window is None or d.lead_time_s >= window,
                batch_requests_per_day_max=per_day_max,
                requests_per_day=per_day,
                peak_requests_per_minute_freed=peak_per_hour * count / 60.0,
                monthly_cost_usd=usd * per_day * days_per_month,
            )
        if turn.bank is not None and turn.stage not in banks:
            b = turn.bank
            roles = config.scenario.candidates.roles
            target = lever_target(config, b, config.scenario.script.stages[turn.stage].group)
            usd = 0.0
            if target is not None:
                provider, model, batch = target
                spec = config.provider(provider).model(model)
                paid = batch is not None or config.provider(provider).billing == "paid"
                prices = spec.prices if spec is not None and paid else None
                factor = batch.price_factor if batch is not None else 1.0
                usd = _price_usd(prices, mean.input_tokens, mean.output_tokens) * factor * b.variants * roles
            banks[turn.stage] = BankPlan(
                stage=turn.stage,
                via=b.via,
                variants=b.variants,
                roles=roles,
                one_off_requests=b.variants * roles,
                one_off_cost_usd=usd,
                requests_per_interview_saved=count,
                interviews_per_variant=need_per_day * days / (b.variants * roles),
            )
    return LeverPlan(tuple(deferrals.values()), tuple(banks.values()), peak_per_hour)
