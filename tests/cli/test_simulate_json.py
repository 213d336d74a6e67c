"""``capacity simulate``'s JSON document (``--json`` and ``--out`` are the same), and its
summary and verdict over replications (means with 95% intervals, the whole run's wall time)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity import ENGINE, api
from capacity.cli import app
from capacity.result import RunResult
from tests.conftest import readme_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("json") / "week.yaml"
    path.write_text(readme_scenario(), encoding="utf-8")
    return path


def test_json_and_out_are_one_document_with_everything(week: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["simulate", "-s", str(week), "--json", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    written = json.loads(out.read_text(encoding="utf-8"))
    for doc in (printed, written):
        doc.pop("wall_time_s")
        doc.pop("wall_time_total_s")
    assert printed == written
    # the document is a RunResult with the verdict, intervals and providers file beside it
    run = RunResult.model_validate({k: v for k, v in printed.items() if k in RunResult.model_fields})
    assert run.interviews.requested == 500
    assert printed["providers_file"].endswith("providers.yaml")
    assert len(printed["timeseries"]["api_calls"]) > 5 * 24 * 60  # the per-minute series
    groq = printed["destinations"][0]
    assert "rejected" not in groq
    assert groq["router_refusals"] == run.destinations[0].router_refusals > 0
    verdict = printed["verdict"]
    assert verdict["carries"] is False
    assert verdict["headline"].startswith("NO: it carries 46 interviews per calendar day")
    timeline = verdict["timeline"]
    assert timeline["backlog_interviews"] == run.interviews.failed + run.interviews.unfinished == 268
    first = timeline["first_refused"]
    assert (first["destination"], first["window"]) == ("groq/llama-3.1-8b-instant", "tpm")
    start = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)
    for key in ("first_refused", "first_queued", "first_failed"):
        at = dt.datetime.fromisoformat(timeline[key]["at_utc"])
        assert at == start + dt.timedelta(seconds=timeline[key]["at_s"])
    assert timeline["first_refused"]["at_s"] <= timeline["first_queued"]["at_s"]
    # which engine simulated it, as `capacity --version` says
    assert printed["engine"] == {"compiled": ENGINE.compiled, "why": ENGINE.why}


def test_replications_show_means_intervals_and_the_whole_wall_time(week: Path) -> None:
    result = runner.invoke(app, ["simulate", "-s", str(week), "-r", "3", "--no-progress"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    runs = api.simulate(api.load(week), replications=3)
    carried = api.intervals(runs)["carried_interviews_per_day"]
    out = result.stdout
    assert "3 replications (means, 95% CI)" in out
    ci = f"(95% CI {carried.low:,.1f} – {carried.high:,.1f}, n=3)"
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 3}
    assert rows["carried"] == f"mean {carried.mean:,.1f} {ci} interviews/calendar day"
    # the interview counts are means too, and add up; what is replication 1's says so
    outcomes = ("completed", "degraded", "failed", "unfinished")
    means = {k: sum(getattr(r.interviews, k) for r in runs) / 3 for k in outcomes}
    assert rows["interviews (means)"] == f"{sum(means.values()):,.1f} requested = " + " + ".join(
        f"{v:,.1f} {k}" for k, v in means.items()
    )
    assert rows["cost"].startswith(f"mean ${sum(r.cost_usd for r in runs) / 3:,.2f} (95% CI $")
    assert {"time to first token (run 1)", "turns (run 1)", "tokens (run 1)"} <= rows.keys()
    assert f"Over 3 replications: NO on the means: carried {carried.mean:,.0f} interviews per calendar day" in out
    wall = next(line for line in out.splitlines() if "│ wall time" in line)
    assert "for 3 replications" in wall
    assert float(wall.split("│")[2].split()[0]) >= sum(r.wall_time_s for r in runs) * 0.3  # whole run, not one
    document = json.loads(runner.invoke(app, ["simulate", "-s", str(week), "-r", "3", "--json"]).stdout)
    assert document["replications"] == 3
    assert document["confidence_intervals_95"]["carried_interviews_per_day"]["mean"] == pytest.approx(carried.mean)
    assert document["verdict_on_means"]["carries"] is False
    assert document["verdict_on_means"]["summary"].startswith("Over 3 replications: NO on the means")


def test_fail_if_short_judges_the_means_of_replications(week: Path) -> None:
    # 50 interviews a day on Groq and Gemini's free tiers: every replication carries them
    small = ["--set", "demand.interviews=50", "--set", "candidates.count=5", "--days", "1", "--no-progress"]
    done = runner.invoke(app, ["simulate", "-s", str(week), "-r", "2", "--fail-if-short", *small])
    assert done.exit_code == 0, done.output
    assert "Over 2 replications: YES on the means" in done.stdout
    # 500 interviews in one day: both replications fall short, and so do their means
    short = ["--set", "demand.days=1", "--no-progress"]
    failed = runner.invoke(app, ["simulate", "-s", str(week), "-r", "2", "--fail-if-short", *short])
    assert failed.exit_code == 1, failed.output
    assert "Over 2 replications: NO on the means" in failed.stdout
