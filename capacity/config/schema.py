"""The JSON Schema of the two configuration files, from their pydantic models.

Editors that understand JSON Schema (VS Code's YAML extension, JetBrains IDEs) validate and
complete ``providers.yaml`` and ``scenarios/*.yaml`` with it: every field with its type,
bounds, default and description (units included, as the models state them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from capacity.config.providers import ProvidersFile
from capacity.config.scenario import Scenario

FileKind = Literal["scenario", "providers"]
"""Which configuration file: a scenario, or the provider catalogue."""

_MODELS: dict[str, type[BaseModel]] = {"scenario": Scenario, "providers": ProvidersFile}
_TITLES = {
    "scenario": "capacity scenario (scenarios/*.yaml)",
    "providers": "capacity provider catalogue (providers.yaml)",
}


def json_schema(kind: FileKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario or providers file, as a JSON-ready mapping.

    A scenario's ``name`` is its file's stem, so it is not required in the file; top-level keys
    starting ``x-`` (YAML anchors kept for reuse) are allowed.
    """
    schema: dict[str, Any] = _MODELS[kind].model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = _TITLES[kind]
    if kind == "scenario":
        schema["required"] = [f for f in schema.get("required", []) if f != "name"]
        schema["properties"]["extends"] = {
            "type": "string",
            "description": "A scenario to start from: NAME.yaml beside this file, else the shipped scenario NAME.",
        }
    schema["patternProperties"] = {"^x-": {}}
    return schema
