"""Provider quotas, prices and latency models, as written in ``providers.yaml``.

A *provider* (Groq, Cerebras, …) offers *models*; the plan uses ``accounts`` independent
quota holders of it (keys, accounts or projects, whichever the provider's ``scope`` counts
limits per). Every limit is per account and optional: an absent limit means the provider
states none, never that we guessed one. Each entry carries ``source`` and ``as_of`` so a
reader sees where a figure came from and how old it is.

Windows: per-minute and per-hour limits are rolling unless the provider documents a fixed
reset (a rolling window is safe under every alignment); per-day limits reset as documented
(Gemini at midnight US Pacific, Cloudflare at 00:00 UTC) or roll; monthly limits reset on
the 1st. Cerebras-style limits refill continuously (a token bucket).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from capacity.config.base import Model
from capacity.config.distributions import DistributionSpec
from capacity.config.levers import BatchApi
from capacity.units import LIMIT_KINDS, LimitKind, Measure, Period


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA time zone name such as ``America/Los_Angeles``, checked against the tz database."""


class _Semantics(Model):
    """What every refill rule carries: the evidence it rests on, and when that was read."""

    evidence: str | None = Field(
        default=None,
        description="Why this rule: the provider's docs, or observed headers (a URL or a document); "
        "absent only where the rule is the safe default for want of any.",
    )
    as_of: dt.date | None = Field(default=None, description="Date the evidence was read.")


class RollingReset(_Semantics):
    """At most the limit in *any* window of the period's length ending now."""

    kind: Literal["rolling"]


class FixedReset(_Semantics):
    """Usage returns to zero at a fixed local time each period (daily windows)."""

    kind: Literal["fixed"]
    at: dt.time = Field(default=dt.time(0, 0), description="Local reset time, HH:MM.")
    timezone: TimeZoneName = Field(default="UTC", description="IANA time zone of the reset time.")


class CalendarMonthReset(_Semantics):
    """Usage returns to zero at 00:00 on the 1st of each month (monthly windows)."""

    kind: Literal["calendar_month"]
    timezone: TimeZoneName = Field(default="UTC", description="IANA time zone of the 1st's midnight.")


class TokenBucketReset(_Semantics):
    """The allowance refills continuously at limit ÷ period (Cerebras, Anthropic; Groq's headers)."""

    kind: Literal["token_bucket"]


class UnknownReset(_Semantics):
    """Nothing is known of how the limit refills: counted as rolling, the safe default — at most
    the limit in any window of the period's length holds under every alignment the provider may use."""

    kind: Literal["unknown"]


ResetRule = RollingReset | FixedReset | TokenBucketReset | CalendarMonthReset | UnknownReset
"""Any refill rule."""

ShortReset = Annotated[
    RollingReset | FixedReset | TokenBucketReset | UnknownReset, Field(discriminator="kind")
]
MonthReset = Annotated[
    CalendarMonthReset | RollingReset | TokenBucketReset | UnknownReset, Field(discriminator="kind")
]

SEMANTICS = ("rolling", "fixed", "token_bucket", "calendar_month", "unknown")
"""The refill semantics a limit may state (``resets: {<period>: {kind: …}}``)."""


class Resets(Model):
    """How each period's windows refill; where nothing is stated, ``unknown`` (counted as rolling)."""

    second: ShortReset = Field(default=UnknownReset(kind="unknown"), description="Per-second windows.")
    minute: ShortReset = Field(default=UnknownReset(kind="unknown"), description="Per-minute windows.")
    hour: ShortReset = Field(default=UnknownReset(kind="unknown"), description="Per-hour windows.")
    day: ShortReset = Field(default=UnknownReset(kind="unknown"), description="Per-day windows.")
    month: MonthReset = Field(
        default=UnknownReset(kind="unknown"), description="Per-month windows and monthly credit."
    )

    def rule(self, period: Period) -> ResetRule:
        """The refill rule of the windows of ``period``.

        Raises ValueError for :attr:`Period.ONCE`: a one-time allowance never resets.
        """
        if period is Period.ONCE:
            raise ValueError("a one-time allowance has no reset rule")
        rule: ResetRule = getattr(self, period.value)
        return rule


class StatedLimit(NamedTuple):
    """One limit a model states: its kind, its value (in the kind's measure) and its period."""

    kind: LimitKind
    value: float
    period: Period | None
    """The kind's period, except that credit renewed monthly counts per month."""


class Limits(Model):
    """Per-account limits of one model; ``None`` (absent) means the source states none."""

    rps: NonNegativeInt | None = Field(
        default=None, description="Requests per second (Mistral's free tier: 1); a window of its own, not 60 × RPM."
    )
    rpm: NonNegativeInt | None = Field(default=None, description="Requests per minute.")
    rph: NonNegativeInt | None = Field(default=None, description="Requests per hour.")
    rpd: NonNegativeInt | None = Field(default=None, description="Requests per day.")
    requests_per_month: NonNegativeInt | None = Field(default=None, description="Requests per month.")
    tpm: NonNegativeInt | None = Field(default=None, description="Tokens (in + out) per minute.")
    input_tpm: NonNegativeInt | None = Field(
        default=None, description="Input (prompt) tokens per minute (Gemini's TPM, Anthropic's ITPM)."
    )
    output_tpm: NonNegativeInt | None = Field(
        default=None, description="Output tokens per minute, reserved as max_tokens (Anthropic's OTPM)."
    )
    tokens_per_hour: NonNegativeInt | None = Field(default=None, description="Tokens per hour.")
    tpd: NonNegativeInt | None = Field(default=None, description="Tokens per day.")
    input_tpd: NonNegativeInt | None = Field(default=None, description="Input (prompt) tokens per day.")
    tokens_per_month: NonNegativeInt | None = Field(default=None, description="Tokens per month.")
    neurons_per_day: NonNegativeFloat | None = Field(
        default=None, description="Cloudflare-style free neurons per day (see NeuronRates)."
    )
    credit_usd: NonNegativeFloat | None = Field(
        default=None, description="Free credit in dollars, spent at the model's prices."
    )
    credit_renews: Literal["monthly", "never"] = Field(
        default="never", description="Whether the credit is granted again each month."
    )
    concurrent_requests: PositiveInt | None = Field(default=None, description="Requests in flight at once.")
    max_input_tokens_per_request: PositiveInt | None = Field(
        default=None, description="Input cap per request."
    )
    max_output_tokens_per_request: PositiveInt | None = Field(
        default=None, description="Output cap per request."
    )
    charge_max_output_up_front: bool = Field(
        default=False,
        description="Token windows are charged input + max output at admission and never refunded (Cerebras).",
    )

    def stated(self) -> list[StatedLimit]:
        """The limits stated (absent ones left out), in the order of :data:`~capacity.units.LIMIT_KINDS`."""
        out = []
        for kind in LIMIT_KINDS:
            value = getattr(self, kind.field)
            if value is None:
                continue
            period = kind.period
            if kind.measure is Measure.USD and self.credit_renews == "monthly":
                period = Period.MONTH
            out.append(StatedLimit(kind, float(value), period))
        return out


class LimitChange(Model):
    """New values of some of a model's limits, in effect from a date (a free tier cut, a raise).

    Changes take effect at 00:00 UTC on ``effective_from`` (and, with ``effective_until``, revert
    to the values before them at 00:00 UTC that day). A change may only give new values to limits
    the model already states: a window cannot appear or vanish in the middle of a run.
    """

    effective_from: dt.date = Field(description="First day (UTC) the new values hold.")
    effective_until: dt.date | None = Field(
        default=None, description="Day (UTC) the new values stop holding; absent: until further notice."
    )
    limits: dict[str, NonNegativeFloat] = Field(
        min_length=1, description="The new values, by limit field (rpd: 20), in the limit's measure."
    )
    source: str = Field(min_length=1, description="Where the change is documented.")

    @model_validator(mode="after")
    def _known_fields(self) -> LimitChange:
        windows = [k.field for k in LIMIT_KINDS if k.period is not None]
        unknown = sorted(set(self.limits) - set(windows))
        if unknown:
            raise ValueError(
                f"unknown or undated limit kind {', '.join(unknown)} (a change can date: {', '.join(windows)})"
            )
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must come after effective_from")
        return self


class NeuronRates(Model):
    """Cloudflare Workers AI's unit of free allowance: neurons per million tokens."""

    per_mtok_in: NonNegativeFloat = Field(description="Neurons per 1M input tokens.")
    per_mtok_out: NonNegativeFloat = Field(description="Neurons per 1M output tokens.")


class Prices(Model):
    """List prices in US dollars per million tokens."""

    usd_per_mtok_in: NonNegativeFloat = Field(description="$ per 1M input tokens.")
    usd_per_mtok_out: NonNegativeFloat = Field(description="$ per 1M output tokens.")


class LatencyModel(Model):
    """A request's service time: time to first token + output tokens ÷ output tokens/s."""

    ttft_s: DistributionSpec = Field(description="Time to first token, seconds.")
    output_tokens_per_s: DistributionSpec = Field(description="Decode speed seen by one request, tokens/s.")
    source: str = Field(default="assumption", description="Where these figures come from.")


UNKNOWN_MIN_PREFIX_TOKENS = 4096
"""The minimum cached prefix counted where a provider states none: the largest any source states
(Anthropic's Opus 4.5 and Haiku 4.5, Gemini 2.5 Pro; docs/facts/prompt-caching.md), the safe reading."""
UNKNOWN_GRANULARITY_TOKENS = 128
"""The step of cache hits counted where a provider states none: the coarsest any source states (OpenAI, Cerebras)."""


class PromptCache(Model):
    """A provider's prompt (prefix) cache: the KV of a prompt prefix it has just processed, kept
    for a while, so a request that starts with that prefix pays less for it, may not count it
    against token limits, and reaches its first token sooner.

    Each turn of an interview re-sends the whole conversation, so after the first turn nearly all
    of a prompt is a prefix the provider saw a minute or two earlier. Figures and their sources:
    ``docs/facts/prompt-caching.md`` (collected Nov 2026). A value the sources do not give is
    left at its safe default (no saving, counted against limits), never guessed.
    """

    min_prefix_tokens: NonNegativeInt | Literal["unknown"] = Field(
        default="unknown",
        description="Shortest prefix the provider caches, tokens (OpenAI 1,024; Anthropic 1,024–4,096 by model); "
        "a shorter cached part counts as none. unknown: counted as 4,096, the largest minimum any source states.",
    )
    granularity_tokens: PositiveInt | Literal["unknown"] = Field(
        default="unknown",
        description="Cache hits come in multiples of this many tokens (OpenAI and Cerebras: 128); the cached "
        "part is rounded down to it. unknown: counted as 128, the coarsest any source states.",
    )
    retention_s: PositiveFloat | Literal["unknown"] = Field(
        description="Idle lifetime of a cached prefix, s (time to live, refreshed by every hit): Anthropic's "
        "default 300, Groq 7,200. A turn that comes later than this after the conversation's previous "
        "request misses. unknown: no hit is counted (nothing says the prefix survives the think time)."
    )
    read_price_factor: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Price of a cached input token ÷ the input price (OpenAI gpt-4o 0.5, Anthropic 0.1, "
        "DeepSeek 0.1); 1 where the price is not found.",
    )
    write_price_factor: float = Field(
        default=1.0,
        ge=1,
        description="Price of an input token written to the cache ÷ the input price (Anthropic 1.25 for a "
        "5-minute cache); charged on the uncached part of a prompt long enough to cache.",
    )
    counts_toward_limits: bool | Literal["unknown"] = Field(
        default="unknown",
        description="Whether cached input tokens count against the model's token limits (TPM, TPD, input "
        "TPM …): false for Groq and Anthropic's ITPM; unknown counts them, the safe reading.",
    )
    ttft_saving: float | Literal["unknown"] = Field(
        default="unknown",
        description="Share of the time to first token saved per cached share of the prompt (0–1): a request "
        "with a cached share c of its prompt sees TTFT × (1 − ttft_saving × c); unknown saves nothing.",
    )
    source: str = Field(min_length=1, description="Where these figures come from (URL or document).")
    as_of: dt.date = Field(description="Date the source was read.")

    @model_validator(mode="after")
    def _saving_is_a_share(self) -> PromptCache:
        if isinstance(self.ttft_saving, float) and not 0 <= self.ttft_saving <= 1:
            raise ValueError("ttft_saving must be between 0 and 1 (a share of the time to first token)")
        return self

    @property
    def minimum(self) -> int:
        """The shortest cached prefix counted, tokens (``unknown``: 4,096)."""
        return UNKNOWN_MIN_PREFIX_TOKENS if self.min_prefix_tokens == "unknown" else self.min_prefix_tokens

    @property
    def granularity(self) -> int:
        """The size of a cache hit's steps, tokens (``unknown``: 128)."""
        return UNKNOWN_GRANULARITY_TOKENS if self.granularity_tokens == "unknown" else self.granularity_tokens

    @property
    def retention(self) -> float:
        """The idle lifetime of a cached prefix, s (``unknown``: 0, so no hit is counted)."""
        return 0.0 if self.retention_s == "unknown" else float(self.retention_s)

    @property
    def counts(self) -> bool:
        """Whether cached tokens are charged to token windows (``unknown`` counts: the safe default)."""
        return self.counts_toward_limits is not False

    @property
    def ttft_share(self) -> float:
        """The TTFT saving as a number (``unknown``: 0)."""
        return 0.0 if self.ttft_saving == "unknown" else float(self.ttft_saving)


class ModelSpec(Model):
    """One model offered by a provider, with its per-account limits."""

    name: str = Field(min_length=1, description="The provider's model id.")
    limits: Limits = Field(default_factory=Limits, description="Per-account limits.")
    resets: Resets = Field(default_factory=Resets, description="Window reset rules.")
    prices: Prices | None = Field(default=None, description="Paid list price (used for cost and credit).")
    neurons: NeuronRates | None = Field(default=None, description="Neuron rates when limits use neurons.")
    latency: LatencyModel = Field(description="Service-time model.")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests that fail (5xx).")
    timeout_s: float = Field(default=60.0, gt=0, description="Client timeout per request, seconds.")
    withdrawn_on: dt.date | None = Field(
        default=None,
        description="Date this offer ended (a free tier withdrawn, a model retired); a plan whose "
        "calendar starts on or after it cannot count on it.",
    )

    prompt_cache: PromptCache | None = Field(
        default=None,
        description="This model's prompt cache, where it differs from the provider's (absent: the provider's).",
    )
    limit_changes: list[LimitChange] = Field(
        default_factory=list,
        description="Dated new values of some limits, in date order; each with its source.",
    )
    batch: BatchApi | None = Field(
        default=None,
        description="This model's batch API, where it differs from the provider's (absent: the provider's).",
    )

    def limits_on(self, day: dt.date) -> Limits:
        """The limits in effect on ``day`` (UTC): ``limits`` with every change in effect then applied."""
        update: dict[str, float | int] = {}
        for change in self.limit_changes:
            if change.effective_from <= day and (change.effective_until is None or day < change.effective_until):
                for name, value in change.limits.items():
                    update[name] = int(value) if isinstance(getattr(self.limits, name), int) else value
        return self.limits.model_copy(update=update) if update else self.limits

    def change_days(self) -> list[dt.date]:
        """Days (UTC) on which some limit's value changes, in order."""
        days = {c.effective_from for c in self.limit_changes}
        days |= {c.effective_until for c in self.limit_changes if c.effective_until is not None}
        return sorted(days)

    @model_validator(mode="after")
    def _units_present(self) -> ModelSpec:
        if self.limits.neurons_per_day is not None and self.neurons is None:
            raise ValueError("neurons_per_day needs neuron rates (neurons: per_mtok_in/per_mtok_out)")
        if self.limits.credit_usd is not None and self.prices is None:
            raise ValueError("credit_usd needs prices to spend it at")
        previous = None
        for change in self.limit_changes:
            absent = sorted(name for name in change.limits if getattr(self.limits, name) is None)
            if absent:
                raise ValueError(
                    f"limit_changes on {change.effective_from} sets {', '.join(absent)}, which limits does not state"
                )
            if previous is not None and change.effective_from < previous:
                raise ValueError("limit_changes must be in date order")
            previous = change.effective_from
        return self


class Provider(Model):
    """An LLM API provider and the accounts of it that a plan may use."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Short id used in scenarios.")
    label: str = Field(description="Human name.")
    api_style: Literal["openai"] = Field(default="openai", description="Wire protocol.")
    base_url: str = Field(description="OpenAI-compatible base URL.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the key (the key itself never goes in YAML)."
    )
    billing: Literal["free", "paid"] = Field(
        description="free: within-quota use costs nothing; paid: list price."
    )
    accounts: PositiveInt = Field(default=1, description="Independent quota holders the plan uses.")
    scope: Literal["key", "account", "project", "organization"] = Field(
        description="What the provider counts limits per; more keys on one scope add nothing."
    )
    models: list[ModelSpec] = Field(min_length=1, description="Models offered.")
    source: str = Field(min_length=1, description="Where the limits come from (URL or document).")
    as_of: dt.date = Field(description="Date the source was read.")
    terms: str | None = Field(
        default=None, description="Provider terms that bear on the plan (multiple accounts …)."
    )
    notes: str | None = Field(default=None, description="Anything else a planner should know.")
    account_limits: Limits | None = Field(
        default=None,
        description="Allowances of the whole account (its scope), shared by every model of it: Cloudflare's "
        "neurons a day, OpenRouter's :free requests a day, credit spent across models. Each model charges "
        "them at its own rates; a model's own limits apply as well.",
    )
    account_resets: Resets = Field(default_factory=Resets, description="How the account-wide allowances refill.")
    prompt_cache: PromptCache | None = Field(
        default=None,
        description="The provider's prompt (prefix) cache, for every model of it that states none of its own "
        "(absent: no prompt cache is modelled).",
    )
    batch: BatchApi | None = Field(
        default=None,
        description="The provider's asynchronous batch API, for every model that states none of its own (absent: "
        "none found; docs/facts/batch-and-tiers.md).",
    )

    @model_validator(mode="after")
    def _unique_models(self) -> Provider:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model listed twice: {', '.join(dupes)}")
        shared = self.account_limits
        if shared is not None:
            not_pooled = [s.kind.field for s in shared.stated() if s.period is None]
            if not_pooled or shared.charge_max_output_up_front:
                raise ValueError(
                    f"account_limits: {', '.join(not_pooled) or 'charge_max_output_up_front'} is a per-model "
                    "limit, not an allowance an account shares"
                )
            if shared.neurons_per_day is not None and (no := [m.name for m in self.models if m.neurons is None]):
                raise ValueError(f"account_limits.neurons_per_day needs neuron rates on every model: {', '.join(no)}")
            if shared.credit_usd is not None and (no := [m.name for m in self.models if m.prices is None]):
                raise ValueError(f"account_limits.credit_usd needs prices on every model: {', '.join(no)}")
        return self

    def model(self, name: str) -> ModelSpec | None:
        """The model called ``name``, or None."""
        return next((m for m in self.models if m.name == name), None)

    def prompt_cache_of(self, model: ModelSpec) -> PromptCache | None:
        """The prompt cache ``model`` has: its own, else the provider's (None: none modelled)."""
        return model.prompt_cache if model.prompt_cache is not None else self.prompt_cache

    def batch_of(self, model: ModelSpec) -> BatchApi | None:
        """The batch API ``model`` has: its own block, else the provider's (None: none stated)."""
        return model.batch if model.batch is not None else self.batch

    def alone(self, model: ModelSpec) -> ModelSpec:
        """``model`` as if it were the account's only model: its own limits, and the account-wide
        allowances (the tighter of the two where both state one) all to itself."""
        shared = self.account_limits
        if shared is None:
            return model
        update: dict[str, float | int | str] = {}
        for limit in shared.stated():
            own = getattr(model.limits, limit.kind.field)
            value = getattr(shared, limit.kind.field)
            update[limit.kind.field] = value if own is None else min(own, value)
        if shared.credit_usd is not None:
            update["credit_renews"] = shared.credit_renews
        return model.model_copy(update={"limits": model.limits.model_copy(update=update)})


class ProvidersFile(Model):
    """The top level of ``providers.yaml``."""

    providers: list[Provider] = Field(min_length=1, description="Every provider a scenario may use.")

    @model_validator(mode="after")
    def _unique_names(self) -> ProvidersFile:
        names = [p.name for p in self.providers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"provider listed twice: {', '.join(dupes)}")
        return self
