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

import yaml

from capacity.config.gpus import GpuCatalog, load_catalog
from capacity.config.providers import Provider, ProvidersFile
from capacity.config.scenario import Scenario
from capacity.config.yamldoc import FieldPath, YamlDocument, deep_merge, has, path_text, read_yaml, validate
from capacity.errors import ConfigError, Problem, UsageError


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
    return YamlDocument(doc.file, deep_merge(base_data, own), lines)


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
                raise UsageError(f"--set {assignment!r}: {path_text(parts[: i + 1])} does not exist")
        last = parts[-1]
        if (isinstance(node, dict) and isinstance(last, str)) or has(node, last):
            node[last] = value
        else:
            raise UsageError(f"--set {assignment!r}: {path_text(parts)} does not exist")
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
