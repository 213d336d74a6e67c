"""A scenario: the demand, the interview script, the calendar and the plan that serves it.

Written in ``scenarios/<name>.yaml``. An interview is a script of *stages* (greeting, resume
analysis, question, answer evaluation, final scoring): ``opening`` stages once, then
``rounds`` rounds of the ``round`` stages (a stage marked ``skip_in_last_round`` is left out
of the last round), then ``closing`` stages. Each stage is one logical request; it is served
by a template (no API call), the response cache, an identical request already in flight, or
an API provider chosen by the router. The conversation context grows: a stage whose output
``adds_to_history`` and every candidate answer join the prompt of later stages that include
the history, so input tokens per request rise turn by turn.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from capacity.config.base import Model
from capacity.config.distributions import DistributionSpec
from capacity.config.gpus import GpuPool
from capacity.config.groups import DEFAULT_GROUP, Destination, ModelGroup, StrategyName, flatten
from capacity.config.levers import Bank, Deferral
from capacity.config.providers import Provider, TimeZoneName


class Demand(Model):
    """How many interviews are wanted, and over what horizon."""

    kind: Literal["total", "per_day"] = Field(
        description="total: `interviews` spread over `days`; per_day: `interviews` every day."
    )
    interviews: PositiveInt = Field(description="Interviews wanted (in all, or per day).")
    days: PositiveInt = Field(description="Calendar days the demand covers (the simulation horizon).")


class Candidates(Model):
    """Who is interviewed: candidates, each interviewed several times."""

    count: PositiveInt = Field(description="Distinct candidates.")
    interviews_each: PositiveInt = Field(description="Interviews per candidate.")
    spacing: Literal["spread", "same_day"] = Field(
        default="spread",
        description="spread (default): a candidate's interviews fall on different days across the horizon; "
        "same_day: back to back on one day.",
    )
    gap_between_interviews_s: NonNegativeFloat = Field(
        default=600.0, description="same_day: pause between one interview's end and the next's start, s."
    )
    roles: PositiveInt = Field(
        default=1,
        description="Distinct roles (jobs) candidates apply for; candidate i applies for role i mod roles. "
        "Only question banks (a stage's bank:) use it: one bank per role.",
    )


class TimeZoneShare(Model):
    """A share of the candidates living in one time zone."""

    timezone: TimeZoneName = Field(description="IANA time zone.")
    share: PositiveFloat = Field(description="Share of candidates, a fraction; a calendar's shares sum to 1.")


_US_TIMEZONES = (
    {"timezone": "America/New_York", "share": 0.5},
    {"timezone": "America/Chicago", "share": 0.2},
    {"timezone": "America/Los_Angeles", "share": 0.3},
)
"""The candidates' time zones of the shipped scenarios (US East, Central, Pacific)."""


SHARE_SUM_TOLERANCE = 0.01
"""How far the time-zone shares may sum from 1: hand-written thirds (0.33 each) sum to 0.99; the
workload normalises the shares, so such rounding does not move any figure."""


class Calendar(Model):
    """When interviews happen: business hours in the candidates' own time zones."""

    start_date: dt.date = Field(
        default=dt.date(2025, 10, 6),
        description="First day of the horizon (run time 0 is its 00:00 UTC); default 2025-10-06, a Monday.",
    )
    business_hours_start: dt.time = Field(default=dt.time(9, 0), description="Local start of interviewing.")
    business_hours_end: dt.time = Field(default=dt.time(18, 0), description="Local end of interviewing.")
    weekdays_only: bool = Field(default=True, description="No interviews on Saturdays and Sundays.")
    timezones: list[TimeZoneShare] = Field(
        default_factory=lambda: [TimeZoneShare.model_validate(z) for z in _US_TIMEZONES],
        min_length=1,
        description="Where candidates are; the shares sum to 1 (default: New York 0.5, Chicago 0.2, Los Angeles 0.3).",
    )
    hourly_profile: list[NonNegativeFloat] | None = Field(
        default=None,
        description="Relative start rate for each business hour (len = business hours); none: flat.",
    )

    @field_validator("timezones")
    @classmethod
    def _shares_sum_to_one(cls, zones: list[TimeZoneShare]) -> list[TimeZoneShare]:
        total = math.fsum(z.share for z in zones)
        if abs(total - 1.0) > SHARE_SUM_TOLERANCE + 1e-9:  # 1e-9: the sum's own rounding (0.33 × 3)
            raise ValueError(f"the shares sum to {total:g}; they must sum to 1 (each is a fraction of the candidates)")
        return zones

    @field_validator("business_hours_start", "business_hours_end")
    @classmethod
    def _local_time(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without a UTC offset (each zone of `timezones` applies it)")
        return value

    @model_validator(mode="after")
    def _profile_fits(self) -> Calendar:
        if self.business_hours_end <= self.business_hours_start:
            raise ValueError("business_hours_end must be after business_hours_start")
        if self.hourly_profile is not None:
            if len(self.hourly_profile) != self.business_hours:
                raise ValueError(
                    f"hourly_profile needs {self.business_hours} entries (one per business hour), "
                    f"got {len(self.hourly_profile)}"
                )
            if sum(self.hourly_profile) <= 0:
                raise ValueError("hourly_profile must not be all zero")
        return self

    @property
    def business_hours(self) -> int:
        """Whole business hours per day (09:00–18:00 is 9)."""
        start = self.business_hours_start.hour * 60 + self.business_hours_start.minute
        end = self.business_hours_end.hour * 60 + self.business_hours_end.minute
        return max(1, round((end - start) / 60))


class StageInput(Model):
    """What goes into a stage's prompt besides the system prompt."""

    resume: bool = Field(default=False, description="The full resume (resume_tokens).")
    history: bool = Field(default=True, description="The conversation so far.")
    extra_tokens: NonNegativeInt = Field(default=0, description="Stage instructions, tokens.")


class StageCache(Model):
    """Whether a stage's response can be reused, and what makes two requests identical."""

    key: Literal["none", "candidate", "catalogue"] = Field(
        default="none",
        description="none: never reused; candidate: same for all of a candidate's interviews "
        "(resume analysis); catalogue: one of `catalogue_size` prompts shared by everyone.",
    )
    catalogue_size: PositiveInt | None = Field(default=None, description="Distinct prompts (catalogue).")
    zipf_exponent: NonNegativeFloat = Field(
        default=0.0, description="Popularity skew over the catalogue (0: uniform)."
    )

    @model_validator(mode="after")
    def _catalogue_sized(self) -> StageCache:
        if self.key == "catalogue" and self.catalogue_size is None:
            raise ValueError("key: catalogue needs catalogue_size")
        return self


class Stage(Model):
    """One logical request of the interview script."""

    template: bool = Field(default=False, description="Served by a pre-written template: no API call.")
    input: StageInput = Field(default_factory=StageInput, description="Prompt contents.")
    output_tokens: DistributionSpec = Field(description="Tokens the model writes.")
    max_output_tokens: PositiveInt = Field(description="max_tokens sent; reserved against token quotas.")
    adds_to_history: bool = Field(default=False, description="Its output joins the context of later stages.")
    candidate_speaks_before: bool = Field(
        default=False, description="The candidate answers (think/speaking time) before this stage."
    )
    skip_in_last_round: bool = Field(default=False, description="Left out of the last round.")
    candidate_waits: bool = Field(
        default=True,
        description="The candidate is waiting for this answer, so its latency counts against the "
        "service level (false for work done before the candidate joins or after they leave).",
    )
    cache: StageCache = Field(default_factory=StageCache, description="Reuse of responses.")
    group: str = Field(
        default=DEFAULT_GROUP,
        description="The model group that answers it (`routing.groups`; default: `routing.destinations`).",
    )
    deferral: Deferral | None = Field(
        default=None, description="Made ahead, between the candidate's booking and the interview (none: live)."
    )
    bank: Bank | None = Field(
        default=None, description="Answered from a bank of variants per role written once (none: no bank)."
    )

    @model_validator(mode="after")
    def _ahead_of_time(self) -> Stage:
        lever = "deferral" if self.deferral is not None else "bank" if self.bank is not None else None
        if lever is None:
            return self
        if self.deferral is not None and self.bank is not None:
            raise ValueError("a stage is either deferred or banked, not both")
        if self.template:
            raise ValueError(f"a template stage sends no request: {lever} has nothing to do")
        if self.input.history or self.candidate_speaks_before:
            raise ValueError(
                f"{lever}: the request is made before the interview, so it cannot read the conversation "
                "(set input.history: false and candidate_speaks_before: false)"
            )
        return self


class Script(Model):
    """The interview: stages and their order, prompt sizes, the candidate's speaking time."""

    system_prompt_tokens: NonNegativeInt = Field(description="System prompt in every request, tokens.")
    resume_tokens: NonNegativeInt = Field(description="A resume, tokens.")
    answer_tokens: DistributionSpec = Field(description="A candidate's transcribed answer, tokens.")
    think_time_s: DistributionSpec = Field(
        description="Candidate's thinking and speaking before an answer, s."
    )
    stages: dict[str, Stage] = Field(min_length=1, description="The stages, by name.")
    opening: list[str] = Field(default_factory=list, description="Stages run once at the start.")
    rounds: NonNegativeInt = Field(default=0, description="How many question rounds.")
    round: list[str] = Field(default_factory=list, description="Stages of one round, in order.")
    closing: list[str] = Field(default_factory=list, description="Stages run once at the end.")

    @model_validator(mode="after")
    def _stages_known(self) -> Script:
        for part in ("opening", "round", "closing"):
            for name in getattr(self, part):
                if name not in self.stages:
                    raise ValueError(f"{part} names unknown stage {name!r}")
        if not self.sequence():
            raise ValueError("the script has no stages to run")
        return self

    def sequence(self) -> list[str]:
        """The stage names of one interview, in order."""
        turns = list(self.opening)
        for r in range(self.rounds):
            last = r == self.rounds - 1
            turns += [s for s in self.round if not (last and self.stages[s].skip_in_last_round)]
        return turns + list(self.closing)


SHIPPED_HOURLY_PROFILE = (0.8, 1.3, 1.5, 1.2, 0.7, 1.0, 1.1, 0.9, 0.5)
"""Relative interview starts per business hour, 09:00 … 17:00: a mid-morning peak (scenario A's)."""

DEFAULT_CALENDAR = Calendar(hourly_profile=list(SHIPPED_HOURLY_PROFILE))
"""The calendar of a scenario that writes none: weekdays, 09:00–18:00 local time in New York,
Chicago and Los Angeles (0.5/0.2/0.3), from Monday 2025-10-06, with the mid-morning-peaked
hourly profile :data:`SHIPPED_HOURLY_PROFILE` (the shipped scenario A's calendar)."""

DEFAULT_SCRIPT = Script.model_validate(
    {
        "system_prompt_tokens": 250,
        "resume_tokens": 1500,
        "answer_tokens": {"kind": "normal", "mean": 130, "sd": 40, "min": 20},
        "think_time_s": {"kind": "lognormal", "median": 120, "sigma": 0.5},
        "opening": ["greeting", "resume_analysis"],
        "rounds": 12,
        "round": ["question", "answer_evaluation"],
        "closing": ["final_scoring"],
        "stages": {
            "greeting": {
                "template": True,
                "input": {"history": False},
                "output_tokens": {"kind": "constant", "value": 40},
                "max_output_tokens": 80,
            },
            "resume_analysis": {
                "candidate_waits": False,
                "input": {"resume": True, "history": False, "extra_tokens": 100},
                "output_tokens": {"kind": "normal", "mean": 500, "sd": 100, "min": 100},
                "max_output_tokens": 800,
                "adds_to_history": True,
                "cache": {"key": "candidate"},
            },
            "question": {
                "input": {"history": True, "extra_tokens": 50},
                "output_tokens": {"kind": "normal", "mean": 60, "sd": 15, "min": 10},
                "max_output_tokens": 150,
                "adds_to_history": True,
            },
            "answer_evaluation": {
                "candidate_speaks_before": True,
                "skip_in_last_round": True,
                "input": {"history": True, "extra_tokens": 80},
                "output_tokens": {"kind": "normal", "mean": 120, "sd": 30, "min": 20},
                "max_output_tokens": 300,
            },
            "final_scoring": {
                "candidate_waits": False,
                "candidate_speaks_before": True,
                "input": {"history": True, "extra_tokens": 150},
                "output_tokens": {"kind": "normal", "mean": 600, "sd": 100, "min": 100},
                "max_output_tokens": 1000,
            },
        },
    }
)
"""The interview of a scenario that writes none (the shipped scenario A's): a greeting from a
template, a resume analysis (cached per candidate), 12 rounds of question + answer evaluation
(no evaluation in the last round) and a final scoring: 26 logical requests, 25 API calls. A
250-token system prompt, a 1,500-token resume, answers of 130 ± 40 tokens after about 2 minutes'
speaking (lognormal, median 120 s): about 27-minute interviews of about 52,000 tokens."""


class CacheConfig(Model):
    """The response cache in front of the router."""

    enabled: bool = Field(default=True, description="Look responses up before calling a provider.")
    ttl_s: PositiveFloat = Field(default=3600.0, description="Time to live of an entry, s.")
    max_entries: PositiveInt = Field(default=100_000, description="Capacity; least recently used evicted.")
    deduplicate_in_flight: bool = Field(
        default=True, description="Identical requests in flight wait for the first one."
    )


class Routing(Model):
    """How the router picks a destination and what it does when none can take a request."""

    strategy: StrategyName = Field(
        default="fill_first", description="Order in which destinations are tried (the group `default`)."
    )
    destinations: list[Destination] = Field(
        min_length=1, description="In priority order: the model group `default`, for stages that name no group."
    )
    groups: dict[str, ModelGroup] = Field(
        default_factory=dict,
        description="More model groups by name (e.g. fast, smart), each with its own destinations and strategy; "
        "a stage names its group with `group:`. The other routing rules apply to every group.",
    )
    on_exhausted: Literal["queue", "degrade", "fail"] = Field(
        default="queue",
        description="No quota anywhere: queue until one frees (up to the deadline), degrade to a "
        "template answer, or fail the turn.",
    )
    turn_deadline_s: PositiveFloat = Field(default=30.0, description="Longest a turn may wait, s.")
    on_deadline: Literal["degrade", "fail"] = Field(
        default="fail", description="What a turn past its deadline becomes."
    )
    max_retries: NonNegativeInt = Field(default=2, description="Retries of a failed request.")
    backoff_base_s: PositiveFloat = Field(default=0.5, description="First retry delay, s (doubles).")
    backoff_max_s: PositiveFloat = Field(default=8.0, description="Longest retry delay, s.")
    cooldown_s: NonNegativeFloat = Field(
        default=5.0, description="A destination that just failed gets no traffic for this long, s."
    )
    admission: Literal["open", "gated"] = Field(
        default="open",
        description="open: every interview starts on time; gated: a new interview is turned away while "
        "turns wait for quota or one failed within admission_cooldown_s, so quota is not spent on "
        "interviews that cannot finish.",
    )
    admission_cooldown_s: NonNegativeFloat = Field(
        default=300.0, description="gated: how long after a failed turn new interviews are turned away, s."
    )
    replicas: PositiveInt = Field(
        default=1,
        description="Router replicas behind a round-robin load balancer (each request goes to the next one).",
    )
    session_affinity: bool = Field(
        default=False,
        description="Keep an interview's turns on the destination whose prompt cache holds its conversation "
        "(tried first while it has quota and the cache's idle lifetime has not passed); otherwise the "
        "strategy picks. Without it a turn still hits a prompt cache when the strategy happens to send it "
        "where the previous turn went.",
    )
    ledger: Literal["shared", "local", "local_split"] = Field(
        default="shared",
        description="The replicas' quota counters: shared (one ledger, as with Redis: the provider never "
        "refuses what the routers admit); local (each replica counts only its own requests against the "
        "full limits, as LiteLLM's replicas do, so the provider refuses the excess with 429s); local_split "
        "(each replica holds 1/replicas of every quota: no 429s, but quota idles on quiet replicas).",
    )


    @field_validator("groups")
    @classmethod
    def _default_reserved(cls, groups: dict[str, ModelGroup]) -> dict[str, ModelGroup]:
        if DEFAULT_GROUP in groups:
            raise ValueError(f"{DEFAULT_GROUP!r} is the group of routing.destinations; give this group another name")
        return groups

    @property
    def all_destinations(self) -> list[Destination]:
        """Every destination of every group, each once (:func:`~capacity.config.groups.flatten`):
        ``destinations`` first, so a scenario without groups has exactly those."""
        return flatten(self.destinations, self.groups)[0]

    @property
    def group_members(self) -> dict[str, tuple[int, ...]]:
        """Each group's destinations (``default`` first) as positions in :attr:`all_destinations`."""
        return flatten(self.destinations, self.groups)[1]

    def group_destinations(self, name: str) -> list[Destination]:
        """The destinations of model group ``name`` (``default``: ``destinations``), in priority order."""
        every = self.all_destinations
        return [every[i] for i in self.group_members[name]]

    def group_strategy(self, name: str) -> StrategyName:
        """The routing strategy of group ``name``."""
        return self.strategy if name == DEFAULT_GROUP else self.groups[name].strategy


class Outage(Model):
    """A scheduled outage of one provider: every request fails during it."""

    provider: str = Field(description="Provider name.")
    start_s: NonNegativeFloat = Field(description="Start, seconds since run start.")
    duration_s: PositiveFloat = Field(description="Length, s.")


class ServiceLevel(Model):
    """What a live interview needs so it does not stall."""

    p95_turn_latency_s: PositiveFloat = Field(default=3.0, description="95th percentile turn latency, s.")
    ttft_s: PositiveFloat = Field(default=1.0, description="Time to first token target, s.")


class SeedRow(Model):
    """One row of the seed document's provider table, as claimed."""

    provider: str = Field(description="Name as the seed writes it.")
    maps_to: str | None = Field(default=None, description="Our provider name, if any.")
    models_named: str | None = Field(
        default=None,
        min_length=1,
        description="Where the seed names a model family (\"Google Gemini 2.0 Flash\"): only the provider's "
        "models whose name starts with this stand for the claim (gemini-, not the provider's Gemma models).",
    )
    quota: float | None = Field(default=None, ge=0, description="The claimed quota (per account).")
    unit: Literal["requests_per_day", "requests_per_hour", "tokens_per_day", "credit_usd", "unstated"] = (
        Field(description="What the claimed quota counts.")
    )
    accounts: PositiveInt = Field(default=1, description="Accounts the seed assumes.")
    seed_interviews_per_day: float = Field(ge=0, description="What the seed says this row carries.")


class SeedTable(Model):
    """A provider table from the seed document."""

    title: str = Field(description="Which table.")
    rows: list[SeedRow] = Field(min_length=1, description="Its rows.")
    seed_total_interviews_per_day: float = Field(ge=0, description="The seed's total.")


class SeedClaims(Model):
    """The seed document's figures, kept to be reproduced by its method and then corrected."""

    requests_per_interview: PositiveInt = Field(description="The seed's requests per interview.")
    tables: list[SeedTable] = Field(min_length=1, description="The seed's provider tables.")
    savings: dict[str, float] = Field(
        description="Savings the seed adds up, as fractions of requests avoided (cache 0.30 …)."
    )
    seed_optimized_interviews_per_day: float = Field(ge=0, description="The seed's 'ultra-optimized' total.")


class Scenario(Model):
    """Everything one run needs besides the provider catalogue."""

    name: str = Field(description="Short name (default: the file's stem).")
    description: str = Field(default="", description="What this scenario asks.")
    seed: int = Field(default=1, description="Random seed; same seed, same numbers.")
    demand: Demand = Field(description="How many interviews, over what horizon.")
    candidates: Candidates = Field(description="Who is interviewed, how many times each.")
    calendar: Calendar = Field(
        default=DEFAULT_CALENDAR,
        description="When interviews happen (default: the shipped calendar: weekdays 09:00–18:00 local time in "
        "New York, Chicago and Los Angeles from 2025-10-06, mid-morning peak; a section written in part "
        "keeps the rest).",
    )
    script: Script = Field(
        default=DEFAULT_SCRIPT,
        description="The interview's stages and token sizes (default: the shipped interview of scenario A, 26 "
        "requests; a script written in part keeps the rest; a script with its own stages takes nothing from it).",
    )
    cache: CacheConfig = Field(default_factory=CacheConfig, description="The response cache.")
    routing: Routing = Field(description="Where requests go, and what happens when no quota is left.")
    sla: ServiceLevel = Field(default_factory=ServiceLevel, description="The latency targets.")
    outages: list[Outage] = Field(default_factory=list, description="Scheduled provider outages.")
    savings_overlap: Literal["multiplicative", "additive"] = Field(
        default="multiplicative",
        description="How plan combines avoided-request fractions: independent (multiplicative) or disjoint.",
    )
    gpu_pools: list[GpuPool] = Field(
        default_factory=list,
        description="Self-hosted GPU inference pools (catalogue GPU × model × format, servers, costs) "
        "that destinations may point at.",
    )
    extra_providers: list[Provider] = Field(
        default_factory=list, description="Providers defined by this scenario only (e.g. the seed's claims)."
    )
    seed_claims: SeedClaims | None = Field(default=None, description="The seed document's own figures.")

    @model_validator(mode="after")
    def _candidates_match_demand(self) -> Scenario:
        wanted = self.candidates.count * self.candidates.interviews_each
        if wanted != self.demand.interviews:
            per = "in all" if self.demand.kind == "total" else "per day"
            raise ValueError(
                f"candidates.count × candidates.interviews_each = {wanted:,} but demand.interviews "
                f"{per} is {self.demand.interviews:,}; set both"
            )
        return self
