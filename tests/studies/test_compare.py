"""Comparisons: the named sets, the seed's claims judged on the best usable knee, and the claims end to end."""

from __future__ import annotations

import pytest

from capacity.config import Configuration, default_providers_path, load_configuration, scenario_path
from capacity.report.compare_verdict import comparison_verdict
from capacity.studies.claims import CardCapacity, capacity_claim
from capacity.studies.compare import COMPARISONS, group_by_demand, resolve


def test_named_comparisons_are_shipped_scenarios_grouped_by_demand() -> None:
    providers = default_providers_path()
    for comparison in COMPARISONS.values():
        assert resolve([comparison.name]) is comparison
        for label, names in comparison.groups:
            configs = [load_configuration(scenario_path(n), providers) for n in names]
            assert group_by_demand(configs) == ((names[0], names),)  # one demand per group
            assert label == names[0][0]  # A… or B…
    assert resolve(["A", "B"]) is None


def test_b_gpu_24h_spreads_the_day_over_24_hours() -> None:
    config = load_configuration(scenario_path("B-gpu-24h"), default_providers_path())
    cal = config.scenario.calendar
    assert cal.business_hours == 24
    assert not cal.weekdays_only
    assert config.scenario.demand.interviews == 50_000
    assert config.scenario.gpu_pools[0].servers == 3


def _card(
    business: float, allday: float, strict_business: float | None = None, strict_24h: float | None = None
) -> CardCapacity:
    return CardCapacity(
        "card", "llama-3.1-8b", "fp16", 3.4, 0.3, business, allday, strict_business, strict_24h, 3196, 4261, 8522, 12
    )


def test_capacity_claims_are_judged_on_the_best_usable_knee() -> None:
    refuted = capacity_claim("~10,000/day", 10_000, [_card(1_830, 4_400)], "")
    assert refuted.verdict == "REFUTED"
    assert "streaming (p95 time to first token ≤ 1 s, ≥ 99 % carried) 1,830/day" in refuted.evidence
    assert "at the 3 s p95 turn target none — an idle card already takes 3.4 s" in refuted.evidence
    assert "18% of the claim in business hours, 44% at 24/7" in refuted.evidence
    assert refuted.summary == (
        "at best 1,830/day in business hours (fp16, streamed) and 4,400 at 24/7 (fp16, streamed)"
    )
    # the audit's one rule: a capacity holds when it reaches 90 % of the claim
    assert capacity_claim("~4,800/day", 4_800, [_card(1_830, 4_400)], "").verdict == "CONFIRMED ONLY UNDER 24/7"
    assert capacity_claim("~5,000/day", 5_000, [_card(1_830, 4_400)], "").verdict == "REFUTED"  # 88 %
    assert capacity_claim("~2,000/day", 2_000, [_card(1_830, 4_400)], "").verdict == "CONFIRMED"  # 92 %
    assert capacity_claim("~2,050/day", 2_050, [_card(1_830, 4_400)], "").verdict == "CONFIRMED ONLY UNDER 24/7"
    # the best of several formats of the model counts: an int8 card meeting the turn target
    both = [_card(1_830, 4_400), _card(2_000, 5_000, strict_business=3_000, strict_24h=9_000)]
    assert capacity_claim("~10,000/day", 10_000, both, "").verdict == "CONFIRMED ONLY UNDER 24/7"


@pytest.mark.slow
def test_the_seed_claims_path_on_small_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claims machinery end to end on stand-ins: B-gpu and B-gpu-24h shrunk to 200 interviews,
    cards running one sequence at a time, a 5 s streaming target."""
    from capacity.studies import claims as module
    from capacity.studies.compare import compare

    monkeypatch.setattr(module, "KNEE_TOLERANCE", 0.5)  # coarse knees: the path, not the precision

    small = ["demand.interviews=200", "candidates.count=20", "gpu_pools.0.max_batch=1", "sla.ttft_s=5"]
    providers = default_providers_path()

    def load(name: str) -> Configuration:
        return load_configuration(scenario_path(name), providers, small if "gpu" in name else small[:2])

    result = compare(["B", "B-gpu"], load, claims=True)
    claims = {c.claim.split(":")[0]: c for c in result.claims}
    assert len(result.claims) == 7
    llama = claims["Llama 3.1 8B on 1× RTX 4090"]
    assert llama.verdict == "REFUTED"  # one sequence at a time: a few hundred a day
    card = result.cards[0]
    assert card.streaming_business is not None
    assert card.streaming_24h is not None
    assert card.streaming_business < card.streaming_24h  # the same card, the day spread over 24 hours
    assert card.streaming_business < card.roofline_active
    assert claims["Phi-3 Medium on 1× RTX 3090"].verdict == "REFUTED"
    assert claims["Running cost"].numbers["electricity_usd_per_month"] == pytest.approx(3 * 0.45 * 720 * 0.15)
    option1 = claims["Option 1"]
    assert option1.verdict == "REFUTED"
    assert option1.numbers["usd_per_month"] == pytest.approx(48_000 * 22 * 0.0283, rel=0.02)
    assert "The seed's claims:" in comparison_verdict(result)
    assert [name for name, _ in result.runs] == ["B", "B-gpu"]


def test_what_binds_names_the_quota_of_the_busiest_destination_not_a_small_credit() -> None:
    """Tried as a new user would: compare said A was bound by Hugging Face's $0.10 credit (full 87% of the
    run, about no interviews) where simulate's verdict named Mistral's and SambaNova's quotas."""
    from capacity.sim.model import simulate
    from capacity.studies.compare import strategy_row

    config = load_configuration(scenario_path("A"), default_providers_path())
    result = simulate(config, days=1)
    bound = [d for d in result.destinations if any(w.name == d.binding_window and w.full_s > 0 for w in d.windows)]
    busiest = max(bound, key=lambda d: d.requests)
    assert busiest.name.startswith("mistral/")  # the bulk of A's traffic
    assert strategy_row(config, result, "A").binds.startswith(f"{busiest.name} {busiest.binding_window} (full ")
