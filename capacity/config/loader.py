"""Loading YAML into the configuration models, with every problem traced to file and line.

Loading is pure: it reads files and returns frozen models, nothing else. A YAML syntax
error, a duplicate or unknown key, a wrong type, a negative limit or a reference to an
unknown provider raises :class:`~capacity.errors.ConfigError` with one
:class:`~capacity.errors.Problem` per mistake (file, line, field path, what is wrong).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from capacity.config.gpus import GpuCatalog, load_catalog
from capacity.config.providers import Provider, ProvidersFile
from capacity.config.scenario import Scenario
from capacity.errors import ConfigError, Problem, UsageError

M = TypeVar("M", bound=BaseModel)
FieldPath = tuple[str | int, ...]
SET_ORIGIN = "--set"


def _path_text(path: Sequence[str | int]) -> str:
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
                    Problem(file, key_node.start_mark.line + 1, _path_text((*path, key)), "duplicate key")
                )
            seen.add(key)
            _node_lines(value_node, (*path, key), file, lines, problems)
            lines[(*path, key)] = (file, key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), file, lines, problems)


Location = tuple[str, int]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file (possibly merged over the file it ``extends``) with each field's origin."""

    file: str
    data: Any
    lines: Mapping[FieldPath, Location]

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
        """A Problem located at ``path``."""
        file, line = self.locate(path)
        return Problem(file, line, _path_text(path), message)


def read_yaml(path: Path) -> YamlDocument:
    """Parse ``path``; syntax errors and duplicate keys become a ConfigError."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(file, None, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(file, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, None, "", f"YAML error: {exc}")]) from None
    lines: dict[FieldPath, Location] = {}
    problems: list[Problem] = []
    if node is not None:
        _node_lines(node, (), file, lines, problems)
    if problems:
        raise ConfigError(problems)
    return YamlDocument(file, data, lines)


def _deep_merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return over


def read_scenario_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> YamlDocument:
    """Read a scenario file, merged over the scenario it ``extends`` (a name in the same folder)."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict) or "extends" not in doc.data:
        return doc
    parent_name = doc.data["extends"]
    parent = path.parent / f"{parent_name}.yaml"
    if not isinstance(parent_name, str) or not parent.is_file():
        raise ConfigError(
            [doc.problem(("extends",), f"no scenario {parent_name!r} beside this file to extend")]
        )
    if parent.resolve() in _chain or parent.resolve() == path.resolve():
        raise ConfigError([doc.problem(("extends",), "scenarios extend each other in a cycle")])
    base = read_scenario_yaml(parent, (*_chain, path.resolve()))
    own = {k: v for k, v in doc.data.items() if k != "extends"}
    base_data = dict(base.data)
    base_data.pop("name", None)  # a scenario's name is its own file's stem
    lines = {p: loc for p, loc in base.lines.items() if not (p and p[0] == "name")}
    lines.update({p: loc for p, loc in doc.lines.items() if not (p and p[0] == "extends")})
    return YamlDocument(doc.file, _deep_merge(base_data, own), lines)


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error["type"] == "missing":
        return "required field is missing"
    return msg


def validate(doc: YamlDocument, model: type[M], overridden: frozenset[FieldPath] = frozenset()) -> M:
    """Validate ``doc`` as ``model``; every pydantic error becomes a located Problem."""
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [Problem(doc.file, 1, "", f"expected a mapping at the top level of a {model.__name__} file")]
        )
    # top-level "x-…" keys hold YAML anchors for reuse (as in docker compose); not fields
    data = {k: v for k, v in doc.data.items() if not str(k).startswith("x-")}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # drop discriminator tags ("lognormal") and other parts the file does not have
            path = _real_path(doc.data, loc)
            if any(path[: len(o)] == o for o in overridden):
                problems.append(Problem(SET_ORIGIN, None, _path_text(path), _message(err)))
            else:
                # a whole-model check (e.g. end after start) may fail because of an override below it
                below = [_path_text(o) for o in sorted(overridden, key=str) if o[: len(path)] == path]
                after = f" (after --set {', '.join(below)})" if below else ""
                problems.append(doc.problem(path, _message(err) + after))
        raise ConfigError(problems) from None


def _has(node: Any, part: str | int) -> bool:
    """Whether ``node`` (a mapping or a list) has the key or index ``part``."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _real_path(data: Any, loc: Sequence[str | int]) -> FieldPath:
    """The part of a pydantic error location that exists in the data (tags removed)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and part == loc[-1]:
            out.append(part)  # a missing or unknown key: name it
        # else: a union tag such as "lognormal"; skip it
    return tuple(out)


def apply_overrides(
    doc: YamlDocument, assignments: Sequence[str]
) -> tuple[YamlDocument, frozenset[FieldPath]]:
    """Apply ``--set path.to.field=value`` assignments (values parsed as YAML) to a document."""
    import copy

    data = copy.deepcopy(doc.data)
    touched: set[FieldPath] = set()
    for assignment in assignments:
        if "=" not in assignment:
            raise UsageError(f"--set {assignment!r}: expected path.to.field=value")
        dotted, raw = assignment.split("=", 1)
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.strip().split(".") if p]
        if not parts:
            raise UsageError(f"--set {assignment!r}: empty field path")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"--set {assignment!r}: value is not valid YAML") from None
        node = data
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, dict) and isinstance(part, str):
                node = node.setdefault(part, {})
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                raise UsageError(f"--set {assignment!r}: {_path_text(parts[: i + 1])} does not exist")
        last = parts[-1]
        if (isinstance(node, dict) and isinstance(last, str)) or _has(node, last):
            node[last] = value
        else:
            raise UsageError(f"--set {assignment!r}: {_path_text(parts)} does not exist")
        touched.add(tuple(parts))
    return YamlDocument(doc.file, data, doc.lines), frozenset(touched)


def load_providers(path: Path) -> ProvidersFile:
    """Load and validate a providers.yaml."""
    return validate(read_yaml(path), ProvidersFile)


@dataclass(frozen=True)
class Configuration:
    """A scenario with the providers it may route to, cross-checked."""

    scenario: Scenario
    providers: Mapping[str, Provider]
    scenario_file: str
    providers_file: str
    gpu_catalog: GpuCatalog
    """The GPU catalogue (cards, model shapes, engines, published rows), loaded once here."""

    def provider(self, name: str) -> Provider:
        """The provider called ``name`` (known to exist: references are checked on load)."""
        return self.providers[name]


def load_configuration(
    scenario_path: Path, providers_path: Path, overrides: Sequence[str] = ()
) -> Configuration:
    """Load a scenario and a providers file, apply ``--set`` overrides, check references."""
    providers_file = load_providers(providers_path)
    doc, touched = apply_overrides(read_scenario_yaml(scenario_path), overrides)
    if isinstance(doc.data, dict) and "name" not in doc.data:
        doc.data["name"] = scenario_path.stem
    scenario = validate(doc, Scenario, touched)
    providers: dict[str, Provider] = {p.name: p for p in providers_file.providers}
    problems: list[Problem] = []
    for i, extra in enumerate(scenario.extra_providers):
        if extra.name in providers:
            problems.append(
                doc.problem(
                    ("extra_providers", i, "name"), f"provider {extra.name!r} is already in {providers_path}"
                )
            )
        providers[extra.name] = extra
    pools = {p.name: p for p in scenario.gpu_pools}
    if len(pools) != len(scenario.gpu_pools):
        problems.append(doc.problem(("gpu_pools",), "two gpu pools share a name"))
    catalog = load_catalog()
    if pools:
        for i, pool in enumerate(scenario.gpu_pools):
            problems.extend(
                doc.problem(("gpu_pools", i, part), message) for part, message in catalog.pool_problems(pool)
            )
    for i, dest in enumerate(scenario.routing.destinations):
        base: FieldPath = ("routing", "destinations", i)
        if dest.pool is not None:
            if dest.pool not in pools:
                known = ", ".join(sorted(pools)) or "none defined"
                problems.append(
                    doc.problem((*base, "pool"), f"unknown gpu pool {dest.pool!r} (gpu_pools: {known})")
                )
            continue
        assert dest.provider is not None and dest.model is not None
        if dest.provider not in providers:
            known = ", ".join(sorted(providers))
            problems.append(
                doc.problem((*base, "provider"), f"unknown provider {dest.provider!r} (known: {known})")
            )
        elif providers[dest.provider].model(dest.model) is None:
            known = ", ".join(m.name for m in providers[dest.provider].models)
            problems.append(
                doc.problem(
                    (*base, "model"),
                    f"provider {dest.provider!r} has no model {dest.model!r} (known: {known})",
                )
            )
    for i, outage in enumerate(scenario.outages):
        if outage.provider not in providers:
            problems.append(doc.problem(("outages", i, "provider"), f"unknown provider {outage.provider!r}"))
    if problems:
        raise ConfigError(problems)
    return Configuration(scenario, providers, str(scenario_path), str(providers_path), catalog)
