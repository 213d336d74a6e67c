"""Model groups in whole simulated runs: a stage's requests reach only its group's destinations,
a destination named by two groups keeps one ledger, and a group out of quota does not hold up
another group's turns.

Each stage of the script asks for its own ``max_tokens`` (10 + its position), so a
:class:`~simkit.Probe` that records every admission can tell which stage each request was.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import Probe, build, check_conservation, const, demand, provider

from capacity.config.loader import Configuration
from capacity.config.scenario import Routing
from capacity.result import RunResult
from capacity.sim.model import Simulation

PROVIDERS = ("p0", "p1", "p2", "p3")
STRATEGIES = ("fill_first", "weighted", "most_headroom", "latency_aware", "cost_aware")
DAY_S = 86_400.0


def _script(groups: list[str]) -> dict[str, Any]:
    """One stage per entry of ``groups`` (stage i names group ``groups[i]`` and asks for 10 + i
    tokens, writing none: zero service time), run once each in order, no think time."""
    stages = {
        f"s{i}": {
            "input": {"history": False},
            "output_tokens": const(0.0),
            "max_output_tokens": 10 + i,
            "group": group,
        }
        for i, group in enumerate(groups)
    }
    return {
        "script": {
            "system_prompt_tokens": 50,
            "resume_tokens": 0,
            "answer_tokens": const(0.0),
            "think_time_s": const(0.0),
            "opening": list(stages),
            "stages": stages,
        }
    }


def _run(config: Configuration) -> tuple[RunResult, Probe]:
    probe = Probe(Simulation(config))
    result = probe.run()
    check_conservation(result)
    return result, probe


def _members(routing: Routing) -> dict[int, set[int]]:
    """Each group's index → its destinations' indices."""
    return {g: set(m) for g, m in enumerate(routing.group_members.values())}


subsets = st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=3, unique=True)


@st.composite
def grouped_scenarios(draw: st.DrawFn) -> tuple[Configuration, list[str]]:
    """A small random scenario: up to four providers with small daily limits (or none), the
    default group and one or two more over random (overlapping) subsets of them, each with a
    random strategy, and three stages each naming a random group."""
    names = ["default", *draw(st.lists(st.sampled_from(["fast", "smart"]), min_size=1, max_size=2, unique=True))]
    providers = [
        provider(p, limits={"rpd": rpd} if (rpd := draw(st.sampled_from([None, 3, 8, 20]))) else {})
        for p in PROVIDERS
    ]
    groups = {
        name: {
            "strategy": draw(st.sampled_from(STRATEGIES)),
            "destinations": [{"provider": p, "model": "m"} for p in draw(subsets)],
        }
        for name in names[1:]
    }
    stage_groups = draw(st.lists(st.sampled_from(names), min_size=3, max_size=3))
    routing = {
        "destinations": [{"provider": p, "model": "m"} for p in draw(subsets)],
        "strategy": draw(st.sampled_from(STRATEGIES)),
        "groups": groups,
        "on_exhausted": draw(st.sampled_from(["queue", "fail", "degrade"])),
        "turn_deadline_s": 600.0,
    }
    config = build(providers, demand(20), _script(stage_groups), {"routing": routing})
    return config, stage_groups


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouped_scenarios())
def test_a_stage_routed_to_a_group_never_reaches_another_groups_destinations(
    case: tuple[Configuration, list[str]],
) -> None:
    config, stage_groups = case
    routing = config.scenario.routing
    members = _members(routing)
    index = {name: g for g, name in enumerate(routing.group_members)}
    result, probe = _run(config)
    assert probe.admitted, "every example sends some request"
    for a in probe.admitted:
        group = index[stage_groups[a.max_output_tokens - 10]]
        assert a.group == group
        assert a.dest in members[group]
    # one ledger per destination, whichever groups name it: its daily limit holds over all of them
    for i, d in enumerate(routing.all_destinations):
        rpd = config.provider(d.provider or "").models[0].limits.rpd
        if rpd is not None:
            assert len([a for a in probe.at(i) if a.at < DAY_S]) <= rpd
    assert result.requests.provider == len(probe.admitted)


def test_a_destination_in_two_groups_is_one_destination_with_one_ledger() -> None:
    """p0 (RPD 30) in both groups, 20 interviews of one fast and one smart turn: 40 requests
    want p0, its one ledger admits 30 over the day, the rest go to each group's own spare."""
    config = build(
        [provider("p0", limits={"rpd": 30}), provider("p1"), provider("p2")],
        demand(20),
        _script(["default", "smart"]),
        {
            "routing": {
                "destinations": [{"provider": "p0", "model": "m"}, {"provider": "p1", "model": "m"}],
                "groups": {
                    "smart": {"destinations": [{"provider": "p0", "model": "m"}, {"provider": "p2", "model": "m"}]}
                },
                "on_exhausted": "fail",
            }
        },
    )
    routing = config.scenario.routing
    assert [d.label for d in routing.all_destinations] == ["p0/m", "p1/m", "p2/m"]
    assert routing.group_members == {"default": (0, 1), "smart": (0, 2)}
    result, probe = _run(config)
    assert len(probe.at(0)) == 30
    assert len(probe.at(1)) + len(probe.at(2)) == 10
    assert {a.max_output_tokens for a in probe.at(1)} == {10} and {a.max_output_tokens for a in probe.at(2)} == {11}
    assert result.interviews.completed == 20


def test_a_group_out_of_quota_does_not_hold_up_another_groups_turns() -> None:
    """Stage s0 (group smart: p1 with RPM 1) then s1 (default: p0, no limits): 30 interviews in an
    hour queue for p1, one a minute, but every s1 turn is admitted the moment it asks — none waits
    behind the smart group's line."""
    config = build(
        [provider("p0"), provider("p1", limits={"rpm": 1})],
        demand(30),
        _script(["smart", "default"]),
        {
            "routing": {
                "destinations": [{"provider": "p0", "model": "m"}],
                "groups": {"smart": {"destinations": [{"provider": "p1", "model": "m"}]}},
                "on_exhausted": "queue",
                "turn_deadline_s": 1e6,
            }
        },
    )
    result, probe = _run(config)
    assert result.interviews.completed == 30
    smart, fast = probe.at(1), probe.at(0)
    assert len(smart) == len(fast) == 30
    assert result.queue_wait_s.max > 60.0  # the smart line did queue
    # each s1 turn follows its own s0 answer (zero service time) at once: an s1 admission
    # happens at the very time of an s0 admission, never later
    smart_times = {a.at for a in smart}
    assert all(a.at in smart_times for a in fast)
