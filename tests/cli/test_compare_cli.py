"""``capacity compare``: a small comparison end to end, the named sets, the claims' verdicts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app

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


LEVERS = {
    "scenarios/Tb.yaml": FILES["scenarios/Tb.yaml"],
    "scenarios/Tb-levers.yaml": (
        "",
        "extends: Tb\nrouting: {session_affinity: true}\n"
        "script: {stages: {question: {cache: {key: catalogue, catalogue_size: 50}}}}\n",
    ),
}


def test_compare_levers_runs_none_each_and_all(
    config_copy: Callable[[dict[str, tuple[str, str]]], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(config_copy(LEVERS))
    out = tmp_path / "levers"
    result = runner.invoke(app, ["compare", "levers", "-s", "Tb", "--jobs", "1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["scenario"], data["base"]) == ("Tb-levers", "Tb")
    rows = {r["label"]: r for r in data["rows"]}
    assert list(rows) == ["none", "response_cache", "prompt_caching", "all"]
    assert rows["response_cache"]["api_calls_per_interview"] < rows["none"]["api_calls_per_interview"]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "levers.png"]
    page = (out / "README.md").read_text(encoding="utf-8")
    assert "| none (Tb) |" in page and "| all (Tb-levers) |" in page
    assert "Not switched on by Tb-levers: templates, model_groups, deferral, question_banks" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "free-vs-gpu", "-s", "A"], "--scenario goes with the comparison 'levers' only"),
        (["compare", "levers"], "compare levers needs a scenario"),
        (["compare", "levers", "-s", "B-gpu"], "B-gpu differs from B in"),
        # the new-user trial: another destination list is another plan, not the model-groups lever
        (["compare", "levers", "-s", "A-paid"], "A-paid differs from A in routing.destinations, which is no lever"),
        (["compare", "levers", "-s", "A", "B"], "compare levers takes one scenario"),
    ],
)
def test_compare_levers_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
