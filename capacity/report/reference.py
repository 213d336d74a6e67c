"""The reference of every configuration field, as Markdown (``docs/reference.md``).

Generated from the JSON Schema of the pydantic models (:mod:`capacity.config.schema`), so it
cannot disagree with what the loader accepts: one table per object, each field with its type,
default and description (units as the models state them). ``capacity schema --markdown``
prints it; a test checks that the committed ``docs/reference.md`` is current.
"""

from __future__ import annotations

import json
from typing import Any

from capacity.config.schema import FileKind, json_schema

_HEADER = (
    "# Configuration reference\n\n"
    "Every field of a scenario (`scenarios/*.yaml`) and of the provider catalogue (`providers.yaml`), "
    "generated from the models by `capacity schema --markdown` (do not edit by hand). "
    "`capacity schema scenario` / `capacity schema providers` print the same as JSON Schema for an editor. "
    "A field without a default is required; a section left out takes its default.\n"
)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(prop: dict[str, Any]) -> str:
    """A property's type as a reader writes it: ``integer > 0``, ``list of [Stage](#stage)``."""
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " or ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    for key in ("anyOf", "oneOf"):
        if key in prop:
            return " or ".join(_type(p) for p in prop[key])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        extra = prop.get("additionalProperties")
        return f"mapping of name → {_type(extra)}" if isinstance(extra, dict) else "mapping"
    if kind == "null":
        return "null"
    text = {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean"}.get(kind, kind)
    if prop.get("format") in {"date", "time", "date-time"}:
        text = prop["format"]
    bounds = [
        f"{sym} {prop[key]:g}"
        for key, sym in (("exclusiveMinimum", ">"), ("minimum", "≥"), ("exclusiveMaximum", "<"), ("maximum", "≤"))
        if key in prop
    ]
    return " ".join([text, *bounds])


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "its fields' defaults" if "$ref" in prop else "empty" if prop.get("type") == "array" else "–"
    text = json.dumps(prop["default"], ensure_ascii=False)
    return f"`{text}`" if len(text) <= 60 else "the shipped one (see description)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        lines.append(
            f"| `{field}` | {_cell(_type(prop))} | {_cell(_default(prop, field in required))} | "
            f"{_cell(' '.join(prop.get('description', '').split()))} |"
        )
    return [*lines, ""]


def _file_section(kind: FileKind, title: str) -> list[str]:
    schema = json_schema(kind)
    defs = schema.get("$defs", {})
    lines = _table(title, schema)
    lines[0] = f"## {title}"
    for name in sorted(defs):
        lines += _table(name, defs[name])
    return lines


def reference_markdown() -> str:
    """The whole reference: the scenario file, then the providers file, every object's fields."""
    lines = [_HEADER]
    lines += _file_section("scenario", "Scenario file")
    lines += _file_section("providers", "Providers file")
    return "\n".join(lines).rstrip() + "\n"
