"""The Python API (``capacity.api``): the README's example runs as written, and each function
returns what the command line prints, as objects and pandas frames."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from capacity import api
from capacity.errors import ConfigError, UsageError
from capacity.result import RunResult
from tests.conftest import CHECKOUT, readme_scenario


@pytest.fixture(scope="module")
def week_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[api.Configuration, RunResult]:
    path = tmp_path_factory.mktemp("api") / "week.yaml"
    path.write_text(readme_scenario(), encoding="utf-8")
    config = api.load(path)
    (run,) = api.simulate(config)
    return config, run


def test_the_readme_example_runs_and_prints_the_plan_and_the_run() -> None:
    text = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text[text.index("## From Python") :], re.S)
    assert match is not None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(match.group(1), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "plan: 1,045 of 2,273 interviews/day"
    assert re.fullmatch(r"simulated: [\d,]+ interviews/day \(95% CI ± [\d,]+\)", lines[1])
    assert lines[2].startswith(("NO: it carries", "YES"))
    assert lines[4].startswith("destination")


def test_load_with_overrides_and_plan() -> None:
    config = api.load("A", overrides=["routing.destinations=[{provider: gemini, model: gemini-2.0-flash}]"])
    planned = api.plan(config)
    assert planned.totals.interviews_per_day == 8  # 200 requests/day ÷ 25 per interview
    assert planned.seed_claim_checks == ()
    assert len(api.plan(config, seed_claims=True).seed_claim_checks) == 12


def test_bad_input_raises_the_command_line_s_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'A'"):
        api.load("a")
    broken = tmp_path / "x.yaml"
    broken.write_text(readme_scenario().replace("days: 5", "days: -5"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"x\.yaml:3: demand\.days"):
        api.load(broken)
    with pytest.raises(UsageError, match="replications 0"):
        api.simulate(api.load("B"), replications=0)


def test_simulate_is_the_command_line_s_run(week_run: tuple[api.Configuration, RunResult]) -> None:
    config, run = week_run
    assert (run.scenario, run.seed, run.days) == ("week", 1, 5)
    assert run.interviews.requested == 500
    assert run.need_interviews_per_day == 100
    verdict = api.verdict(run, config)
    assert verdict.carries is False
    per_day = run.carried_interviews_per_day
    assert verdict.headline.startswith(f"NO: it carries {per_day:,.0f} interviews per calendar day")


def test_replications_have_independent_seeds_and_an_interval(week_run: tuple[api.Configuration, RunResult]) -> None:
    config, first = week_run
    runs = api.simulate(config, replications=3)
    assert runs[0] == first.model_copy(update={"wall_time_s": runs[0].wall_time_s})
    assert len({r.seed for r in runs}) == 3
    carried = api.intervals(runs)["carried_interviews_per_day"]
    values = [r.carried_interviews_per_day for r in runs]
    assert carried.n == 3
    assert carried.mean == pytest.approx(sum(values) / 3)
    assert carried.low <= min(values) <= max(values) <= carried.high
    assert math.isnan(api.intervals(runs[:1])["carried_interviews_per_day"].half_width)


def test_frames(week_run: tuple[api.Configuration, RunResult]) -> None:
    _, run = week_run
    summary = run.to_frame()
    assert summary.index.names == ["scenario", "seed"]
    assert summary.loc[("week", 1), "completed"] == run.interviews.completed
    assert summary.loc[("week", 1), "carried_interviews_per_day"] == run.carried_interviews_per_day
    minutes = run.to_frame("minutes")
    assert minutes.index[0] == pd.Timestamp("2025-10-06 00:00", tz="UTC")
    assert (minutes.index[1] - minutes.index[0]) == pd.Timedelta(minutes=1)
    assert minutes["api_calls"].sum() == run.requests.api_calls
    assert minutes["failed_turns"].sum() == run.requests.failed
    assert minutes["interview_starts"].sum() == run.interviews.requested - run.interviews.turned_away
    destinations = run.to_frame("destinations")
    assert list(destinations.index) == ["groq/llama-3.1-8b-instant", "gemini/gemini-2.5-flash-lite"]
    assert destinations["requests"].sum() == run.requests.api_calls
    assert destinations.loc["groq/llama-3.1-8b-instant", "router_refusals"] == run.destinations[0].router_refusals > 0
    with pytest.raises(ValueError, match="unknown frame 'hours'"):
        run.to_frame("hours")  # type: ignore[arg-type]
