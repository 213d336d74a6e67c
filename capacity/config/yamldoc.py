"""YAML documents that remember where each field came from, and their validation.

:func:`read_yaml` parses a file and records the 1-based line of every key and value, so that
:func:`validate` turns each pydantic error into a :class:`~capacity.errors.Problem` naming the
file, the line and the field path. The scenario loader and the GPU catalogue both read their
files through here; this module imports no other module of ``config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from capacity.config.paths import suggest
from capacity.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)
FieldPath = tuple[str | int, ...]
"""A field's place in a document: mapping keys and list indices (``("routing", "destinations", 0)``)."""
Location = tuple[str, int]
"""Where a field is written: (file, 1-based line)."""
SET_ORIGIN = "--set"
"""Where a problem in a value given with ``--set`` comes from (no file, no line)."""


def path_text(path: Sequence[str | int]) -> str:
    """A field path as a reader writes it: ``routing.destinations[0].model``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _node_lines(
    node: yaml.Node, path: FieldPath, file: str, lines: dict[FieldPath, Location], problems: list[Problem]
) -> None:
    """Record the 1-based line of every node under ``node``; flag duplicate keys."""
    lines[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(file, key_node.start_mark.line + 1, path_text((*path, key)), "duplicate key")
                )
            seen.add(key)
            _node_lines(value_node, (*path, key), file, lines, problems)
            lines[(*path, key)] = (file, key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), file, lines, problems)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file (possibly merged over the file it ``extends``) with each field's origin."""

    file: str
    data: Any
    lines: Mapping[FieldPath, Location]
    overridden: frozenset[FieldPath] = frozenset()
    """Fields an option (``origin``: ``--set``, ``--grid``) wrote or created: a problem in one of
    them is the option's, not a line's of the file."""
    origin: str = SET_ORIGIN

    def locate(self, path: Sequence[str | int]) -> Location:
        """File and line of the deepest prefix of ``path`` present in the document."""
        best: Location = self.lines.get((), (self.file, 1))
        prefix: FieldPath = ()
        for part in path:
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix = candidate
                best = self.lines[prefix]
            # parts absent from the file (union tags, defaults) are skipped
        return best

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        """A Problem located at ``path``: blamed on the option that wrote the field (or a field
        above it), else on the file's line — saying which overrides below it came first (a
        whole-section check may fail because of one)."""
        path = tuple(path)
        if any(path[: len(o)] == o for o in self.overridden):
            return Problem(self.origin, None, path_text(path), message)
        below = [path_text(o) for o in sorted(self.overridden, key=str) if o[: len(path)] == path]
        after = f" (after {self.origin} {', '.join(below)})" if below else ""
        file, line = self.locate(path)
        return Problem(file, line, path_text(path), message + after)


MAX_FILE_BYTES = 1_000_000
"""The largest YAML file read, bytes (the shipped providers.yaml is about 40 kB): a bigger one is refused."""
MAX_DEPTH = 32
"""The deepest nesting of mappings and lists read (the shipped files nest at most 8 deep)."""
MAX_NODES = 200_000
"""The most values a document may hold once its aliases are expanded (refuses 'billion laughs')."""


try:  # libyaml's parser when PyYAML was built with it (its wheels are): about ten times faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """PyYAML's safe loader, except that a value that looks like a date but is not one
    (``2025-02-30``) stays a string, so that validation names its field and line."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a tagged value that cannot be built (``!!int abc``) is a located error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def safe_load(text: str) -> Any:
    """Parse one YAML value as :func:`yaml.safe_load` does, impossible dates kept as text.

    Raises ``yaml.YAMLError`` for malformed YAML, including an explicitly tagged value that
    cannot be built (``!!int abc``).
    """
    return yaml.load(text, Loader=_Loader)


def scalar_value(text: str) -> Any:
    """One ``--set``/``--grid`` value as the configuration reads it (YAML: ``2`` is a number,
    ``true`` a bool); malformed YAML stays its own text."""
    try:
        return safe_load(text)
    except yaml.YAMLError:
        return text


def canonical_value(text: str) -> str:
    """One value as the configuration reads it (YAML), written as JSON with sorted keys, so that
    texts meaning the same value agree (``true`` and ``True``, ``{a: 1, b: 2}`` and
    ``{b: 2, a: 1}``); malformed YAML stays its own text (the loader reports it)."""
    try:
        value = safe_load(text)
    except yaml.YAMLError:
        return text
    return json.dumps(value, sort_keys=True, default=str)


def _check_shape(text: str, file: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` before it is composed (the
    composer recurses once per level), reading it as a stream of events."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else None
                raise ConfigError([Problem(file, line, "", f"nested more than {MAX_DEPTH} levels deep; refused")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for once every alias is expanded (memoised per node)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, memo) for item in node.value)
    memo[id(node)] = min(size, MAX_NODES + 1)
    return memo[id(node)]


def read_yaml(path: Path) -> YamlDocument:
    """Parse ``path``; an unreadable, binary, too large or too deep file, a syntax error or a
    duplicate key becomes a ConfigError (file, line where known, what is wrong)."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError([Problem(file, None, "", f"{size} bytes, over the {MAX_FILE_BYTES} read; refused")])
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(file, None, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([Problem(file, at, "", f"not UTF-8 text (byte {exc.start})")]) from None
    try:
        _check_shape(text, file)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None and _expanded_size(node, {}) > MAX_NODES:
                message = f"more than {MAX_NODES} values once aliases are expanded; refused"
                raise ConfigError([Problem(file, None, "", message)])
            lines: dict[FieldPath, Location] = {}
            problems: list[Problem] = []
            if node is not None:  # before construction, which merges ``<<: *anchor`` keys into the node
                _node_lines(node, (), file, lines, problems)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(file, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character: located by its offset in the text
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError([Problem(file, line, "", f"character {exc.character!r} is not allowed in YAML")]) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError([Problem(file, None, "", f"YAML error: {message}")]) from None
    if problems:
        raise ConfigError(problems)
    return YamlDocument(file, data, lines)


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return over


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error["type"] == "missing":
        return "required field is missing"
    return msg


def validate(
    doc: YamlDocument, model: type[M], overridden: frozenset[FieldPath] = frozenset(), origin: str = SET_ORIGIN
) -> M:
    """Validate ``doc`` as ``model``; every pydantic error becomes a located Problem (one in a
    field of ``overridden`` — or of the document's own — is blamed on ``origin``, the option that
    set it: :meth:`YamlDocument.problem`)."""
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [Problem(doc.file, 1, "", f"expected a mapping at the top level of a {model.__name__} file")]
        )
    # top-level "x-…" keys hold YAML anchors for reuse (as in docker compose); not fields
    data = {k: v for k, v in doc.data.items() if not str(k).startswith("x-")}
    if overridden:
        doc = replace(doc, overridden=doc.overridden | overridden, origin=origin)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # drop discriminator tags ("lognormal") and other parts the file does not have
            message = _message(err)
            if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
                message += suggest(loc[-1], sorted(_fields_at(model, loc[:-1])))
            path = _real_path(doc.data, loc) or _named_field(doc.data, message)
            problems.append(doc.problem(path, message))
        raise ConfigError(problems) from None


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> set[str]:
    """The field names (and aliases) of the models found at ``loc`` under ``model``, following fields
    into their models (inside lists, mappings, ``Optional`` and unions); a part that names no field
    (a list index, a mapping key, a union tag such as ``lognormal``) keeps the models it is in.
    Empty where the path leads to no model."""
    models: list[type[BaseModel]] = [model]
    for part in loc:
        fields = [
            f for m in models for name, f in m.model_fields.items() if isinstance(part, str) and part in (name, f.alias)
        ]
        if fields:
            models = [inner for f in fields for inner in _models_in(f.annotation)]
        if not models:
            return set()
    return {name for m in models for f_name, f in m.model_fields.items() for name in (f_name, f.alias) if name}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: itself, or inside ``list``/``dict``/``Optional``/unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def has(node: Any, part: str | int) -> bool:
    """Whether ``node`` (a mapping or a list) has the key or index ``part``."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


_NAMED_FIELD = re.compile(r"[a-z_]+(?:\.[a-z_]+)+")
"""A field path at the start of a message (``candidates.count × …``)."""


def _named_field(data: Any, message: str) -> FieldPath:
    """Where a whole-document check's message points: the field path it starts with, as far as the
    document has it (``()``: none), so that the problem names that field's line, not the file's first."""
    named = _NAMED_FIELD.match(message)
    return _real_path(data, named.group(0).split(".")) if named else ()


def _real_path(data: Any, loc: Sequence[str | int]) -> FieldPath:
    """The part of a pydantic error location that exists in the data (tags removed)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if has(node, part):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and part == loc[-1]:
            out.append(part)  # a missing or unknown key: name it
        # else: a union tag such as "lognormal"; skip it
    return tuple(out)
