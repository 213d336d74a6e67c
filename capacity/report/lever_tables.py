"""Deferred stages and question banks, as the plan counts them and as a run measured them."""

from __future__ import annotations

from rich.text import Text

from capacity.plan.levers import LeverPlan
from capacity.result import LeverStats, RunResult

__all__ = ["plan_levers_text", "run_levers_text"]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h"


def plan_levers_text(levers: LeverPlan) -> Text:
    """The plan's lever section: per deferred stage and per bank, requests moved and their price."""
    text = Text("Work done ahead of the interviews:", style="bold")
    for d in levers.deferrals:
        if d.via == "batch":
            assert d.completion_window_s is not None
            timely = "ready in time" if d.ready_in_time else "NOT ready in time: every request falls back live"
            how = (
                f"through {d.target}'s batch API ({_hours(d.completion_window_s)} window, lead time "
                f"{_hours(d.lead_time_s)}: {timely}); "
                f"off the normal quotas; ${d.monthly_cost_usd:,.2f}/month at the batch price"
            )
            if d.batch_requests_per_day_max is not None:
                fits = (
                    "fits"
                    if d.ready_share >= 1.0
                    else f"does NOT fit: {d.ready_share:.0%} ready in time, the rest fall back to live calls "
                    "(on the quotas, at the list price, the batch price paid too)"
                )
                how += (
                    f"; its queue finishes at most {d.batch_requests_per_day_max:,.0f} a day within the window, "
                    f"need {d.requests_per_day:,.0f}: {fits}"
                )
        else:
            how = (
                f"off-peak on the normal quotas, {_hours(d.lead_time_s)} before each interview (still counted "
                "against daily limits)"
            )
        text.append(
            f"\n • {d.stage}: {d.requests_per_interview} request(s) per interview deferred {how}; frees "
            f"{d.peak_requests_per_minute_freed:,.1f} requests/min in the peak hour"
        )
    for b in levers.banks:
        text.append(
            f"\n • {b.stage}: a bank of {b.variants} variant(s) × {b.roles} role(s), written once via {b.via}: "
            f"{b.one_off_requests:,} requests, ${b.one_off_cost_usd:,.2f} one-off; saves "
            f"{b.requests_per_interview_saved} request(s) per interview; each variant serves "
            f"~{b.interviews_per_variant:,.0f} interviews over the horizon"
        )
    text.append(
        f"\n   (peak hour: ~{levers.peak_interviews_per_hour:,.0f} interview starts, as if every time zone peaked "
        "together; answer quality of a bank or a deferred answer is not modelled)",
        style="dim",
    )
    return text


def run_levers_text(result: RunResult) -> Text | None:
    """A run's lever line (``None`` when it used neither deferred stages nor banks)."""
    s: LeverStats = result.levers
    if not (s.deferred_requests or s.deferred_late or s.deferred_not_made or s.bank_requests):
        return None
    text = Text("Ahead of the interviews: ", style="bold")
    if s.deferred_requests or s.deferred_late or s.deferred_not_made:
        text.append(
            f"{s.deferred_requests:,} deferred requests made ({s.deferred_not_made:,} refused at booking), "
            f"{s.deferred_ready:,} ready in time, {s.deferred_late:,} late → live call"
        )
        if s.batches:
            text.append(
                f"; {s.batches:,} batches, ${s.batch_cost_usd:,.2f} at the batch price, at most "
                f"{s.max_enqueued_tokens:,} input tokens enqueued"
            )
    if s.bank_requests:
        sep = "; " if s.deferred_requests or s.deferred_late else ""
        text.append(
            f"{sep}banks: {s.bank_requests:,} requests once (${s.bank_cost_usd:,.2f}, not in the run's cost), "
            f"{result.requests.bank:,} turns served, the busiest variant {s.bank_max_uses:,} times"
        )
    return text
