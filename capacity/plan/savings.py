"""Requests an interview does *not* send to a provider: templates, cache hits, de-duplication.

Every logical request of the script (the seed's 26) is either answered by a template, by
the response cache, by an identical request already in flight, or by a provider. Savings
are measured in sequence, each as a fraction of the requests still left: templates of all
logical requests, cache hits of the requests templates left, de-duplication of the cache
misses. Fractions measured this way compound exactly, so

    API requests per interview = logical requests × Π (1 − sᵢ),

and a plan carries ``1 / Π (1 − sᵢ)`` times the interviews its quotas carry without them —
not ``1 + Σ sᵢ``, the seed's reading.

The cache hit rate of a stage keyed by candidate (the resume analysis, the same for all of
a candidate's interviews) depends on how far apart those interviews are: a miss at ``t0``
stores the answer until ``t0 + ttl``, so it serves the interviews that start before then.
With interviews ``spacing`` seconds apart, one miss serves ``1 + floor(ttl / spacing)``
interviews, and a candidate of ``k`` interviews misses ``ceil(k / (1 + floor(ttl /
spacing)))`` times. Catalogue stages (one of N shared prompts) are not computed here: the
plan assumes no hits for them and says so (``capacity simulate`` measures them).

Savings derived this way are exact per turn, whatever ``savings_overlap`` says; that setting
decides how *stated* savings rates combine (the seed's 30 % + 10 % + 5 %, see :func:`combine`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from capacity.config.scenario import Scenario
from capacity.units import DAY_S, HOUR_S
from capacity.workload.calendar import business_days
from capacity.workload.script import CompiledScript

Combination = Literal["multiplicative", "additive"]


@dataclass(frozen=True)
class Saving:
    """One way requests are kept off the providers, as a fraction of the requests left to it."""

    name: str
    """``template``, ``cache``, ``deduplication`` …"""
    fraction: float
    """Share of the requests reaching this step that it answers (0–1)."""
    basis: str
    """How the fraction was found, in words."""


@dataclass(frozen=True)
class ProviderLoad:
    """What one interview asks of the providers once savings are taken off (means)."""

    logical_requests: int
    """Logical requests of the script, templates included (the seed's 26)."""
    api_requests: float
    """Requests that reach a provider."""
    input_tokens: float
    """Prompt tokens sent to providers."""
    output_tokens: float
    """Completion tokens received from providers."""
    reserved_tokens: float
    """Input + max output tokens of the requests sent (what up-front charging reserves)."""
    savings: tuple[Saving, ...]
    """The savings, in the order they apply."""

    @property
    def avoided_fraction(self) -> float:
        """Share of logical requests that never reach a provider."""
        return 1.0 - self.api_requests / self.logical_requests if self.logical_requests else 0.0

    def per_request(self, tokens: float) -> float:
        """A per-interview token figure divided by the API requests (0 when none are sent)."""
        return tokens / self.api_requests if self.api_requests > 0 else 0.0


def combine(fractions: Sequence[float], how: Combination) -> float:
    """Avoided share of requests from several savings: ``1 − Π(1 − sᵢ)`` or ``Σ sᵢ`` (capped at 1).

    ``multiplicative``: each saving acts on the requests the others left (independent);
    ``additive``: the savings cover disjoint requests of the original total.
    """
    if how == "additive":
        return min(1.0, sum(fractions))
    kept = 1.0
    for s in fractions:
        kept *= 1.0 - s
    return 1.0 - kept


def capacity_multiplier(avoided_fraction: float) -> float:
    """How many times more interviews the same quotas carry when a share of requests is avoided."""
    return math.inf if avoided_fraction >= 1.0 else 1.0 / (1.0 - avoided_fraction)


def interview_spacing_s(scenario: Scenario, interview_duration_s: float) -> float:
    """Mean time between the starts of one candidate's consecutive interviews, s.

    ``same_day``: back to back, one interview's length plus the gap. ``spread``: over the
    horizon's business days (``total`` demand) or over one business day (``per_day``).
    """
    cand = scenario.candidates
    if cand.spacing == "same_day":
        return interview_duration_s + cand.gap_between_interviews_s
    if scenario.demand.kind == "per_day":
        return scenario.calendar.business_hours * HOUR_S / cand.interviews_each
    days = max(1, len(business_days(scenario.calendar, scenario.demand.days)))
    return days * DAY_S / cand.interviews_each


def candidate_cache_hit_rate(interviews_each: int, ttl_s: float, spacing_s: float) -> float:
    """Share of a candidate's interviews whose candidate-keyed request is a cache hit."""
    if interviews_each <= 1:
        return 0.0
    served_per_miss = 1 + math.floor(ttl_s / spacing_s) if spacing_s > 0 else interviews_each
    misses = math.ceil(interviews_each / served_per_miss)
    return 1.0 - misses / interviews_each


def provider_load(
    scenario: Scenario, script: CompiledScript, batch_ready: Mapping[str, float] | None = None
) -> ProviderLoad:
    """Requests and tokens per interview that reach the providers, with the savings that applied."""
    turns = script.expected_tokens()
    logical = len(turns)
    templates = sum(1 for t in turns if t.template)
    api_turns = [t for t in turns if not t.template]
    savings: list[Saving] = [
        Saving(
            "template",
            templates / logical if logical else 0.0,
            f"{templates} of {logical} logical requests answered by a template",
        )
    ]

    spacing = interview_spacing_s(scenario, script.expected_interview_duration_s())
    candidate_hit = (
        candidate_cache_hit_rate(scenario.candidates.interviews_each, scenario.cache.ttl_s, spacing)
        if scenario.cache.enabled
        else 0.0
    )
    # the chance each API turn's answer is already cached, in script order
    hit_of = [candidate_hit if t.cache.key == "candidate" else 0.0 for t in script.api_turns]
    catalogue = sum(1 for t in script.api_turns if t.cache.key == "catalogue")
    cached_stages = sum(1 for t in script.api_turns if t.cache.key == "candidate")
    cache_fraction = sum(hit_of) / len(api_turns) if api_turns else 0.0
    basis = (
        f"{cached_stages} candidate-keyed request(s) per interview hit {candidate_hit:.0%} of the time "
        f"(TTL {scenario.cache.ttl_s:,.0f} s, interviews {spacing:,.0f} s apart, "
        f"{scenario.candidates.interviews_each} per candidate)"
        if scenario.cache.enabled
        else "cache disabled"
    )
    if catalogue:
        basis += f"; {catalogue} catalogue request(s) not computed (no hits assumed)"
    savings.append(Saving("cache", cache_fraction, basis))
    savings.append(
        Saving(
            "deduplication",
            0.0,
            "no two identical requests are in flight at once in this script (catalogue stages not computed)",
        )
    )

    dedup_kept = 1.0 - savings[-1].fraction
    shares = [(1.0 - hit) * dedup_kept for hit in hit_of]
    # banked stages, and stages deferred to a batch API with its own rate-limit pool (the only
    # kind the loader accepts), send nothing on the normal quotas (plan.levers shows them)
    # ``batch_ready``: by stage, the share of batch results ready in time (plan.levers); the rest
    # fall back to live calls and stay on the quotas
    ready = batch_ready or {}
    banked = [1.0 if t.bank is not None else 0.0 for t in script.api_turns]
    batched = [
        ready.get(t.stage, 1.0) if t.deferral is not None and t.deferral.via == "batch" else 0.0
        for t in script.api_turns
    ]
    off_quota = [max(b, d) for b, d in zip(banked, batched, strict=True)]
    if any(off_quota):
        for kind, label, moved in (("bank", "question bank", banked), ("batch", "deferred to a batch API", batched)):
            if any(moved):
                fraction = sum(share * m for share, m in zip(shares, moved, strict=True)) / len(api_turns)
                stages = ", ".join(sorted({t.stage for t, m in zip(script.api_turns, moved, strict=True) if m}))
                count = sum(moved)
                part = "" if count == int(count) else " (the share ready in time)"
                shown = f"{count:,.2f}".rstrip("0").rstrip(".")
                savings.append(Saving(kind, fraction, f"{shown} request(s) per interview ({stages}): {label}{part}"))
        shares = [share * (1.0 - off) for share, off in zip(shares, off_quota, strict=True)]
    return ProviderLoad(
        logical_requests=logical,
        api_requests=sum(shares),
        input_tokens=sum(s * t.input_tokens for t, s in zip(api_turns, shares, strict=True)),
        output_tokens=sum(s * t.output_tokens for t, s in zip(api_turns, shares, strict=True)),
        reserved_tokens=sum(s * t.reserved_tokens for t, s in zip(api_turns, shares, strict=True)),
        savings=tuple(savings),
    )
