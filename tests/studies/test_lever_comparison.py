"""``compare levers``: none is the base exactly, each row switches on one lever, and the arithmetic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from simkit import build, const, one_turn, provider

from capacity.cli.compare_cmd import levers_pair
from capacity.config.loader import Configuration
from capacity.config.scenario import Scenario
from capacity.errors import UsageError
from capacity.sim.model import simulate
from capacity.studies.levers import LEVERS, compare_levers, lever_settings, with_lever

PROVIDERS = [provider("p0", limits={"rpd": 30}), provider("p1", limits={"rpd": 30})]
BASE = build(PROVIDERS, one_turn(output=const(10.0), max_output=20), {"cache": {"enabled": True}})
"""100 one-turn interviews in one hour; 30 requests a day on each of two providers: the quota binds at 60."""

CATALOGUE = {"key": "catalogue", "catalogue_size": 5, "zipf_exponent": 1.0}
FULL = build(
    PROVIDERS,
    one_turn(output=const(10.0), max_output=20, cache=CATALOGUE),
    {"cache": {"enabled": True}, "name": "tiny-levers", "routing": {"session_affinity": True}},
)
"""The base with the response cache lever (a five-prompt catalogue) and prompt caching on."""


def _lever(name: str) -> object:
    return next(lv for lv in LEVERS if lv.name == name)


def test_the_levers_found_are_the_fields_that_differ() -> None:
    assert [lv.name for lv in lever_settings(BASE, FULL)] == ["response_cache", "prompt_caching"]
    cached = with_lever(BASE, FULL, _lever("response_cache"))  # type: ignore[arg-type]
    assert cached.scenario.script.stages["ask"].cache.key == "catalogue"
    assert cached.scenario.routing.session_affinity is False  # the other lever stays off
    sticky = with_lever(BASE, FULL, _lever("prompt_caching"))  # type: ignore[arg-type]
    assert sticky.scenario.routing.session_affinity is True
    assert sticky.scenario.script.stages["ask"].cache.key == "none"


def test_a_difference_that_is_no_lever_is_refused_by_name() -> None:
    other = build(PROVIDERS, one_turn(output=const(10.0), max_output=20), {"name": "x", "routing": {"max_retries": 3}})
    with pytest.raises(UsageError, match=r"x differs from tiny in routing\.max_retries, which is no lever"):
        lever_settings(BASE, other)
    same = build(PROVIDERS, one_turn(output=const(10.0), max_output=20), {"cache": {"enabled": True}, "name": "y"})
    with pytest.raises(UsageError, match="switches on no lever over tiny"):
        lever_settings(BASE, same)


def test_none_is_the_plain_run_and_the_rows_add_up() -> None:
    result = compare_levers(BASE, FULL, days=1)
    labels = [r.label for r in result.rows]
    assert labels == ["none", "response_cache", "prompt_caching", "all"]
    plain = simulate(BASE, seed=FULL.scenario.seed, days=1)
    none = dict(result.runs)["none"]
    assert none.model_dump(exclude={"wall_time_s"}) == plain.model_dump(exclude={"wall_time_s"})
    for _, run in result.runs:
        i = run.interviews
        assert i.requested == i.completed + i.degraded + i.failed + i.unfinished == 100
    rows = {r.label: r for r in result.rows}
    assert rows["none"].strategy.carried_per_day == 60  # two daily quotas of 30
    assert rows["none"].api_calls_per_interview == pytest.approx(1.0)
    assert rows["prompt_caching"].strategy.carried_per_day == 60  # no provider here has a prompt cache
    # five distinct prompts: at most five calls reach a provider, the cache answers the rest
    assert rows["response_cache"].strategy.carried_per_day == 100
    assert rows["response_cache"].api_calls_per_interview <= 5 / 100
    assert rows["all"].strategy.carried_per_day == 100
    calls = {k: r.api_calls_per_interview for k, r in rows.items()}
    assert result.additive_calls_per_interview == pytest.approx(
        max(0.0, calls["none"] - (calls["none"] - calls["response_cache"]) - (calls["none"] - calls["prompt_caching"]))
    )


def test_a_base_scenario_resolves_to_its_levers_twin(tmp_path: Path) -> None:
    assert levers_pair("A") == ("A", "A-levers")
    assert levers_pair("A-levers") == ("A", "A-levers")
    lone = tmp_path / "lone.yaml"
    lone.write_text("description: x\n", encoding="utf-8")
    with pytest.raises(UsageError, match="extends no other scenario and there is no lone-levers"):
        levers_pair(str(lone))


def test_model_groups_are_one_lever_with_the_default_group_they_partition() -> None:
    grouped = build(
        PROVIDERS,
        one_turn(output=const(10.0), max_output=20),
        {
            "name": "grouped",
            "cache": {"enabled": True},
            "routing": {"destinations": [{"provider": "p0", "model": "m"}]},
        },
    )
    plain = grouped.scenario.model_dump(mode="python")
    plain["routing"]["groups"] = {"big": {"destinations": [{"provider": "p1", "model": "m"}]}}
    plain["script"]["stages"]["ask"]["group"] = "big"
    full = dataclasses.replace(grouped, scenario=Scenario.model_validate(plain))
    two = build(
        PROVIDERS,
        one_turn(output=const(10.0), max_output=20),
        {
            "cache": {"enabled": True},
            "routing": {"destinations": [{"provider": "p0", "model": "m"}, {"provider": "p1", "model": "m"}]},
        },
    )
    assert [lv.name for lv in lever_settings(two, full)] == ["model_groups"]
    moved = with_lever(two, full, _lever("model_groups"))  # type: ignore[arg-type]
    assert [d.provider for d in moved.scenario.routing.destinations] == ["p0"]  # the default group, partitioned
    assert moved.scenario.script.stages["ask"].group == "big"
    result = simulate(moved, days=1)
    assert {d.name for d in result.destinations if d.requests} == {"p1/m"}  # the stage reaches its group only


@pytest.mark.parametrize(
    ("base", "levers"),
    [
        ("A", ["response_cache", "prompt_caching", "deferral", "question_banks"]),
        ("B", ["response_cache", "prompt_caching", "question_banks"]),
        ("seed-claims", ["response_cache", "deferral", "question_banks"]),
    ],
)
def test_the_shipped_levers_scenarios_differ_from_their_base_only_in_levers(
    load_scenario: Callable[..., Configuration], base: str, levers: list[str]
) -> None:
    base_name, full_name = levers_pair(base)
    assert base_name == base
    found = lever_settings(load_scenario(base_name), load_scenario(full_name))
    assert [lv.name for lv in found] == levers
