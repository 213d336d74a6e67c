"""A live run with model groups (calls faked in-process, as in test_runtime): each stage's calls
go only to its group's provider, and the run does what the simulator does with the same seed."""

from __future__ import annotations

from simkit import build, check_conservation, const, demand, hours, provider
from test_runtime import SCALE, Answering

from capacity.live.load import run_live
from capacity.sim.model import simulate


def test_a_live_run_sends_each_stage_only_to_its_groups_provider() -> None:
    stage = {"input": {"history": False}, "output_tokens": const(5.0), "max_output_tokens": 8}
    config = build(
        [provider(p, ttft=const(0.5), tps=const(100.0)) for p in ("big", "small")],
        demand(20, days=1),
        hours("00:00", "01:00"),
        {
            "script": {
                "system_prompt_tokens": 50,
                "resume_tokens": 0,
                "answer_tokens": const(10.0),
                "think_time_s": const(5.0),
                "opening": ["ask"],
                "rounds": 2,
                "round": ["follow_up"],
                "closing": ["score"],
                "stages": {
                    "ask": {**stage, "group": "fast"},
                    "follow_up": {**stage, "group": "fast", "candidate_speaks_before": True},
                    "score": stage,
                },
            }
        },
        {
            "routing": {
                "destinations": [{"provider": "big", "model": "m"}],
                "groups": {"fast": {"destinations": [{"provider": "small", "model": "m"}]}},
            }
        },
    )
    factory = Answering(1.0)
    live = run_live(config, factory, interviews=10, time_scale=SCALE)
    check_conservation(live)
    assert live.interviews.completed == 10
    where = {(c.stage, c.routed.destination.name) for c in factory.sent}
    assert where == {("ask", "small/m"), ("follow_up", "small/m"), ("score", "big/m")}
    assert len(factory.sent) == 40
    simulated = simulate(config, max_interviews=10)
    assert live.requests == simulated.requests
    assert [d.requests for d in live.destinations] == [d.requests for d in simulated.destinations] == [10, 30]
