"""The regression baseline of ``capacity check``: tolerance rule, comparison, file round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capacity.errors import UsageError
from capacity.studies.regression import (
    FLOORS,
    SIGMAS,
    Baseline,
    Guarded,
    ScenarioBaseline,
    compare_group,
    guard_plan,
    guard_simulated,
    load_baseline,
    plan_tolerance,
    sample_sd,
    save_baseline,
    simulated_tolerance,
)


def test_tolerance_is_the_largest_of_the_floors_and_three_sd() -> None:
    absolute, relative = FLOORS["completed"]
    assert simulated_tolerance("completed", 10.0, 0.0) == absolute  # tiny value: absolute floor
    assert simulated_tolerance("completed", 10_000.0, 0.0) == pytest.approx(
        relative * 10_000
    )  # relative floor
    assert simulated_tolerance("completed", 10_000.0, 50.0) == pytest.approx(
        SIGMAS * 50
    )  # replication spread
    # rounding to 4 significant digits never makes a tolerance smaller
    assert simulated_tolerance("completed", 10_000.0, 33.33337) >= SIGMAS * 33.33337


def test_unknown_headline_numbers_get_the_default_floor() -> None:
    assert simulated_tolerance("something_new", 100.0, 0.0) == pytest.approx(1.0)


def test_guard_simulated_keeps_the_first_replication_and_the_spread_of_all() -> None:
    runs = [
        {"completed": 100.0, "cache_hit_rate": 0.2},
        {"completed": 110.0, "cache_hit_rate": 0.2},
        {"completed": 90.0, "cache_hit_rate": 0.2},
    ]
    guards = guard_simulated(runs)
    assert guards["completed"].value == 100.0
    assert guards["completed"].sd == pytest.approx(10.0)
    assert guards["completed"].tolerance == pytest.approx(30.0)
    assert guards["cache_hit_rate"].tolerance == FLOORS["cache_hit_rate"][0]
    assert sample_sd([5.0]) == 0.0


def test_compare_flags_moved_new_and_gone_numbers() -> None:
    guards = {"a": Guarded(100.0, 5.0, 1.0), "b": Guarded(1.0, 0.1, 0.0), "gone": Guarded(3.0, 1.0, 0.0)}
    rows = {c.name: c for c in compare_group("A", "simulate", guards, {"a": 104.0, "b": 1.5, "new": 7.0})}
    assert rows["a"].status == "ok"
    assert rows["b"].status == "moved"
    assert rows["b"].change == pytest.approx(0.5)
    assert rows["b"].relative_change == pytest.approx(0.5)
    assert rows["gone"].status == "gone"
    assert rows["new"].status == "new"


def test_plan_numbers_are_exact_and_unbounded_ones_compare_as_none() -> None:
    guards = guard_plan({"x": 1000.0, "unbounded": None, "zero": 0.0})
    assert guards["x"].tolerance == pytest.approx(1e-6)
    assert plan_tolerance(None) == 0.0
    rows = {
        c.name: c.status
        for c in compare_group("A", "plan", guards, {"x": 1000.0 + 1e-3, "unbounded": None, "zero": 0.0})
    }
    assert rows == {"x": "moved", "unbounded": "ok", "zero": "ok"}
    assert {
        c.status for c in compare_group("A", "plan", guards, {"x": 1000.0, "unbounded": 5.0, "zero": 0.0})
    } == {"ok", "moved"}


def test_baseline_round_trips_through_json(tmp_path: Path) -> None:
    baseline = Baseline(
        {
            "A": ScenarioBaseline(
                "A",
                2,
                7,
                ("demand.interviews=10",),
                3,
                {"completed": Guarded(5.0, 2.0, 0.5)},
                {"interviews_per_day": Guarded(None, 0.0)},
            )
        }
    )
    path = tmp_path / "b.json"
    save_baseline(baseline, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    data = json.loads(text)
    assert "tolerance_rule" in data
    assert "3 x sd" in data["tolerance_rule"]
    again = load_baseline(path)
    assert again == baseline
    save_baseline(again, path)
    assert path.read_text(encoding="utf-8") == text  # stable bytes: a clean diff


def test_missing_or_broken_baselines_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="capacity check --update"):
        load_baseline(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read"):
        load_baseline(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"version": 1, "scenarios": {"A": {"days": 1}}}), encoding="utf-8")
    with pytest.raises(UsageError, match="not a capacity baseline"):
        load_baseline(wrong)
