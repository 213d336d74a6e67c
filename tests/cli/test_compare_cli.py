"""``capacity compare``: a small comparison end to end, the named sets, the claims' verdicts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import Configuration, default_providers_path, load_configuration, scenario_path
from capacity.report.compare import (
    COMPARISONS,
    CardCapacity,
    _capacity_claim,
    group_by_demand,
    resolve,
)

runner = CliRunner()

TINY = "demand: {kind: per_day, interviews: 200, days: 1}\ncandidates: {count: 20}\n"
FILES = {
    "scenarios/Tb.yaml": ("", "extends: B\ndescription: tiny free tiers\n" + TINY),
    "scenarios/Tb-gpu.yaml": ("", "extends: B-gpu\ndescription: tiny GPUs\n" + TINY),
    "scenarios/Tb-paid.yaml": ("", "extends: B-paid\ndescription: tiny paid\n" + TINY),
}


@pytest.fixture
def tiny(config_copy: Callable[[dict[str, tuple[str, str]]], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the shipped files and three tiny B-demand scenarios; the current directory."""
    folder = config_copy(FILES)
    monkeypatch.chdir(folder)
    return folder


def test_a_comparison_of_scenarios_as_json(tiny: Path) -> None:
    result = runner.invoke(app, ["compare", "Tb", "Tb-gpu", "Tb-paid", "--no-claims", "--jobs", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["comparison"] == "custom"
    (group,) = data["groups"]  # one demand
    rows = {r["scenario"]: r for r in group["strategies"]}
    assert set(rows) == {"Tb", "Tb-gpu", "Tb-paid"}
    gpu, paid, free = rows["Tb-gpu"], rows["Tb-paid"], rows["Tb"]
    assert gpu["need_per_day"] == 200
    assert gpu["carried_per_day"] == 200
    assert gpu["carried_share"] == 1.0
    assert paid["carried_per_day"] == 200
    assert free["usd_per_month"] == 0  # 200 a day fit the free tiers
    # the GPUs cost the same whatever they carry: 3 × $2,500 over 36 months + 3 × 450 W 24/7 at $0.15
    assert gpu["upfront_usd"] == pytest.approx(7500)
    assert gpu["usd_per_month"] == pytest.approx(7500 / 36 + 3 * 0.45 * 720 * 0.15)
    assert gpu["interviews_per_month"] == pytest.approx(200 * 22)
    assert gpu["usd_per_interview"] == pytest.approx(gpu["usd_per_month"] / (200 * 22))
    assert "3× RTX 4090 (owned" in gpu["hardware"]
    assert paid["upfront_usd"] == 0
    assert 0.005 < paid["usd_per_interview"] < 0.015  # gpt-4o-mini, ≈ 50,000 tokens an interview
    assert "free-tier accounts" in free["hardware"]
    # TCO at what the GPUs carried; owned, rented and three paid APIs
    tco = group["tco"]
    assert tco["interviews_per_month"] == pytest.approx(200 * 22)
    assert tco["months"][-1] == 36
    labels = [o["label"] for o in group["tco_options"]]
    assert labels[0] == "own 3× RTX 4090"
    assert labels[1] == "rent 3× RTX 4090 (business hours)"
    assert any("gpt-4o-mini" in label for label in labels)
    assert tco["cumulative_usd"]["own 3× RTX 4090"][0] == pytest.approx(7500)
    even = {b["other"]: b for b in group["break_even"]}
    # renting 3 cards 12 h × 22 days at $0.60 ($475/month) against owning ($7,500 + $146/month)
    rent = even["rent 3× RTX 4090 (business hours)"]
    assert rent["payback_months"] == pytest.approx(7500 / (3 * 12 * 22 * 0.60 - 3 * 0.45 * 720 * 0.15))
    assert rent["month"] == 23
    # at 4,400 interviews a month no API bill ever repays $7,500 of cards
    assert all(b["month"] is None for other, b in even.items() if not other.startswith("rent"))
    assert data["claims"] == []
    assert "On Tb's demand (200 interviews per interviewing day)" in data["verdict"]


def test_a_comparison_as_tables(tiny: Path) -> None:
    result = runner.invoke(app, ["compare", "Tb-gpu", "Tb-paid", "--no-claims", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    for text in ("Demand Tb-gpu: 200 interviews per interviewing day", "TCO, demand Tb-gpu", "Verdict"):
        assert text in result.output


def test_unknown_comparison_or_scenario_exits_2() -> None:
    result = runner.invoke(app, ["compare", "free-vs-nothing"])
    assert result.exit_code == 2
    assert "unknown comparison 'free-vs-nothing'" in result.output
    result = runner.invoke(app, ["compare", "A", "Z"])
    assert result.exit_code == 2
    assert "unknown scenario 'Z'" in result.output


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
    refuted = _capacity_claim("~10,000/day", 10_000, [_card(1_830, 4_400)], "")
    assert refuted.verdict == "REFUTED"
    assert "streaming (p95 time to first token ≤ 1 s, ≥ 99 % carried) 1,830/day" in refuted.evidence
    assert "at the 3 s p95 turn target none — an idle card already takes 3.4 s" in refuted.evidence
    assert "18% of the claim in business hours, 44% at 24/7" in refuted.evidence
    assert refuted.summary == (
        "at best 1,830/day in business hours (fp16, streamed) and 4,400 at 24/7 (fp16, streamed)"
    )
    assert _capacity_claim("~5,000/day", 5_000, [_card(1_830, 4_400)], "").verdict == "CONFIRMED ONLY UNDER 24/7"
    assert _capacity_claim("~2,000/day", 2_000, [_card(1_830, 4_400)], "").verdict == "CONFIRMED"
    # the best of several formats of the model counts: an int8 card meeting the turn target
    both = [_card(1_830, 4_400), _card(2_000, 5_000, strict_business=3_000, strict_24h=9_000)]
    assert _capacity_claim("~10,000/day", 10_000, both, "").verdict == "CONFIRMED ONLY UNDER 24/7"


@pytest.mark.slow
def test_the_seed_claims_path_on_small_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claims machinery end to end on stand-ins: B-gpu and B-gpu-24h shrunk to 200 interviews,
    cards running one sequence at a time, a 5 s streaming target."""
    from capacity.report import compare as module
    from capacity.report.compare import compare

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
    assert "The seed's claims:" in result.verdict
    assert [name for name, _ in result.runs] == ["B", "B-gpu"]


def test_parallel_runs_give_the_same_numbers(tiny: Path) -> None:
    one = runner.invoke(app, ["compare", "Tb", "Tb-gpu", "--no-claims", "--jobs", "1", "--json"])
    two = runner.invoke(app, ["compare", "Tb", "Tb-gpu", "--no-claims", "--jobs", "2", "--json"])
    assert one.exit_code == two.exit_code == 0, one.output + two.output

    def numbers(output: str) -> list[tuple[str, float, float, float]]:
        rows = json.loads(output)["groups"][0]["strategies"]
        return [(r["scenario"], r["carried_per_day"], r["p95_turn_latency_s"], r["usd_per_month"]) for r in rows]

    assert numbers(one.stdout) == numbers(two.stdout)


def test_out_writes_the_comparison_page(tiny: Path) -> None:
    out = tiny / "page"
    result = runner.invoke(app, ["compare", "Tb", "Tb-gpu", "--no-claims", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "README.md").read_text(encoding="utf-8")
    assert "Demand Tb" in page
    assert any(p.suffix == ".png" for p in out.iterdir())
