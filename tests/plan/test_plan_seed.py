"""The seed's arithmetic reproduced by its own method, corrected, and its claims checked."""

from __future__ import annotations

import datetime as dt

import pytest

from capacity.config import Configuration
from capacity.config.scenario import SeedClaims
from capacity.plan.limits import RequestProfile
from capacity.plan.seed import seed_corrections, seed_method
from capacity.plan.seed_sources import check_claim, check_claims, reaches, within

# a round profile to check by hand: 1,900 in + 100 out = 2,000 tokens a request (2,200 reserved)
PROFILE = RequestProfile(1900.0, 100.0, 2200.0, 12.0, 22.0, 22.0)


@pytest.fixture(scope="module")
def claims(config_seed: Configuration) -> SeedClaims:
    assert config_seed.scenario.seed_claims is not None
    return config_seed.scenario.seed_claims


def test_seed_method_reproduces_the_seed(claims: SeedClaims) -> None:
    m = seed_method(
        claims,
        tokens_per_interview=50_000,
        active_hours_per_day=12,
        business_days_per_month=22,
        combination="multiplicative",
    )
    first, second = m.tables
    assert [r.seed_method_interviews_per_day for r in first.rows] == [
        384,
        276,
        57,
        25,
        38,
        38,
        20,
        38,
        138,
        76,
    ]
    assert (first.rows_sum_interviews_per_day, first.seed_interviews_per_month) == (1090, 32_700)
    assert [r.seed_method_interviews_per_day for r in second.rows] == [
        171,
        384,
        552,
        25,
        38,
        38,
        138,
        76,
        20,
        38,
        50,
        30,
    ]
    assert (second.rows_sum_interviews_per_day, second.seed_interviews_per_month) == (1560, 46_800)
    # "ultra-optimization": 1,560 + 30 % + 10 % + 5 % of 1,560
    assert m.optimized_interviews_per_day == pytest.approx(2262)
    assert m.optimized_interviews_per_month == pytest.approx(67_860)
    # every row the seed derived, it derived as its table says
    assert all(
        r.seed_method_interviews_per_day == r.seed_interviews_per_day for t in m.tables for r in t.rows
    )
    # rows it did not derive are flagged
    assert [r.provider for r in second.rows if not r.converted] == [
        "Cerebras AI",
        "Mistral",
        "Replicate (free credits)",
        "Anyscale Endpoints",
    ]


def test_corrected_arithmetic_for_the_same_claims(claims: SeedClaims) -> None:
    m = seed_method(
        claims,
        tokens_per_interview=50_000,
        active_hours_per_day=12,
        business_days_per_month=22,
        combination="multiplicative",
    )
    assert m.savings_factor == pytest.approx(0.70 * 0.90 * 0.95)
    assert m.compounded_interviews_per_day == pytest.approx(1560 / 0.5985)  # ≈ 2,606.5
    corrected = {r.provider: r.corrected_interviews_per_day for r in m.tables[1].rows}
    assert corrected["Together AI"] == 1661  # ⌊3,600/h × 12 h ÷ 26⌋, not ⌊3,600 ÷ 26⌋ = 138
    assert corrected["Cerebras AI"] == 20  # 1,000,000 ÷ 50,000 tokens an interview
    assert corrected["Mistral"] == 10  # 500,000 ÷ 50,000
    assert corrected["Replicate (free credits)"] == 50  # unverifiable: kept as stated
    assert m.corrected_base_interviews_per_day == 1560 - 138 + 1661 - 25 + 20 - 20 + 10
    assert m.corrected_optimized_interviews_per_day == pytest.approx(3068 / 0.5985)
    assert m.corrected_interviews_per_month == pytest.approx(3068 / 0.5985 * 22)


def test_additive_savings_when_the_scenario_says_they_are_disjoint(claims: SeedClaims) -> None:
    m = seed_method(
        claims,
        tokens_per_interview=50_000,
        active_hours_per_day=12,
        business_days_per_month=22,
        combination="additive",
    )
    assert m.compounded_interviews_per_day == pytest.approx(1560 / 0.55)


def test_one_line_per_correction(claims: SeedClaims) -> None:
    m = seed_method(
        claims,
        tokens_per_interview=50_000,
        active_hours_per_day=12,
        business_days_per_month=22,
        combination="multiplicative",
    )
    lines = seed_corrections(
        m,
        derived_savings={"template": 1 / 26, "cache": 0.0, "deduplication": 0.0},
        need_per_calendar_day=50_000 / 30,
        need_per_business_day=50_000 / 22,
        business_days=22,
        days=30,
    )
    text = "\n".join(lines)
    assert "1,560 ÷ (0.70 × 0.90 × 0.95) ≈ 2,606/day" in text
    assert "= 2,262/day" in text
    assert "template 10% (derived: 3.8%)" in text
    assert "Together AI: 3,600 requests/hour ÷ 26 = 138 reads an hourly quota as daily" in text
    assert "43,200 requests/day ÷ 26 = 1,661 interviews/day" in text
    assert "implies 40,000 tokens/interview" in text
    assert "implies 25,000 tokens/interview" in text
    assert "25,000 and 40,000 tokens per interview: inconsistent" in text
    assert "1,560/day × 22 = 34,320/month, not 46,800" in text
    assert "the need is 2,273 per interviewing day, not 1,667" in text
    # the Mistral row appears in both tables under two names, corrected once
    assert sum("500,000 tokens/day" in line for line in lines) == 1
    assert len(lines) == len(set(lines))


def test_claims_against_the_2025_sources_on_the_seeds_date(claims: SeedClaims, config_a: Configuration) -> None:
    checks = {c.seed_provider: c for c in check_claims(claims, config_a.providers, PROFILE)}
    verdicts = {name: c.verdict for name, c in checks.items()}
    assert verdicts == {
        "Cloudflare Workers AI": "contradicted",
        "Hugging Face": "contradicted",
        "Google Gemini 2.0 Flash": "contradicted",
        # 1,000,000 tokens/day is Cerebras's tpd: 454 requests (charged 2,200 up front) of the 500 claimed
        # (2,000 tokens each) is 91 %, within the audit's 10 %
        "Cerebras AI": "holds",
        "DeepSeek": "contradicted",
        "GitHub Models": "contradicted",
        "Mistral La Plateforme": "contradicted",
        # 1,000/day is the 70B model's rpd, but its 100,000 tokens/day bind first
        "Groq Free Tier": "holds, but another limit binds first",
        "Together AI": "contradicted",  # the free model was withdrawn on 2025-10-08, before the seed
        "Fireworks AI": "contradicted",
        "Replicate (free credits)": "not audited",
        "Anyscale Endpoints": "not audited",
    }
    assert [c.audited for c in checks.values()].count(True) == 10
    allows = {name: c.source_requests_per_day for name, c in checks.items()}
    # 10,000 neurons ÷ (1,900 × 4,119 + 100 × 34,868)/1M = 11.3129 neurons a request
    assert allows["Cloudflare Workers AI"] == pytest.approx(10_000 / 11.3129)
    assert allows["Hugging Face"] == pytest.approx(0.10 / 22 / 0.00036)  # $0.10 a month at $0.18/M
    # on 2025-12-14: 2.0 Flash withdrawn (12-06); 2.5 Flash and Flash-Lite at 20 requests/day since 12-06
    assert allows["Google Gemini 2.0 Flash"] == 20
    assert checks["Google Gemini 2.0 Flash"].source_model == "gemini-2.5-flash"
    assert allows["Cerebras AI"] == pytest.approx(1e6 / 2200)  # charged input + max output
    assert allows["DeepSeek"] == 0
    assert allows["GitHub Models"] == 150
    assert allows["Mistral La Plateforme"] == pytest.approx(1e9 / 22 / 2000)
    assert allows["Groq Free Tier"] == pytest.approx(500_000 / 2000)  # the 8B's 500K tokens/day bind
    assert allows["Together AI"] == 0  # no free offer in force
    assert allows["Fireworks AI"] == pytest.approx(1.0 / 22 / 0.0002)  # $1 one-time
    assert checks["Replicate (free credits)"].source_requests_per_day is None
    # the finding says what the seed misread, with the source's unit
    assert "10,000 is the neurons_per_day (neurons/day)" in checks["Cloudflare Workers AI"].finding
    assert "500,000 is the tpm (tokens/min)" in checks["Mistral La Plateforme"].finding
    assert "matches the rpd of llama-3.3-70b-versatile" in checks["Groq Free Tier"].finding
    assert "other limits bind first there (50 requests/day)" in checks["Groq Free Tier"].finding
    assert "no free tier" in checks["DeepSeek"].finding
    gemini = checks["Google Gemini 2.0 Flash"].finding
    assert "rpd 20 (gemini-2.5-flash), 20 (gemini-2.5-flash-lite)" in gemini
    assert "gemini-2.0-flash withdrawn on 2025-12-06, before the seed's 2025-12-14" in gemini
    assert "gemini-2.5-flash-lite: rpd 1,000 until 2025-12-06, 20 from then" in gemini
    assert "3 accounts; terms: Limits are per Google Cloud project" in gemini
    # fair to the seed: what Together's figure was while the offer lasted
    together = checks["Together AI"].finding
    assert "no free offer of it was in force on 2025-12-14" in together
    assert (
        "while it was offered, 3,600 requests/hour matches the rpm × 60 of "
        "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free; another limit binds first" in together
    )
    assert "2 accounts; terms: providers.yaml states none" in checks["Hugging Face"].finding
    assert checks["Cloudflare Workers AI"].as_of == "2025-02-28"


def test_quotas_are_those_in_force_on_the_date(claims: SeedClaims, config_a: Configuration) -> None:
    before = {c.seed_provider: c for c in check_claims(claims, config_a.providers, PROFILE, on=dt.date(2025, 12, 5))}
    # before 2025-12-06: Flash-Lite's 1,000/day and 2.0 Flash's 200/day were in force
    assert before["Google Gemini 2.0 Flash"].source_requests_per_day == 1000
    assert before["Google Gemini 2.0 Flash"].source_model == "gemini-2.5-flash-lite"
    assert "rpd 200 (gemini-2.0-flash)" in before["Google Gemini 2.0 Flash"].finding
    early = {c.seed_provider: c for c in check_claims(claims, config_a.providers, PROFILE, on=dt.date(2025, 9, 30))}
    # while Together's free model was offered, 3,600/hour was its documented rpm × 60, but 60,000 tokens/min bind
    # first: 60,000 × 60 × 12 h ÷ 2,000 = 21,600 of the 43,200 requests a day the claim reads as
    together = early["Together AI"]
    assert together.verdict == "holds, but another limit binds first"
    assert together.source_requests_per_day == pytest.approx(21_600)
    assert together.claimed_requests_per_day == pytest.approx(43_200)


def test_a_withdrawn_offer_contradicts_a_matching_claim(claims: SeedClaims, config_a: Configuration) -> None:
    cerebras = config_a.providers["cerebras"]
    gone = cerebras.model_copy(
        update={
            "models": [m.model_copy(update={"withdrawn_on": dt.date(2025, 11, 1)}) for m in cerebras.models]
        }
    )
    providers = {**config_a.providers, "cerebras": gone}
    check = next(c for c in check_claims(claims, providers, PROFILE) if c.maps_to == "cerebras")
    assert check.verdict == "contradicted"
    assert "llama3.1-8b withdrawn on 2025-11-01" in check.finding


def test_one_rule_for_holds() -> None:
    # a capacity holds when it reaches 90 % of the claim: 981 of the seed's 1,090 does, 980 does not
    assert reaches(1_090, 981.0)
    assert not reaches(1_090, 980.0)
    # a cost or a time holds when it is at most 110 % of the claim: $2,640 against ~$2,400 does, $2,641 not
    assert within(2_400, 2_640.0)
    assert not within(2_400, 2_641.0)


def test_a_claim_on_a_model_family_is_audited_on_that_family_only(claims: SeedClaims, config_a: Configuration) -> None:
    """providers.yaml lists Gemma 3 27B under the Gemini API (14,400 requests/day): the seed's "Google Gemini
    2.0 Flash" claim is judged on the gemini- models (models_named), not on the provider's Gemma."""
    gemma = config_a.providers["gemini"].model("gemma-3-27b-it")
    assert gemma is not None and (gemma.limits.rpm, gemma.limits.rpd, gemma.limits.input_tpm) == (30, 14_400, 15_000)
    row = next(r for t in claims.tables for r in t.rows if r.maps_to == "gemini")
    assert row.models_named == "gemini-"
    narrowed = check_claim(row, config_a.providers["gemini"], PROFILE)
    assert narrowed.source_model == "gemini-2.5-flash" and narrowed.source_requests_per_day == 20
    anyone = check_claim(row.model_copy(update={"models_named": None}), config_a.providers["gemini"], PROFILE)
    assert anyone.source_model == "gemma-3-27b-it"  # what the audit would have read into the claim
