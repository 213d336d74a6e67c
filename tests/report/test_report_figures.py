"""The report's figures: drawn from a RunResult, legible, and the same bytes for the same data."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from capacity.config import Configuration
from capacity.plan import plan as make_plan
from capacity.report.figures._day import _quiet_start_hour, day_window
from capacity.report.figures.cost import cost_figure, cost_rows, cost_summary
from capacity.report.figures.curve import curve_figure
from capacity.report.figures.demand import CapacityLine, demand_figure
from capacity.report.figures.latency import latency_figure
from capacity.report.figures.quota import quota_figure, quota_rows
from capacity.report.figures.requests import call_segments, requests_figure, turn_segments
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.studies.costs import list_prices
from capacity.studies.sweep import capacity_curve

SMALL_A = ("demand.interviews=2000", "candidates.count=200")
SMALL_B = ("demand.interviews=300", "candidates.count=30")


@pytest.fixture(scope="module")
def small_a(load_scenario: Callable[..., Configuration]) -> Configuration:
    return load_scenario("A", *SMALL_A)


@pytest.fixture(scope="module")
def run_a(small_a: Configuration) -> RunResult:
    return simulate(small_a, days=1)


@pytest.fixture(scope="module")
def run_b(load_scenario: Callable[..., Configuration]) -> RunResult:
    return simulate(load_scenario("B", *SMALL_B), days=1)


def _draw_all(config: Configuration, result: RunResult, out: Path) -> list[Path]:
    plan = make_plan(config)
    return [
        demand_figure(result, out / "demand.png", CapacityLine(plan.totals.interviews_per_day, 12.0)),
        quota_figure(result, out / "quota.png"),
        latency_figure(result, out / "latency.png"),
        requests_figure(result, out / "requests.png"),
        cost_figure(cost_summary(result, list_prices(config), 22.0), out / "cost.png"),
    ]


def test_figures_are_pngs_without_varying_metadata_and_the_same_bytes_each_time(
    small_a: Configuration, run_a: RunResult, tmp_path: Path
) -> None:
    first = _draw_all(small_a, run_a, tmp_path / "one")
    for path in first:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        assert b"Software" not in data
        assert b"Creation" not in data
        assert len(data) > 10_000, path  # something was drawn
    second = _draw_all(small_a, run_a, tmp_path / "two")
    for a, b in zip(first, second, strict=True):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), a.name


def test_cache_hits_and_a_short_run_draw_too(
    load_scenario: Callable[..., Configuration], run_b: RunResult, tmp_path: Path
) -> None:
    assert run_b.requests.cache > 0  # answers in no time: drawn at the latency floor
    for path in _draw_all(load_scenario("B", *SMALL_B), run_b, tmp_path):
        assert path.stat().st_size > 10_000


def test_the_curve_figure_draws_a_small_sweep(small_a: Configuration, tmp_path: Path) -> None:
    curve = capacity_curve(small_a, make_plan(small_a), days=1, factors=[0.5, 1.0])
    path = curve_figure(curve, tmp_path / "curve.png")
    assert path.stat().st_size > 10_000


def test_the_day_shown_starts_in_the_quiet_hours_and_holds_the_day(run_a: RunResult) -> None:
    window = day_window(run_a)
    starts = np.asarray(run_a.timeseries.interview_starts)
    a = window.start_hour * 60
    assert starts[a : a + 24 * 60].sum() == starts.sum()  # one day of demand: all of it in the window
    assert window.reason.startswith("busiest") or window.reason.startswith("worst")
    assert "UTC" in window.caption()
    assert len(window.hour_labels()) == 24


def test_quiet_start_hour_ends_the_longest_quiet_stretch() -> None:
    minutes = np.zeros(48 * 60)
    minutes[13 * 60 : 25 * 60] = 5  # busy 13:00–01:00 UTC, twice
    minutes[37 * 60 : 48 * 60] = 5
    assert _quiet_start_hour(minutes) == 12
    assert _quiet_start_hour(np.ones(24 * 60)) == 0


def test_segments_account_for_every_turn_and_call(run_a: RunResult) -> None:
    assert sum(s.count for s in turn_segments(run_a)) == run_a.requests.logical
    assert sum(s.count for s in call_segments(run_a)) == run_a.requests.api_calls


def test_quota_rows_name_the_binding_window(run_b: RunResult) -> None:
    rows = quota_rows(run_b)
    assert rows
    assert all(0.0 <= float(r.fraction.max()) <= 1.0 + 1e-6 for r in rows)
    bound = [r for r in rows if r.binding_window]
    assert bound
    assert all("(" in r.label and "none refused" not in r.label for r in bound)


def test_cost_rows_price_free_tokens_at_the_list_price(small_a: Configuration, run_a: RunResult) -> None:
    rows = {r.destination: r for r in cost_rows(run_a, list_prices(small_a))}
    used = [r for r in rows.values() if r.list_usd]
    assert used
    assert all(r.billed_usd == 0 for r in rows.values())  # scenario A: free tiers only
    assert rows["github-models/openai/gpt-4o-mini"].list_usd is None  # no paid price in providers.yaml


def test_quota_cells_tell_idle_from_exhausted() -> None:
    import datetime as dt

    from capacity.report.figures._day import DayWindow
    from capacity.report.figures.quota import EXHAUSTED, QuotaRow, day_grid, hour_grid

    hours_ = 48
    fraction = np.zeros(hours_)
    full = np.zeros(hours_)
    fraction[13:20] = 0.6  # day 1: used, 60 % of the limit
    fraction[20] = 1.0  # full at an admission
    full[20:24] = 1.0  # then full and nothing admitted: exhausted until midnight
    full[24 + 13 : 48] = 1.0  # day 2: a monthly cap gone, nothing admitted all day
    row = QuotaRow("mistral/mistral-small-latest", "tokens_per_month", fraction, ["tokens_per_month"] * hours_, full)
    window = DayWindow(0, 0, "busiest day", dt.datetime(2025, 10, 6, tzinfo=dt.UTC))
    by_hour = hour_grid([row], window)[0]
    assert by_hour[13] == pytest.approx(60.0) and by_hour[20] == pytest.approx(100.0)
    assert list(by_hour[21:24]) == [EXHAUSTED] * 3
    assert list(by_hour[:13]) == [0.0] * 13  # idle: nothing sent, nothing full
    assert list(day_grid([row], 2)[0]) == [pytest.approx(100.0), EXHAUSTED]
    assert list(row.exhausted[20:25]) == [False, True, True, True, False]


def test_a_plan_without_limits_draws_the_demand_figure(run_a: RunResult, tmp_path: Path) -> None:
    # a paid API states no limit: the plan carries without bound (capacity report -s B-paid crashed:
    # "Axis limits cannot be NaN or Inf")
    path = demand_figure(run_a, tmp_path / "demand.png", CapacityLine(float("inf"), 12.0))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
