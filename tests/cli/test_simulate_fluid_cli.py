"""``capacity simulate --fidelity fluid``: the fast mode's answer, and one clear line for what it does not model."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from capacity.cli.app import app

runner = CliRunner()


def test_fluid_simulation_answers_with_its_fidelity_and_no_latency() -> None:
    done = runner.invoke(
        app, ["simulate", "-s", "A-paid", "--days", "1", "--fidelity", "fluid", "--json", "--no-progress"]
    )
    assert done.exit_code == 0, done.output
    document = json.loads(done.output)
    assert json.dumps(document).count('"fidelity": "fluid"') >= 1
    # the router's checks are not counted in fluid mode: null, not a 0 the exact engine never shows (a trial)
    assert {d["router_refusals"] for d in document["destinations"]} == {None}
    # latency is not modelled: null in JSON, not a 0.0 s that meets any target (a trial); the count says why
    assert document["turn_latency_s"] == {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None,
                                          "max": None}
    assert document["ttft_s"]["p95"] is None and document["queue_wait_s"]["mean"] is None
    assert {h["p95_s"] for h in document["turn_latency_by_hour"]} == {None}
    shown = runner.invoke(app, ["simulate", "-s", "A-paid", "--days", "1", "--fidelity", "fluid", "--no-progress"])
    assert shown.exit_code == 0, shown.output
    assert "not modelled in fluid mode" in shown.output
    # the title says which engine answered (a trial: "simulated run", with no word of fluid)
    assert "simulated run (fluid mode: per-minute flows, no latency)" in " ".join(shown.output.split())
    assert "Quotas bound in this fluid run" not in shown.output  # A-paid: nothing binds, fluid is the tool
    # the interviews' length, which both engines keep (a trial: it was only in --json); A-paid's 2,246 interviews
    # of the first day last 27.8 min on average in the exact engine
    length = document["interview_duration_s"]
    minutes = length["mean"] / 60
    assert 27.0 < minutes < 28.6
    assert f"interview length mean {minutes:.1f} min, p95 {length['p95'] / 60:.1f} min (2,246 carried)" in " ".join(
        shown.output.replace("│", " ").split()
    )


def test_a_fluid_run_where_quotas_bind_says_the_exact_engine_is_the_better_tool() -> None:
    """Tried as a new user would: B's fluid day carried 22% less than the exact one, slower, with no warning."""
    shown = runner.invoke(
        app, ["simulate", "-s", "A", "--days", "1", "--fidelity", "fluid", "--no-progress"],
    )
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.replace("│", " ").split())
    assert "Quotas bound in this fluid run" in text and "run it without --fidelity fluid" in text


def test_fluid_refuses_a_setting_it_does_not_model_in_one_line() -> None:
    done = runner.invoke(
        app, ["simulate", "-s", "A", "--fidelity", "fluid", "--set", "routing.strategy=latency_aware", "--no-progress"]
    )
    assert done.exit_code == 2
    assert "latency_aware" in done.output and "Traceback" not in done.output
    bad = runner.invoke(app, ["simulate", "-s", "A", "--fidelity", "rough", "--no-progress"])
    assert bad.exit_code == 2
    assert "expected exact or fluid" in bad.output


def test_fluid_replications_judge_the_carried_share_and_show_no_latency() -> None:
    """Tried as a new user would: ``-r 2 --fidelity fluid`` opened its verdict with "p95 turn latency 0.00 s
    (95% CI 0.00 – 0.00; target 3 s)", a figure the fluid mode never simulated, and its JSON said the same."""
    args = ["simulate", "-s", "B-paid", "--days", "1", "-r", "2", "--fidelity", "fluid", "--no-progress"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.replace("│", " ").split())
    assert "YES on the means" in text and "turn latency not modelled (fluid mode" in text
    assert "prompt cache (run 1)" in text  # replication 1's figure, marked as its neighbours are (a trial)
    assert "0.00 s" not in text
    done = runner.invoke(app, [*args, "--json"])

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    document = json.loads(done.output, parse_constant=refuse)
    assert document["confidence_intervals_95"]["turn_latency_p95_s"] == {"mean": None, "low": None, "high": None,
                                                                        "n": 2}
    assert document["verdict_on_means"]["carries"] is True
    assert "not modelled" in document["verdict_on_means"]["summary"]
