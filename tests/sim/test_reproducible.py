"""A fixed seed gives the same numbers bit for bit; ``simulate --replications`` reports 95% intervals.

The replications themselves (seeds, intervals) are tested in tests/studies/test_replications.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from simkit import BASE, build, const, demand, destinations, expo, hours, merge, provider
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.config.loader import Configuration
from capacity.result import RunResult
from capacity.sim.model import simulate
from capacity.studies.replications import headline_intervals, replicate

PROVIDERS = [
    provider(
        "p0",
        limits={"rpm": 6, "concurrent_requests": 2},
        ttft=expo(0.5),
        tps={"kind": "normal", "mean": 200, "sd": 50, "min": 20},
        error_rate=0.1,
    ),
    provider(
        "p1", limits={"tpm": 2_000}, ttft={"kind": "lognormal", "median": 0.4, "sigma": 0.6}, error_rate=0.05
    ),
]
SCENARIO: dict[str, Any] = merge(
    {**demand(300, each=2, spacing="same_day"), **hours("09:00", "11:00")},
    {
        "seed": 11,
        "script": {
            "system_prompt_tokens": 100,
            "resume_tokens": 300,
            "answer_tokens": {"kind": "normal", "mean": 60, "sd": 20, "min": 5},
            "think_time_s": expo(20.0),
            "opening": ["resume"],
            "rounds": 3,
            "round": ["question"],
            "stages": {
                "resume": {
                    "input": {"resume": True, "history": False},
                    "output_tokens": const(100),
                    "max_output_tokens": 200,
                    "cache": {"key": "candidate"},
                },
                "question": {
                    "candidate_speaks_before": True,
                    "max_output_tokens": 100,
                    "adds_to_history": True,
                    "output_tokens": {"kind": "normal", "mean": 50, "sd": 20, "min": 1},
                    "cache": {"key": "catalogue", "catalogue_size": 300, "zipf_exponent": 0.8},
                },
            },
        },
        "cache": {"enabled": True},
        **destinations(
            "p0", "p1", strategy="weighted", turn_deadline_s=20.0, max_retries=2, on_deadline="degrade"
        ),
    },
)
"""Randomness everywhere: arrivals, think times, token counts, latencies, errors, retry jitter,
weighted routing, catalogue picks."""


@pytest.fixture(scope="module")
def config() -> Configuration:
    return build(PROVIDERS, SCENARIO)


def _numbers(result: RunResult) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump()
    data.pop("wall_time_s")  # how long the computer took, not part of the model
    return data


def test_same_seed_same_numbers_bit_for_bit(config: Configuration) -> None:
    first, second = simulate(config), simulate(config)
    assert _numbers(first) == _numbers(second)  # floats compared exactly
    assert first.interviews.failed + first.interviews.degraded > 0  # the run exercised the random paths
    assert first.errors
    assert first.cache.hits > 0
    assert _numbers(simulate(config, seed=11)) == _numbers(first)  # the scenario's seed is the default


def test_other_seed_other_numbers(config: Configuration) -> None:
    first, other = simulate(config), simulate(config, seed=12)
    assert other.seed == 12
    assert other.turn_latency_s.mean != first.turn_latency_s.mean
    assert other.timeseries.interview_starts != first.timeseries.interview_starts


def test_cli_replications_report_intervals(tmp_path: Path, config: Configuration) -> None:
    """``capacity simulate --replications 3 --json`` reports each headline number's 95%
    interval over the same three runs as :func:`replicate`."""
    scenario_file = tmp_path / "tiny.yaml"
    providers_file = tmp_path / "providers.yaml"
    scenario_file.write_text(yaml.safe_dump(merge(BASE, SCENARIO)), encoding="utf-8")
    providers_file.write_text(yaml.safe_dump({"providers": PROVIDERS}), encoding="utf-8")
    outcome = CliRunner().invoke(
        app,
        [
            "simulate",
            "--scenario",
            str(scenario_file),
            "--providers",
            str(providers_file),
            "--replications",
            "3",
            "--json",
            "--no-progress",
        ],
    )
    assert outcome.exit_code in (0, 1), outcome.output  # 1: the verdict is NO, still a result
    report = json.loads(outcome.stdout)
    intervals = report["confidence_intervals_95"]
    expected = headline_intervals(replicate(config, 3))
    assert set(intervals) == set(expected)
    for key, interval in expected.items():
        assert intervals[key]["n"] == 3
        assert intervals[key]["mean"] == pytest.approx(interval.mean)
        if math.isfinite(interval.half_width):
            assert intervals[key]["low"] == pytest.approx(interval.low)
            assert intervals[key]["high"] == pytest.approx(interval.high)


def test_progress_ends_full_where_the_run_ends() -> None:
    """The progress callback hears the simulated time hour by hour against the horizon (demand +
    a drain day), and last the time the run ended at, twice: a bar then ends full, also when
    every interview ended before the drain day did (the new-user trial saw one stop at 2/3)."""
    config = load_configuration(scenario_path("A"), default_providers_path())
    calls: list[tuple[float, float]] = []
    simulate(config, days=1, max_interviews=20, progress=lambda now, end: calls.append((now, end)))
    *hourly, last = calls
    assert all(end == 2 * 86_400.0 for _, end in hourly)
    assert [now for now, _ in hourly] == [3600.0 * (i + 1) for i in range(len(hourly))]
    assert last[0] == last[1] == hourly[-1][0] < 2 * 86_400.0
