"""``capacity scenarios``, ``capacity init`` and ``capacity schema``, and the generated
reference of every field (docs/reference.md) being current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config import default_providers_path, load_configuration
from capacity.report.reference import reference_markdown
from tests.conftest import CHECKOUT, SHIPPED_PROVIDERS, SHIPPED_SCENARIOS

runner = CliRunner()


def test_scenarios_lists_every_shipped_one_with_its_description() -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0, result.output
    listed = {row["name"]: row["description"] for row in json.loads(result.stdout)}
    assert set(listed) >= {p.stem for p in SHIPPED_SCENARIOS.glob("*.yaml")}
    assert listed["A"] == "50,000 interviews over 30 days (≈1,667/day) on 2025 free tiers"
    assert listed["B"] == "50,000 interviews per day on 2025 free tiers"


def test_init_writes_a_starter_that_plans(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "week", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "week.yaml"
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# week: a capacity scenario")
    config = load_configuration(written, default_providers_path())
    assert (config.scenario.demand.interviews, config.scenario.candidates.count) == (500, 50)
    planned = runner.invoke(app, ["plan", "-s", str(written)])
    assert "500 interviews over 5 days = 100/calendar day" in planned.output
    again = runner.invoke(app, ["init", "week", "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert "exists" in again.output


@pytest.mark.parametrize("source", ["A", "B"])
def test_init_from_a_shipped_scenario_loads_as_it(source: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "mine", "--from", source, "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    mine = load_configuration(tmp_path / "mine.yaml", default_providers_path()).scenario
    shipped = load_configuration(SHIPPED_SCENARIOS / f"{source}.yaml", SHIPPED_PROVIDERS).scenario
    assert mine.model_copy(update={"name": source}) == shipped


def test_init_from_an_unknown_scenario_suggests(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "mine", "--from", "b", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "did you mean 'B'?" in result.output
    assert not (tmp_path / "mine.yaml").exists()


def _as_json(path: Path) -> Any:
    """A YAML file as the JSON an editor validates (dates and times as strings)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def test_schema_validates_every_shipped_file_and_catches_a_mistake() -> None:
    scenario = json.loads(runner.invoke(app, ["schema", "scenario"]).stdout)
    providers = json.loads(runner.invoke(app, ["schema", "providers"]).stdout)
    assert scenario["required"] == ["demand", "candidates", "routing"]
    assert "tokens" in scenario["$defs"]["Script"]["properties"]["resume_tokens"]["description"]
    for path in SHIPPED_SCENARIOS.glob("*.yaml"):
        data = _as_json(path)
        if "extends" not in data:
            jsonschema.validate(data, scenario)
    jsonschema.validate(_as_json(SHIPPED_PROVIDERS), providers)
    broken = _as_json(SHIPPED_SCENARIOS / "A.yaml")
    broken["routing"]["turn_dedline_s"] = 30
    with pytest.raises(jsonschema.ValidationError, match="turn_dedline_s"):
        jsonschema.validate(broken, scenario)


def test_schema_of_an_unknown_file_is_bad_input() -> None:
    result = runner.invoke(app, ["schema", "scenarios"])
    assert result.exit_code == 2
    assert "expected scenario or providers" in result.output


def test_reference_in_docs_is_current() -> None:
    committed = (CHECKOUT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run `capacity schema --markdown > docs/reference.md`"
    assert "| `turn_deadline_s` | number > 0 | `30.0` | Longest a turn may wait, s. |" in committed
