"""The seed's GPU and cost claims, checked with the simulator, the roofline and list prices.

**The seed's GPU claims** (docs/seed/000_821f7b3252fe384f.txt, scenario B, "Option 2") are
checked with the simulator and the roofline, under B's business-hours calendar and under 24/7
load (scenario B-gpu-24h): interviews a day per RTX 4090 (Llama 3.1 8B in fp16 and int8,
Mistral 7B) and per RTX 3090 (Phi-3 medium), whether 3× RTX 4090 carry 50,000 a day, the
payback "in 3–4 months vs paid APIs", the electricity bill, and Option 1's "GPT-3.5 Turbo for
48,000 a day at ~$2,400/month". A card's capacity is read three ways:

* at the scenario's **turn target** (p95 turn latency ≤ 3 s over the turns the candidate
  waits for, ≥ 99 % carried): the simulated knee (:func:`capacity.studies.sizing.knee`) of one
  card. In fp16 an idle RTX 4090 already takes about 3.1 s at p95 (120-token evaluations at
  ≈ 50 tokens/s after a growing prompt), so no fleet of them meets it; int8 weights do;
* at the **streaming** target (p95 time to first token ≤ the scenario's 1 s, ≥ 99 % carried),
  which is what a voice interview that speaks as tokens arrive needs: the knee again;
* the roofline upper bound (:func:`capacity.gpu.sizing.size_server`): full batch, every hour
  of the serving day, no latency limit.

The audit's one rule decides (:data:`capacity.plan.seed_sources.HOLDS_WITHIN`: within 10 %).
A capacity claim is CONFIRMED when the best usable reading (the larger knee, of any weight
format of the model) on B's business-hours calendar reaches 90 % of the claimed figure,
CONFIRMED ONLY UNDER 24/7 when only the knee under 24/7 load does, REFUTED otherwise; a cost
or a time is CONFIRMED when it is at most 110 % of the claim. The payback claim is answered by
one figure: owning the cards the seed buys, at the volume they carry at the streaming target,
against the cheapest paid API carrying the same volume (the same 8B model, served). The
numbers are always shown beside the verdict.

The claims' simulations — twelve knee searches (three cards × two targets × two calendars)
and the 24/7 run of the seed's fleet — run as tasks of :func:`capacity.studies.compare.compare`,
in the same process pool as the strategies' runs: one task per card and calendar searches both
targets' knees, so that a demand scale both searches try (the latency floor, the first guess,
the first galloping steps) is simulated once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from capacity.config.gpus import GpuCatalog
from capacity.config.loader import Configuration
from capacity.gpu.cost import pool_cost
from capacity.gpu.roofline import deployment
from capacity.gpu.sizing import InterviewLoad, size_server
from capacity.plan import plan as make_plan
from capacity.plan.seed_sources import HOLDS_WITHIN, within
from capacity.plan.tco import TcoOption, payback_months
from capacity.result import RunResult
from capacity.studies.costs import paid_option, reference_options, tokens_per_interview
from capacity.studies.demand import month_days, need_per_interviewing_day
from capacity.studies.runner import SimClock, SimTask, demand_weight
from capacity.studies.sizing import Knee, knees, roofline_interviews_per_day
from capacity.studies.target import Target
from capacity.studies.variants import one_card
from capacity.units import duration_text
from capacity.workload.calendar import active_hours_per_day

CLAIM_TOLERANCE = 1 - HOLDS_WITHIN
"""A claimed capacity is confirmed when the measure reaches this share of it (the audit's one rule)."""

KNEE_TOLERANCE = 0.05
"""Relative precision of a card's simulated knee in the claims (5 %: ample against ±20 % claims)."""

Loader = Callable[[str], Configuration]
"""Loads a scenario by name (the CLI's, with its providers file)."""

ClaimVerdict = Literal["CONFIRMED", "CONFIRMED ONLY UNDER 24/7", "REFUTED"]


@dataclass(frozen=True)
class ClaimCheck:
    """One of the seed's claims against the numbers."""

    claim: str
    """The claim, in the seed's words."""
    verdict: ClaimVerdict
    evidence: str
    """The numbers, in words."""
    numbers: dict[str, float | None] = field(default_factory=dict)
    """The same numbers, for JSON."""
    summary: str = ""
    """The decisive numbers in a few words (for the verdict paragraph)."""


@dataclass(frozen=True)
class CardCapacity:
    """What one card carries for scenario B's interview, read three ways (see the module docstring)."""

    label: str
    model: str
    """Catalogue model key."""
    precision: str
    """Catalogue weight format key."""
    floor_p95_turn_latency_s: float
    """p95 turn latency at a trickle of demand (one card, no queueing to speak of), s."""
    floor_p95_ttft_s: float
    streaming_business: float | None
    """Simulated knee at the streaming target, business-hours calendar, interviews/day (None: none)."""
    streaming_24h: float | None
    """The same under 24/7 load, interviews/day."""
    strict_business: float | None
    """Simulated knee at the scenario's p95 turn-latency target, business hours, interviews/day."""
    strict_24h: float | None
    """The same under 24/7 load, interviews/day."""
    roofline_9h: float
    roofline_active: float
    roofline_24h: float
    active_hours: float

    @property
    def best_business(self) -> float:
        """The larger of the two usable readings on the business-hours calendar, interviews/day."""
        return max(self.streaming_business or 0.0, self.strict_business or 0.0)

    @property
    def best_24h(self) -> float:
        """The larger of the two usable readings under 24/7 load, interviews/day."""
        return max(self.streaming_24h or 0.0, self.strict_24h or 0.0)


SEED_CLAIMS = {
    "llama": "Llama 3.1 8B on 1× RTX 4090: ~10,000 interviews/day",
    "mistral": "Mistral 7B on 1× RTX 4090: ~12,000 interviews/day",
    "phi": "Phi-3 Medium on 1× RTX 3090: ~8,000 interviews/day",
    "fleet": "3× RTX 4090 (≈ $8,000 with the server) carry scenario B's 50,000 interviews/day",
    "payback": "The $8,000 of hardware pays for itself in 3–4 months vs paid APIs",
    "power": "Running cost: electricity ≈ $100/month",
    "option1": "Option 1: free tiers + GPT-3.5 Turbo carry 48,000 interviews/day for ≈ $2,400/month",
}
SEED_FIGURES = {"llama": 10_000.0, "mistral": 12_000.0, "phi": 8_000.0, "fleet": 50_000.0}
SEED_GPT35_PER_DAY = 48_000.0
SEED_GPT35_USD_PER_MONTH = 2_400.0
SEED_POWER_USD_PER_MONTH = 100.0
SEED_PAYBACK_MONTHS = 4.0

CARDS: tuple[tuple[str, str, str], ...] = (
    ("Llama 3.1 8B fp16 on 1× RTX 4090", "llama-3.1-8b", "fp16"),
    ("Llama 3.1 8B int8 on 1× RTX 4090", "llama-3.1-8b", "int8"),
    ("Mistral 7B fp16 on 1× RTX 4090", "mistral-7b", "fp16"),
)
"""The cards whose capacity the claims read (label, model, weight format); the first is B-gpu's."""


@dataclass(frozen=True)
class KneeTask:
    """One card's knees at each target on one calendar (a task of :func:`~capacity.studies.runner.run_tasks`).

    The targets' searches run one after the other on the same configuration and seed, so a
    demand scale two of them try is simulated once (:func:`~capacity.studies.sizing.knees`).
    """

    config: Configuration
    targets: tuple[Target, ...]
    seed: int | None
    label: str
    rel_tol: float

    @property
    def weight(self) -> float:
        """Interviews simulated, about: each target's search is about seven runs near its knee,
        which lies near the first guess, 0.8 of the roofline's full-batch capacity of the plan
        (:func:`~capacity.studies.sizing.knee`). The process pool starts the heaviest task first,
        so this is what keeps the last task to finish a short one."""
        sc = self.config.scenario
        capacity = sum(p.servers * roofline_interviews_per_day(self.config, p) for p in sc.gpu_pools)
        scale = min(1.0, 0.8 * capacity / need_per_interviewing_day(self.config)) if capacity > 0 else 1.0
        return 7 * len(self.targets) * scale * demand_weight(self.config, None)

    def __call__(self, clock: SimClock | None = None) -> tuple[Knee, ...]:
        """Search the knees, in the order of :attr:`targets`."""
        tick = None if clock is None else (lambda _what, now, end: clock(now, end))
        return knees(self.config, self.targets, seed=self.seed, rel_tol=self.rel_tol, progress=tick)


ClaimRun = tuple[Knee, ...] | RunResult
"""What a task of the claims gives: a card's knee searches, or a full run of the seed's fleet."""


@dataclass(frozen=True)
class ClaimStudy:
    """The simulations the claims need, and how to turn their results into checks."""

    business: Configuration
    """B-gpu: the seed's 3× RTX 4090 on B's business-hours calendar."""
    allday: Configuration
    """B-gpu-24h: the same under 24/7 load."""
    seed: int | None
    full_business_in_table: bool
    """Whether B-gpu's full run is a row of the comparison already (else the study runs it)."""
    tasks: tuple[KneeTask | SimTask, ...]
    streaming: Target
    strict: Target

    @staticmethod
    def build(load: Loader, seed: int | None, configs: dict[str, Configuration]) -> ClaimStudy:
        """The study for a comparison whose scenarios are ``configs`` (B-gpu and B-gpu-24h loaded if absent)."""
        business = configs.get("B-gpu") or load("B-gpu")
        allday = load("B-gpu-24h")
        sla = business.scenario.sla
        streaming = Target(p95_turn_latency_s=None, p95_ttft_s=sla.ttft_s)
        strict = Target(p95_turn_latency_s=sla.p95_turn_latency_s)
        tasks: list[KneeTask | SimTask] = []
        for _, model, precision in CARDS:
            for name, config in (("business hours", business), ("24/7", allday)):
                card = one_card(config, model=model, precision=precision)
                label = f"knees of 1× RTX 4090 {model} {precision}, streaming and turn target, {name}"
                tasks.append(KneeTask(card, (streaming, strict), seed, label, KNEE_TOLERANCE))
        tasks.append(SimTask(allday, seed, None, "B-gpu-24h (3× RTX 4090, 24/7)"))
        in_table = "B-gpu" in configs
        if not in_table:
            tasks.append(SimTask(business, seed, None, "B-gpu (3× RTX 4090)"))
        return ClaimStudy(business, allday, seed, in_table, tuple(tasks), streaming, strict)

    def finish(
        self, results: Sequence[ClaimRun], runs: dict[str, RunResult]
    ) -> tuple[tuple[CardCapacity, ...], tuple[ClaimCheck, ...]]:
        """The cards and the claims' checks from the results of :attr:`tasks` (in order) and the table's runs."""
        n = 2 * len(CARDS)  # a task per card and calendar, each with the streaming and the turn-target knee
        searched = [r for r in results[:n] if isinstance(r, tuple)]
        fulls = [r for r in results[n:] if isinstance(r, RunResult)]
        assert len(searched) == n and len(fulls) == len(results) - n, "results out of task order"
        knees: list[Knee] = []
        for business, allday in zip(searched[::2], searched[1::2], strict=True):  # one card's two tasks
            (streaming_business, strict_business), (streaming_allday, strict_allday) = business, allday
            knees += [streaming_business, streaming_allday, strict_business, strict_allday]
        catalog = self.business.gpu_catalog
        sla = self.business.scenario.sla.p95_turn_latency_s
        full_allday = fulls[0]
        full_business = runs["B-gpu"] if self.full_business_in_table else fulls[1]
        cards = tuple(
            self._card(label, model, precision, knees[4 * i : 4 * i + 4], catalog)
            for i, (label, model, precision) in enumerate(CARDS)
        )
        llama = [c for c in cards if c.model == "llama-3.1-8b"]
        mistral = [c for c in cards if c.model == "mistral-7b"]
        checks = [
            capacity_claim(SEED_CLAIMS["llama"], SEED_FIGURES["llama"], llama, self._roofline_quantised(), sla),
            capacity_claim(SEED_CLAIMS["mistral"], SEED_FIGURES["mistral"], mistral, "", sla),
            self._phi_claim(catalog),
            self._fleet_claim(full_business, full_allday, cards[0]),
            *self._money_claims(cards[0], catalog),
        ]
        return cards, tuple(checks)

    # -- helpers ----------------------------------------------------------------------------
    def _load(self) -> InterviewLoad:
        w = make_plan(self.business).workload
        calls = max(1, round(w.api_requests_per_interview))
        return InterviewLoad(
            w.input_tokens_per_interview / w.api_requests_per_interview * calls,
            w.output_tokens_per_interview / w.api_requests_per_interview * calls,
            calls,
        )

    def _roofline(self, catalog: GpuCatalog, gpu: str, model: str, precision: str, hours: float) -> float:
        dep = deployment(catalog, gpu, model, precision=precision)
        return size_server(dep, self._load(), hours_per_day=hours).interviews_per_day

    def _roofline_quantised(self) -> str:
        catalog = self.business.gpu_catalog
        int4 = self._roofline(catalog, "rtx4090", "llama-3.1-8b", "int4", 24.0)
        return (
            f" In int4 the 24-hour roofline bound is {int4:,.0f} — full batch every hour, no latency "
            "limit: an upper bound no live service reaches."
        )

    def _card(self, label: str, model: str, precision: str, knees: list[Knee], catalog: GpuCatalog) -> CardCapacity:
        """A card from its four knees: streaming and turn target, each on business hours and 24/7."""
        hours = active_hours_per_day(self.business.scenario.calendar)
        streaming_business, streaming_24h, strict_business, strict_24h = knees
        floor = streaming_business.floor
        return CardCapacity(
            label=label,
            model=model,
            precision=precision,
            floor_p95_turn_latency_s=floor.p95_turn_latency_s,
            floor_p95_ttft_s=floor.p95_ttft_s,
            streaming_business=streaming_business.interviews_per_day,
            streaming_24h=streaming_24h.interviews_per_day,
            strict_business=strict_business.interviews_per_day,
            strict_24h=strict_24h.interviews_per_day,
            roofline_9h=self._roofline(catalog, "rtx4090", model, precision, 9.0),
            roofline_active=self._roofline(catalog, "rtx4090", model, precision, hours),
            roofline_24h=self._roofline(catalog, "rtx4090", model, precision, 24.0),
            active_hours=hours,
        )

    def _phi_claim(self, catalog: GpuCatalog) -> ClaimCheck:
        fp16 = deployment(catalog, "rtx3090", "phi-3-medium")
        int8 = self._roofline(catalog, "rtx3090", "phi-3-medium", "int8", 24.0)
        int4 = self._roofline(catalog, "rtx3090", "phi-3-medium", "int4", 24.0)
        best = max(int8, int4)
        verdict: ClaimVerdict = "CONFIRMED" if best >= CLAIM_TOLERANCE * SEED_FIGURES["phi"] else "REFUTED"
        return ClaimCheck(
            SEED_CLAIMS["phi"],
            verdict,
            f"In fp16 Phi-3 Medium's {fp16.weight_bytes / 1e9:.0f} GB of weights do not fit the RTX "
            f"3090's {fp16.gpu.vram_gb:g} GB: it does not run at all. Quantised, even the roofline upper "
            f"bound (full batch 24 hours a day, no latency limit) is {int8:,.0f}/day in int8 and "
            f"{int4:,.0f}/day in int4 — {best / SEED_FIGURES['phi']:.0%} of the claim at best.",
            {"fits_fp16": 0.0, "roofline_24h_int8": int8, "roofline_24h_int4": int4},
            f"does not fit in fp16; quantised, at most {best:,.0f}/day even by the roofline",
        )

    def _fleet_claim(self, business: RunResult, allday: RunResult, card: CardCapacity) -> ClaimCheck:
        need = SEED_FIGURES["fleet"]
        pieces = []
        ok = []
        for name, run, per_card in (
            ("business hours", business, card.streaming_business),
            ("24/7", allday, card.streaming_24h),
        ):
            share = run.carried_share
            meets = self.streaming.met_by(run)
            ok.append(meets)
            needed = f"{math.ceil(need / per_card):,}" if per_card else "no number of"
            pieces.append(
                f"{name}: {share:.0%} carried by the run's end, p95 time to first token "
                f"{duration_text(run.ttft_s.p95)}, p95 turn {duration_text(run.turn_latency_s.p95)} — "
                f"{'meets' if meets else 'misses'} the streaming target; at one card's streaming knee it "
                f"takes {needed} cards"
            )
        roof = math.ceil(need / card.roofline_active)
        roof24 = math.ceil(need / card.roofline_24h)
        verdict: ClaimVerdict = "CONFIRMED" if all(ok) else "CONFIRMED ONLY UNDER 24/7" if ok[1] else "REFUTED"
        return ClaimCheck(
            SEED_CLAIMS["fleet"],
            verdict,
            "Simulated 3× RTX 4090 (Llama 3.1 8B fp16): "
            + "; ".join(pieces)
            + f". Even the roofline bound needs {roof} cards in B's {card.active_hours:g} active hours "
            f"({roof24} at 24/7); `capacity size -s B-gpu --p95-ttft 1s --p95-turn-latency off` finds the "
            "least fleet with the pooled simulation (fewer than one-card knees suggest).",
            {
                "carried_share_business": business.carried_share,
                "p95_ttft_business_s": business.ttft_s.p95,
                "carried_share_24h": allday.carried_share,
                "p95_ttft_24h_s": allday.ttft_s.p95,
                "cards_needed_business_one_card_knee": math.ceil(need / card.streaming_business)
                if card.streaming_business
                else None,
                "cards_needed_24h_one_card_knee": math.ceil(need / card.streaming_24h) if card.streaming_24h else None,
                "cards_roofline_bound": float(roof),
            },
            f"{business.carried_share:.0%} carried with p95 time to first token "
            f"{duration_text(business.ttft_s.p95)} ({allday.carried_share:.0%} and "
            f"{duration_text(allday.ttft_s.p95)} at 24/7); "
            f"{roof}–{math.ceil(need / card.streaming_business) if card.streaming_business else '?'} cards "
            "needed in business hours",
        )

    def _money_claims(self, card: CardCapacity, catalog: GpuCatalog) -> list[ClaimCheck]:
        pool = next(p for p in self.business.scenario.gpu_pools)
        hours = active_hours_per_day(self.business.scenario.calendar)
        per_month = month_days(self.business)
        cost = pool_cost(catalog, pool, active_hours_per_day=hours, interviewing_days_per_month=per_month)
        cards = pool.servers * pool.gpus_per_server
        per_card_usd = cost.purchase_usd / cards
        out: list[ClaimCheck] = []
        out.append(self._payback(card, cards, per_card_usd, cost.running_usd_per_month / cards, per_month))
        power = cost.electricity_usd_per_month
        out.append(
            ClaimCheck(
                SEED_CLAIMS["power"],
                "CONFIRMED" if within(SEED_POWER_USD_PER_MONTH, power) else "REFUTED",
                f"{cards}× 450 W at full board power 24/7 and ${pool.electricity_usd_per_kwh:g}/kWh: "
                f"${power:,.0f}/month, {power / SEED_POWER_USD_PER_MONTH:.0%} of the claim (an upper bound: "
                f"idle cards draw less). Carrying 50,000/day takes more cards, and each adds "
                f"${power / cards:,.0f}/month.",
                {"electricity_usd_per_month": power},
                f"${power:,.0f}/month for {cards} cards",
            )
        )
        # the one monthly-cost basis (capacity.studies.costs): B's interview, B's interviewing days a month
        tokens_in, tokens_out = tokens_per_interview(self.business)
        gpt35 = paid_option(self.business, "openai", "gpt-3.5-turbo-0125", SEED_GPT35_PER_DAY * per_month)
        if gpt35 is not None:
            out.append(
                ClaimCheck(
                    SEED_CLAIMS["option1"],
                    "CONFIRMED" if within(SEED_GPT35_USD_PER_MONTH, gpt35.monthly_usd) else "REFUTED",
                    f"48,000 interviews × {per_month} interviewing days at "
                    f"${gpt35.monthly_usd / gpt35.interviews_per_month:.4f} per interview (list price, "
                    f"{tokens_in:,.0f} input + {tokens_out:,.0f} output tokens each) is "
                    f"${gpt35.monthly_usd:,.0f}/month, "
                    f"{gpt35.monthly_usd / SEED_GPT35_USD_PER_MONTH:.0f}× the seed's figure "
                    "(`capacity compare hybrid` simulates it).",
                    {"usd_per_month": gpt35.monthly_usd},
                    f"${gpt35.monthly_usd:,.0f}/month at list price",
                )
            )
        return out

    def _payback(
        self, card: CardCapacity, cards: int, per_card_usd: float, running_per_card: float, per_month: int
    ) -> ClaimCheck:
        """The payback claim, answered by one figure (see the module docstring)."""
        carried = cards * (card.streaming_business or 0.0) * per_month
        owned = TcoOption(
            f"own {cards}× RTX 4090", "owned_gpu", per_card_usd * cards, running_per_card * cards, carried
        )
        apis = reference_options(self.business, carried)
        if carried <= 0 or not apis:
            return ClaimCheck(
                SEED_CLAIMS["payback"],
                "REFUTED",
                f"The seed's {cards} cards carry nothing at the streaming target: there is no volume to pay back on.",
                {"payback_months": None},
                "no volume carried",
            )
        api = min(apis, key=lambda o: o.monthly_usd)
        months = payback_months(owned, api)
        shown = "never" if months is None else f"{months:.1f} months"
        holds = months is not None and within(SEED_PAYBACK_MONTHS, months)
        return ClaimCheck(
            SEED_CLAIMS["payback"],
            "CONFIRMED" if holds else "REFUTED",
            f"At the {carried:,.0f} interviews/month the seed's {cards} cards carry at the streaming target "
            f"(${owned.upfront_usd:,.0f} up front, ${owned.monthly_usd:,.0f}/month to run), against the "
            f"cheapest paid API carrying the same volume, {api.label} (${api.monthly_usd:,.0f}/month): payback "
            f"{shown}. The page's one figure for this question; dearer APIs shorten it, but the cheapest is "
            "what a buyer would otherwise pay.",
            {"payback_months": months, "interviews_per_month": carried, "api_usd_per_month": api.monthly_usd},
            f"payback {shown} vs {api.label.split(': ')[-1]}",
        )


def _per_day(x: float | None) -> str:
    return "none" if not x else f"{x:,.0f}"


def _card_evidence(card: CardCapacity, figure: float, sla_p95_turn_latency_s: float) -> str:
    """One card's readings, in words."""
    if card.strict_business is None and card.strict_24h is None:
        strict = (
            f"none — an idle card already takes {card.floor_p95_turn_latency_s:.1f} s at p95 for the turns "
            "the candidate waits for"
        )
    else:
        strict = f"{_per_day(card.strict_business)} (business hours), {_per_day(card.strict_24h)} (24/7)"
    return (
        f"{card.label}: streaming (p95 time to first token ≤ 1 s, ≥ 99 % carried) "
        f"{_per_day(card.streaming_business)}/day on B's business-hours calendar, "
        f"{_per_day(card.streaming_24h)} under 24/7 load; at the {sla_p95_turn_latency_s:g} s p95 turn "
        f"target {strict}; roofline upper bound (full batch, no latency limit) "
        f"{card.roofline_9h:,.0f} in a 9-hour day, {card.roofline_active:,.0f} in B's "
        f"{card.active_hours:g} active hours, {card.roofline_24h:,.0f} at 24 h. Best usable reading: "
        f"{card.best_business / figure:.0%} of the claim in business hours, {card.best_24h / figure:.0%} "
        "at 24/7."
    )


def capacity_claim(
    claim: str, figure: float, cards: Sequence[CardCapacity], extra: str, sla_p95_turn_latency_s: float = 3.0
) -> ClaimCheck:
    """A per-card claim judged on the best usable reading of any of ``cards`` (same model, any format)."""
    business = max(c.best_business for c in cards)
    allday = max(c.best_24h for c in cards)
    verdict: ClaimVerdict
    if business >= CLAIM_TOLERANCE * figure:
        verdict = "CONFIRMED"
    elif allday >= CLAIM_TOLERANCE * figure:
        verdict = "CONFIRMED ONLY UNDER 24/7"
    else:
        verdict = "REFUTED"
    evidence = " ".join(_card_evidence(c, figure, sla_p95_turn_latency_s) for c in cards)
    numbers: dict[str, float | None] = {}
    for c in cards:
        key = f"{c.model} {c.precision}"
        numbers |= {
            f"{key} streaming_business_per_day": c.streaming_business,
            f"{key} streaming_24h_per_day": c.streaming_24h,
            f"{key} turn_target_business_per_day": c.strict_business,
            f"{key} turn_target_24h_per_day": c.strict_24h,
            f"{key} roofline_24h_per_day": c.roofline_24h,
            f"{key} idle_p95_turn_latency_s": c.floor_p95_turn_latency_s,
        }
    top_business = max(cards, key=lambda c: c.best_business)
    top_allday = max(cards, key=lambda c: c.best_24h)
    return ClaimCheck(
        claim,
        verdict,
        evidence + extra,
        numbers,
        f"at best {business:,.0f}/day in business hours ({_reading(top_business, allday=False)}) and "
        f"{allday:,.0f} at 24/7 ({_reading(top_allday, allday=True)})",
    )


def _reading(card: CardCapacity, *, allday: bool) -> str:
    """Which format and target gave a card's best usable reading: ``int8, streamed``."""
    streaming = card.streaming_24h if allday else card.streaming_business
    strict = card.strict_24h if allday else card.strict_business
    how = "streamed" if (streaming or 0.0) >= (strict or 0.0) else "within the turn target"
    return f"{card.precision}, {how}"

