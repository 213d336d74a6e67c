"""The plan of a scenario with model groups, against arithmetic done by hand.

Three stages of 100-token prompts (a 100-token system prompt, no history) writing 20 tokens each:
``ask`` and ``nudge`` on the group ``fast`` (p_fast: RPD 1,000, $1 / $2 per million tokens in /
out, paid), ``score`` on the default group (p_smart: RPD 150, free). An interview sends 2 requests
to fast and 1 to smart; interviews run on every day of a 10-day horizon, 1,000 in all: 100 a day.

* fast: 1,000 requests a day ÷ 2 = 500 interviews a day; smart: 150 ÷ 1 = 150 — smart binds.
* The scenario carries min(500, 150) = 150 a day, headroom 150 − 100 = 50.
* Cost: fast takes the whole need, 100 × 2 = 200 requests a day of 100 in + 20 out tokens:
  200 × (100 × $1 + 20 × $2) / 1e6 = $0.028 a day; a month of every-day interviewing (30 days): $0.84.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from simkit import build, const, demand, hours, provider

from capacity.config.groups import QUALITY_NOTE
from capacity.config.loader import Configuration, load_configuration
from capacity.config.paths import default_providers_path
from capacity.plan import plan


def _stage(group: str) -> dict[str, object]:
    return {"input": {"history": False}, "output_tokens": const(20.0), "max_output_tokens": 20, "group": group}


SCRIPT = {
    "script": {
        "system_prompt_tokens": 100,
        "resume_tokens": 0,
        "answer_tokens": const(0.0),
        "think_time_s": const(0.0),
        "opening": ["ask", "nudge", "score"],
        "stages": {"ask": _stage("fast"), "nudge": _stage("fast"), "score": _stage("default")},
    }
}


def _config(fast_rpd: int = 1000) -> Configuration:
    return build(
        [
            provider("p_fast", limits={"rpd": fast_rpd}, billing="paid", prices=(1.0, 2.0)),
            provider("p_smart", limits={"rpd": 150}),
        ],
        demand(1000, days=10),
        hours("09:00", "17:00"),
        SCRIPT,
        {
            "routing": {
                "destinations": [{"provider": "p_smart", "model": "m"}],
                "groups": {"fast": {"strategy": "cost_aware", "destinations": [{"provider": "p_fast", "model": "m"}]}},
            }
        },
    )


def test_each_group_carries_its_own_demand_and_the_least_binds() -> None:
    result = plan(_config())
    groups = {g.name: g for g in result.groups}
    assert groups["fast"].api_requests_per_interview == 2
    assert groups["default"].api_requests_per_interview == 1
    assert groups["fast"].stages == ("ask", "nudge") and groups["default"].stages == ("score",)
    assert groups["fast"].tokens_per_request == pytest.approx(120)
    assert groups["fast"].interviews_per_day == pytest.approx(500)
    assert groups["default"].interviews_per_day == pytest.approx(150)
    assert groups["fast"].binding == "p_fast/m (rpd)"
    assert result.binding_group == "default" and result.groups[0].name == "default"
    assert result.totals.interviews_per_day == pytest.approx(150)
    assert result.totals.headroom_interviews_per_day == pytest.approx(50)
    assert result.totals.carries_need
    assert result.totals.requests_per_day == pytest.approx(1150)
    assert result.totals.monthly_cost_usd == pytest.approx(0.84)
    assert result.workload.api_requests_per_interview == 3  # the interview as a whole is unchanged
    assert [p.label for p in result.destinations] == ["p_smart/m", "p_fast/m"]
    assert QUALITY_NOTE in result.notes
    assert any("default binds" in n for n in result.notes)
    assert result.to_json()["binding_group"] == "default"


def test_a_group_no_stage_sends_to_has_no_rows_and_takes_nothing() -> None:
    """The new-user trial: with every stage on named groups, the default group's destinations
    were listed as 'unbounded' and took the whole need, so the Taken column passed the need."""
    config = _config()
    stages = {n: s.model_copy(update={"group": "fast"}) for n, s in config.scenario.script.stages.items()}
    script = config.scenario.script.model_copy(update={"stages": stages})
    result = plan(dataclasses.replace(config, scenario=config.scenario.model_copy(update={"script": script})))
    assert [p.label for p in result.destinations] == ["p_fast/m"]  # p_smart (default group) takes nothing
    assert result.totals.requests_per_day == pytest.approx(1000)  # p_fast's alone, counted once
    assert result.totals.interviews_per_day == pytest.approx(1000 / 3)  # three requests an interview on fast
    assert result.binding_group == "fast"


def test_a_starved_small_model_group_binds_instead() -> None:
    """fast at RPD 100 carries 100 ÷ 2 = 50 interviews a day, short of the 100 needed."""
    result = plan(_config(fast_rpd=100))
    assert result.binding_group == "fast"
    assert result.totals.interviews_per_day == pytest.approx(50)
    assert not result.totals.carries_need


def test_the_readme_example_of_model_groups_plans_as_the_readme_says(tmp_path: Path) -> None:
    """README, "Model groups": A with questions and evaluations on Groq 8B and Gemini 2.5
    Flash-Lite, the rest on Groq 70B and Gemini 2.5 Flash, plans 54 interviews a day, the group
    fast binding (the default group alone: 141)."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Model groups") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match is not None
    path = tmp_path / "groups.yaml"
    path.write_text(match.group(1), encoding="utf-8")
    result = plan(load_configuration(path, default_providers_path()))
    groups = {g.name: g for g in result.groups}
    assert result.binding_group == "fast"
    assert math.floor(result.totals.interviews_per_day) == 54
    assert math.floor(groups["default"].interviews_per_day) == 141
    assert groups["fast"].api_requests_per_interview == 23
    assert "This example plans 54 interviews a day" in section
