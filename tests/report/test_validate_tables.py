"""``capacity validate``'s table and JSON: the draws, the live overhead, and the note that says
when the time scale makes the overhead larger than the latency target."""

from __future__ import annotations

import io
import math

from rich.console import Console
from simkit import build, const, demand, hours, one_turn, provider

from capacity.report.validate_tables import render_validation, validation_json
from capacity.sim.model import simulate
from capacity.studies.validate import Overhead, Validation, figures


def validation(per_call_p95_s: float, time_scale: float) -> Validation:
    config = build([provider("p0", ttft=const(0.5), tps=const(100.0))], demand(20), hours("00:00", "01:00"),
                   one_turn(output=const(50.0), max_output=60))  # fmt: skip
    simulated = simulate(config, max_interviews=20, keyed_draws=True)
    measured = simulate(config, max_interviews=20)
    overhead = Overhead(100, 0.002, per_call_p95_s, 0.0002, 0.004, 0.2)
    return Validation("tiny", 20, 7, time_scale, simulated, measured, figures(simulated, measured), {}, True, overhead)


def rendered(v: Validation) -> str:
    out = io.StringIO()
    render_validation(v, Console(file=out, width=400, color_system=None))
    return out.getvalue()


def test_the_overhead_is_shown_in_wall_ms_and_in_run_time_and_the_shared_draws_are_named() -> None:
    v = validation(per_call_p95_s=0.004, time_scale=2.0)  # 8 ms of run time against a 1 s turn: 0.8 %
    assert v.simulated.turn_latency_s.p95 > 0.9
    assert math.isclose(v.overhead_share, 0.008 / v.simulated.turn_latency_s.p95)
    text = rendered(v)
    assert "draws: shared" in text
    assert "p50 2.0 ms, p95 4.0 ms (100 calls; p95 = 0.008 s of run time at 2×)" in text
    assert "note" not in text
    doc = validation_json(v)
    assert doc["shared_draws"] is True
    assert doc["overhead_wall_s"]["per_call_p95"] == 0.004
    assert math.isclose(doc["overhead_share"], v.overhead_share)


def test_an_overhead_larger_than_the_latency_target_at_this_time_scale_is_called_out() -> None:
    v = validation(per_call_p95_s=0.02, time_scale=10.0)  # 0.2 s of run time against a 1 s turn
    assert v.overhead_share > 0.1
    assert "measures this machine's load as much as the model" in rendered(v)


def test_overhead_percentiles_of_no_samples_are_unknown() -> None:
    o = Overhead.of([], [0.001, 0.003])
    assert o.calls == 0 and math.isnan(o.per_call_p95_s)
    assert o.lag_max_s == 0.003
    assert Overhead.of([0.001] * 19 + [0.1], []).per_call_p50_s == 0.001
