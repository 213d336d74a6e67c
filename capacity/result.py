"""The one result type of a run, simulated or live: :class:`RunResult`.

``sim`` and ``live`` both produce it; ``report`` consumes only it, and never knows whether
the numbers were simulated or measured. Every field is a plain number, list or mapping so
that it serialises to JSON as is. Times are seconds; money US dollars; a fraction is 0–1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

FrameKind = Literal["summary", "minutes", "destinations"]
"""Which table :meth:`RunResult.to_frame` returns."""


class Result(BaseModel):
    """Base of the result models: immutable, no unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantiles(Result):
    """Summary of a sample of durations, s (from a streaming histogram: ±1% bucket error)."""

    count: int = Field(description="Samples.")
    mean: float = Field(description="Mean, s.")
    p50: float = Field(description="Median, s.")
    p95: float = Field(description="95th percentile, s.")
    p99: float = Field(description="99th percentile, s.")
    max: float = Field(description="Largest sample, s.")


class Cdf(Result):
    """An empirical distribution function, downsampled for plots."""

    values_s: list[float] = Field(description="Durations, s, increasing.")
    fraction: list[float] = Field(description="Share of samples ≤ each duration.")


class HourOfDayLatency(Result):
    """Turn latency of the turns needed in one hour of the day (UTC run time)."""

    hour: int
    count: int
    p50_s: float
    p95_s: float


class InterviewCounts(Result):
    """Interviews by outcome; ``requested`` = the sum of the other four (conservation)."""

    requested: int
    completed: int
    degraded: int
    failed: int = Field(
        description="Abandoned after a turn failed, or turned away at the start (gated admission)."
    )
    unfinished: int
    turned_away: int = Field(default=0, description="Of the failed: never started (gated admission).")

    @property
    def carried(self) -> int:
        """Interviews carried: completed, or degraded (finished with a fallback template answer)."""
        return self.completed + self.degraded

    @property
    def carried_share(self) -> float:
        """Carried ÷ requested, 0–1; **1.0 when nothing was requested**.

        An empty run (a horizon without interviewing days, a demand scaled to nothing) missed
        no interview it was asked for, so it carried all of it: the same convention as "≥ 99 %
        carried" targets, which an empty run meets vacuously. Shares of failed or degraded
        interviews of an empty run are 0 (nothing failed), so the shares need not sum to 1.
        """
        return self.carried / self.requested if self.requested else 1.0


class RequestCounts(Result):
    """Logical requests (turns) by where they were answered."""

    logical: int = Field(description="Turns that needed an answer, templates included.")
    template: int
    cache: int
    deduplicated: int
    provider: int = Field(description="Answered by an API provider or GPU pool.")
    degraded: int = Field(description="Answered by a fallback template after the router gave up.")
    failed: int
    api_calls: int = Field(description="Calls sent to providers, retries included.")
    deferred: int = Field(
        default=0, description="Answered by a deferred stage's result made ahead and ready in time (no call then)."
    )
    bank: int = Field(default=0, description="Answered by a variant from a question bank (no call).")


class LeverStats(Result):
    """Deferred stages and question banks in a run (all zero when the scenario uses neither).

    Where the requests are counted: a deferred request sent off-peak is an ordinary call (in
    ``requests.api_calls``, its destination's requests, windows and cost); one sent to a batch API
    is only here (``deferred_requests``, ``batches``), and its price is in ``cost_usd``. A bank's
    requests are written once before the run: here only, with their one-off price
    (``bank_cost_usd``, not in ``cost_usd``).
    """

    deferred_requests: int = Field(default=0, description="Deferred requests made (batch or off-peak).")
    deferred_off_peak: int = Field(
        default=0, description="Of deferred_requests, off-peak calls answered (also in their destinations' counts)."
    )
    deferred_not_made: int = Field(default=0, description="Off-peak deferred requests refused at booking.")
    deferred_ready: int = Field(default=0, description="Deferred stages answered by a result ready in time.")
    deferred_late: int = Field(
        default=0, description="Deferred stages whose result was not ready: fell back to a live call."
    )
    deferred_early_p50_s: float = Field(
        default=0.0, description="Median time a ready result waited for its interview, s."
    )
    batches: int = Field(default=0, description="Batches submitted to batch APIs.")
    batch_cost_usd: float = Field(default=0.0, description="Price of the batch requests, $ (included in cost_usd).")
    max_enqueued_requests: int = Field(default=0, description="Most batch requests enqueued at once.")
    max_enqueued_tokens: int = Field(default=0, description="Most batch input tokens enqueued at once.")
    bank_requests: int = Field(default=0, description="Requests that wrote the banks, once, before the run.")
    bank_cost_usd: float = Field(default=0.0, description="One-off price of writing the banks, $ (not in cost_usd).")
    bank_max_uses: int = Field(default=0, description="Most interviews one bank variant served.")


class CacheStats(Result):
    """Response cache and in-flight de-duplication."""

    lookups: int = Field(description="Cacheable turns looked up.")
    hits: int
    hit_rate: float = Field(description="hits ÷ lookups (0 when nothing was cacheable).")
    deduplicated: int = Field(description="Turns served by an identical request already in flight.")
    template_rate: float = Field(description="Turns served by templates ÷ all turns.")
    avoided_rate: float = Field(description="Turns that needed no API call ÷ all turns.")


class PromptCacheStats(Result):
    """Provider prompt caching over the run: input tokens read from the providers' prompt caches
    (the conversation's earlier prompt, re-sent each turn) and what they saved."""

    cached_tokens_in: int = Field(default=0, description="Input tokens served from a prompt cache.")
    cached_share: float = Field(default=0.0, description="cached_tokens_in ÷ all input tokens answered (0–1).")
    saved_usd: float = Field(
        default=0.0,
        description="List price saved against no prompt caching, $ (cache writes priced above input count "
        "against it; free tiers save no money, only quota).",
    )


class WindowUse(Result):
    """Use of one quota window of one destination over the run.

    How much a window binds is the time it was *full* — it refused a request it could not admit
    before a later instant — not a count of refusals (a waiting turn is refused again at every
    check, so such counts run to millions and mean nothing)."""

    name: str = Field(description="rpm, rpd, tpm, tpd, tokens_per_hour, neurons_per_day, credit_usd, …")
    limit: float = Field(description="The limit, per account, in the window's unit.")
    peak_fraction: float = Field(description="Highest use ÷ limit seen at any admission.")
    first_blocked_s: float | None = Field(description="Run time at which it first refused a request, s.")
    full_s: float = Field(
        description="Time the window was full, s: from each refusal until the window could admit that "
        "request again (or admitted another), stretches merged; the mean over the accounts that have it."
    )
    full_share: float = Field(description="full_s ÷ the run's horizon, 0–1.")
    hourly_peak_fraction: list[float] = Field(
        description="Peak use ÷ limit at an admission in each hour of the run (0: nothing admitted)."
    )
    hourly_full_share: list[float] = Field(description="Share of each hour of the run the window was full, 0–1.")


class DestinationResult(Result):
    """What one destination (provider model, or GPU pool) did."""

    name: str = Field(description="provider/model or gpu pool name.")
    kind: Literal["api", "gpu"]
    accounts: int
    requests: int = Field(description="Requests admitted and sent.")
    completed: int
    router_refusals: int | None = Field(
        description="Times the router asked this destination for room and found none: checks, not lost "
        "requests (a turn waiting for quota is refused again at every check); null where not counted (the "
        "fluid mode, which does not check request by request)."
    )
    errors: dict[str, int] = Field(description="Failed calls by kind (429, 5xx, timeout).")
    error_reasons: dict[str, str] = Field(
        default_factory=dict,
        description="The first failure of each kind, as the endpoint said it: HTTP status and the provider's "
        "message, cut to 300 characters, never a key (live runs; a simulation's failures have none).",
    )
    tokens_in: int
    tokens_out: int
    cached_tokens_in: int = Field(default=0, description="Input tokens of tokens_in read from the prompt cache.")
    prompt_cache_saved_usd: float = Field(
        default=0.0, description="List price prompt caching saved here against none, $."
    )
    cost_usd: float
    windows: list[WindowUse]
    hourly_requests: list[int] = Field(description="Requests sent in each hour of the run.")
    binding_window: str | None = Field(
        description="What binds: the window full the longest share of the run (None: none was ever full)."
    )
    binding_from_s: float | None = Field(
        default=None, description="Run time at which the binding window first refused a request, s."
    )
    over_input_cap_from_s: float | None = Field(
        default=None,
        description="Run time at which a request first exceeded the destination's per-request input cap "
        "(max_input_tokens_per_request) and so could not be sent there, s (None: never).",
    )


class TimeSeries(Result):
    """Per simulated minute (bounded by the horizon, not by the number of requests)."""

    minute_s: float = 60.0
    interview_starts: list[int]
    in_flight_interviews: list[int] = Field(description="Interviews running at the end of each minute.")
    api_calls: list[int]
    queued_turns: list[int] = Field(description="Turns waiting for quota at the end of each minute.")
    failed_turns: list[int]


class RunResult(Result):
    """Everything a run measured; the input of every report."""

    scenario: str
    mode: Literal["simulated", "live"]
    seed: int
    days: int = Field(description="Days of demand in the run.")
    horizon_s: float = Field(description="Run time simulated or measured, s.")
    run_start_utc: str = Field(description="Wall-clock instant of run time 0, ISO 8601.")
    need_interviews_per_day: float = Field(description="Demand per calendar day.")
    carried_interviews_per_day: float = Field(
        description="Interviews completed (or degraded) per calendar day of demand."
    )
    tokens_per_interview: float = Field(description="Mean API tokens (in + out) per completed interview.")
    interviews: InterviewCounts
    requests: RequestCounts
    cache: CacheStats
    prompt_cache: PromptCacheStats = Field(
        default_factory=PromptCacheStats, description="Provider prompt caching (cached input tokens, money saved)."
    )
    levers: LeverStats = Field(
        default_factory=LeverStats, description="Deferred stages and question banks (zero when none)."
    )
    turn_latency_s: Quantiles = Field(
        description="Time from a turn's need to its answer, over turns the candidate waits for that "
        "were answered by a model (provider, cache or de-duplication; templates and stages with "
        "candidate_waits false excluded)."
    )
    turn_latency_cdf: Cdf
    turn_latency_by_hour: list[HourOfDayLatency] = Field(description="By hour of day, UTC, over all days.")
    turn_latency_by_run_hour: list[HourOfDayLatency] = Field(
        description="By hour of the run (hour = hours since run start), from coarser histograms (±6%)."
    )
    queue_wait_s: Quantiles = Field(description="Time turns waited for quota or a slot.")
    ttft_s: Quantiles = Field(description="Time to first token of provider answers.")
    interview_duration_s: Quantiles
    sla_p95_turn_latency_s: float
    sla_ttft_s: float
    cost_usd: float = Field(description="API and GPU cost of the run.")
    cost_per_interview_usd: float
    destinations: list[DestinationResult]
    errors: dict[str, int] = Field(description="Failed calls by kind, all destinations.")
    timeseries: TimeSeries
    backlog_interviews: int = Field(
        description="Interviews not carried by the horizon (failed + unfinished)."
    )
    wasted_api_calls: int = Field(
        description="Answered API calls spent on interviews that later failed (quota that carried nothing)."
    )
    wall_time_s: float = Field(default=0.0, description="Wall time the run took (not part of the model).")
    fidelity: Literal["exact", "fluid"] = Field(
        default="exact",
        description="exact: every request simulated; fluid: per-minute aggregated flows (capacity.sim.fluid), "
        "whose latency, TTFT and queue-wait quantiles are empty (count 0): not modelled.",
    )

    @property
    def carried(self) -> int:
        """Interviews carried by the horizon: completed or degraded (:attr:`InterviewCounts.carried`)."""
        return self.interviews.carried

    @property
    def carried_share(self) -> float:
        """Carried ÷ requested, 0–1; 1.0 for an empty run (:attr:`InterviewCounts.carried_share`)."""
        return self.interviews.carried_share

    def binding_windows(self) -> list[tuple[DestinationResult, WindowUse]]:
        """Each destination's binding window — the one full the longest share of the run — that was
        full at all, the destinations that carried the most requests first (what limits the bulk of the
        traffic, not a small credit that ran out); ties by name."""
        out = []
        for d in sorted(self.destinations, key=lambda d: (-d.requests, d.name)):
            w = next((w for w in d.windows if w.name == d.binding_window), None)
            if w is not None and w.full_s > 0:
                out.append((d, w))
        return out

    def headline(self) -> dict[str, float]:
        """The numbers compared across replications and guarded by ``capacity check``; turn latency
        NaN where the run did not model it (the fluid mode)."""
        fluid = self.fidelity == "fluid"
        return {
            "carried_interviews_per_day": self.carried_interviews_per_day,
            "completed": float(self.interviews.completed),
            "failed": float(self.interviews.failed),
            "degraded": float(self.interviews.degraded),
            "unfinished": float(self.interviews.unfinished),
            "turn_latency_p50_s": math.nan if fluid else self.turn_latency_s.p50,
            "turn_latency_p95_s": math.nan if fluid else self.turn_latency_s.p95,
            "cache_hit_rate": self.cache.hit_rate,
            "cost_usd": self.cost_usd,
        }

    def to_frame(self, kind: FrameKind = "summary") -> pd.DataFrame:
        """The run as a pandas DataFrame (pandas is imported here, on first use).

        * ``"summary"`` (default): one row, indexed by (scenario, seed), with the headline
          numbers of :meth:`headline` and the interview counts; concatenate several runs'
          rows (``pd.concat([r.to_frame() for r in runs])``) for a table of replications.
        * ``"minutes"``: one row per simulated minute, indexed by its UTC start
          (``run_start_utc`` + minutes): interview starts, interviews in flight, API calls,
          turns queued for quota and turns failed in that minute.
        * ``"destinations"``: one row per destination (index: its name): kind, accounts,
          requests sent, ``refused`` (times its quota was found full), errors, tokens in and
          out, cost in US dollars and the binding window.

        Raises ValueError for any other ``kind``.
        """
        import pandas as pd

        if kind == "summary":
            row = {
                **self.headline(),
                "need_interviews_per_day": self.need_interviews_per_day,
                "requested": self.interviews.requested,
                "carried": self.carried,
                "turned_away": self.interviews.turned_away,
                "wall_time_s": self.wall_time_s,
            }
            key = pd.MultiIndex.from_tuples([(self.scenario, self.seed)], names=["scenario", "seed"])
            return pd.DataFrame([row], index=key)
        if kind == "minutes":
            ts = self.timeseries
            start = pd.Timestamp(self.run_start_utc)
            start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
            minutes = pd.date_range(start, periods=len(ts.api_calls), freq=pd.Timedelta(seconds=ts.minute_s))
            return pd.DataFrame(
                {
                    "interview_starts": ts.interview_starts,
                    "in_flight_interviews": ts.in_flight_interviews,
                    "api_calls": ts.api_calls,
                    "queued_turns": ts.queued_turns,
                    "failed_turns": ts.failed_turns,
                },
                index=pd.DatetimeIndex(minutes, name="minute_utc"),
            )
        if kind == "destinations":
            rows = [
                {
                    "destination": d.name,
                    "kind": d.kind,
                    "accounts": d.accounts,
                    "requests": d.requests,
                    "completed": d.completed,
                    "router_refusals": d.router_refusals,
                    "429s": d.errors.get("429", 0),
                    "errors": sum(d.errors.values()),
                    "tokens_in": d.tokens_in,
                    "tokens_out": d.tokens_out,
                    "cost_usd": d.cost_usd,
                    "binding_window": d.binding_window,
                    "binding_from_s": d.binding_from_s,
                }
                for d in self.destinations
            ]
            return pd.DataFrame(rows).set_index("destination")
        raise ValueError(f"unknown frame {kind!r}: expected summary, minutes or destinations")
