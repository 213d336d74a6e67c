"""Loading YAML into the configuration models, with every problem traced to file and line.

Loading is pure: it reads files and returns frozen models, nothing else. A YAML syntax
error, a duplicate or unknown key, a wrong type, a negative limit or a reference to an
unknown provider raises :class:`~capacity.errors.ConfigError` with one
:class:`~capacity.errors.Problem` per mistake (file, line, field path, what is wrong).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from capacity.config.gpus import GpuCatalog, load_catalog
from capacity.config.groups import DEFAULT_GROUP, Destination
from capacity.config.levers import batch_target
from capacity.config.paths import shipped_scenario_path, shipped_scenarios, suggest
from capacity.config.providers import ModelSpec, Provider, ProvidersFile
from capacity.config.scenario import DEFAULT_CALENDAR, DEFAULT_SCRIPT, Scenario
from capacity.config.yamldoc import (
    SET_ORIGIN,
    FieldPath,
    YamlDocument,
    deep_merge,
    has,
    path_text,
    read_yaml,
    safe_load,
    validate,
)
from capacity.errors import ConfigError, Problem, UsageError


def read_scenario_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> YamlDocument:
    """Read a scenario file, merged over the scenario it ``extends``.

    ``extends: A`` names ``A.yaml`` beside this file if there is one, else the shipped scenario
    ``A`` (installed with the package), so a scenario anywhere can build on a shipped one.
    """
    doc = read_yaml(path)
    if not isinstance(doc.data, dict) or "extends" not in doc.data:
        return doc
    parent_name = doc.data["extends"]
    if not isinstance(parent_name, str) or not parent_name or "/" in parent_name:
        raise ConfigError([doc.problem(("extends",), "expected the name of a scenario, such as A")])
    beside = path.parent / f"{parent_name}.yaml"
    parent = beside if beside.is_file() else shipped_scenario_path(parent_name)
    if parent is None:
        known = shipped_scenarios()
        raise ConfigError(
            [
                doc.problem(
                    ("extends",),
                    f"no scenario {parent_name!r} beside this file or shipped{suggest(parent_name, known)} "
                    f"(shipped: {', '.join(known)})",
                )
            ]
        )
    if parent.resolve() in _chain or parent.resolve() == path.resolve():
        raise ConfigError([doc.problem(("extends",), "scenarios extend each other in a cycle")])
    base = read_scenario_yaml(parent, (*_chain, path.resolve()))
    own = {k: v for k, v in doc.data.items() if k != "extends"}
    base_data = dict(base.data)
    base_data.pop("name", None)  # a scenario's name is its own file's stem
    if "description" in base_data and "description" not in own:  # the parent's would describe another plan
        base_data["description"] = f"{parent_name}, with its own {', '.join(sorted(own)) or 'name'}"
    lines = {p: loc for p, loc in base.lines.items() if not (p and p[0] == "name")}
    lines.update({p: loc for p, loc in doc.lines.items() if not (p and p[0] == "extends")})
    return YamlDocument(doc.file, deep_merge(base_data, own), lines)


_SET_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def set_path(dotted: str) -> list[str | int] | None:
    """The field path of a ``--set`` target: ``routing.destinations[0].accounts`` (or
    ``routing.destinations.0.accounts``) → ``["routing", "destinations", 0, "accounts"]``; None
    if it is not made of names, ``.`` and ``[index]``."""
    text = dotted.strip()
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "." and parts:
            pos += 1
        match = _SET_PART.match(text, pos)
        if match is None:
            return None
        name, index = match.groups()
        parts.append(int(index) if index is not None else int(name) if name.isdigit() else name)
        pos = match.end()
    return parts or None


def apply_overrides(
    doc: YamlDocument,
    assignments: Sequence[str],
    *,
    origin: str = SET_ORIGIN,
    shown: Sequence[str] | None = None,
) -> tuple[YamlDocument, frozenset[FieldPath]]:
    """Apply ``--set path.to.field=value`` assignments (values parsed as YAML) to a document.

    A path names mapping keys with ``.`` and list items with ``[i]`` (``.i`` also works), as the
    error messages write them. Returns the document and the paths the assignments wrote or
    created, so that a problem in them is blamed on ``origin`` (the option that gave them:
    ``--set``, ``--grid``) rather than on a line of the file; ``shown`` is each assignment as
    the user wrote it, where it was rewritten (a provider's name turned into its index).
    Raises UsageError for a malformed assignment or a list index that does not exist.
    """
    import copy

    data = copy.deepcopy(doc.data)
    touched: set[FieldPath] = set()
    for assignment, said in zip(assignments, shown or assignments, strict=True):
        if "=" not in assignment:
            raise UsageError(f"{origin} {said!r}: expected path.to.field=value")
        dotted, raw = assignment.split("=", 1)
        parts = set_path(dotted)
        if parts is None:
            raise UsageError(
                f"{origin} {said!r}: expected a field path such as routing.destinations[0].accounts"
            )
        try:
            value = safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"{origin} {said!r}: value is not valid YAML") from None
        node = data
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, dict) and isinstance(part, str):
                if part not in node:
                    touched.add(tuple(parts[: i + 1]))  # created here: its problems are --set's
                node = node.setdefault(part, {})
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                raise UsageError(f"{origin} {said!r}: {path_text(parts[: i + 1])} does not exist")
        last = parts[-1]
        if (isinstance(node, dict) and isinstance(last, str)) or has(node, last):
            node[last] = value
        else:
            raise UsageError(f"{origin} {said!r}: {path_text(parts)} does not exist")
        touched.add(tuple(parts))
    overridden = frozenset(touched)
    return YamlDocument(doc.file, data, doc.lines, doc.overridden | overridden, origin), overridden


def with_section_defaults(doc: YamlDocument) -> YamlDocument:
    """Fill the sections a scenario leaves out, or writes in part, from their documented defaults.

    ``calendar`` and ``script`` start from :data:`~capacity.config.scenario.DEFAULT_CALENDAR`
    and :data:`~capacity.config.scenario.DEFAULT_SCRIPT`, and each field the scenario writes
    replaces the default's whole (a ``think_time_s`` of another kind, its own ``timezones``).
    A script that writes its own ``stages`` is a script of its own: it takes nothing from the
    shipped one (its ``opening``, ``rounds``, ``round`` and ``closing`` name shipped stages),
    only the models' field defaults. A calendar that sets its own business hours starts from a
    flat hourly profile unless it gives one (the shipped profile has one entry per hour of
    09:00–18:00). Every other section's fields have their own defaults in the models.
    """
    if not isinstance(doc.data, dict):
        return doc
    data = dict(doc.data)
    for section, default in (("calendar", DEFAULT_CALENDAR), ("script", DEFAULT_SCRIPT)):
        own = data.get(section, {})
        if not isinstance(own, dict):
            continue  # validation reports the wrong type at its line
        if section == "script" and "stages" in own:
            continue
        base = default.model_dump(mode="json", exclude_none=True)
        if section == "calendar" and ({"business_hours_start", "business_hours_end"} & own.keys()):
            base.pop("hourly_profile", None)
        data[section] = {**base, **own}
    return YamlDocument(doc.file, data, doc.lines)


def load_providers(path: Path) -> ProvidersFile:
    """Load and validate a providers.yaml."""
    return validate(read_yaml(path), ProvidersFile)


PROVIDER_PREFIX = "providers"
"""The first part of an assignment to a provider's field: ``providers.groq.accounts=4``."""


@dataclass(frozen=True)
class _Assignments:
    """Assignments sorted by the document they change, rewritten to its paths (a provider's name
    turned into its place in the ``providers`` or ``extra_providers`` list), with each one's
    text as the user wrote it, and the provider named at each rewritten place."""

    scenario: tuple[list[str], list[str]]
    providers: tuple[list[str], list[str]]
    names: dict[str, str]
    """``providers[3]`` → ``providers.groq``, to say problems in the user's words."""


def _sort_assignments(
    assignments: Sequence[str], providers_doc: YamlDocument, scenario_doc: YamlDocument, origin: str
) -> _Assignments:
    """Send ``providers.NAME.field=value`` to the provider called NAME (in the providers file, or
    in the scenario's ``extra_providers``) and everything else to the scenario.

    Raises UsageError for a provider path without a field or a provider that does not exist.
    """
    scenario: tuple[list[str], list[str]] = ([], [])
    providers: tuple[list[str], list[str]] = ([], [])
    names: dict[str, str] = {}

    def listed(doc: YamlDocument, key: str) -> list[str]:
        items = doc.data.get(key) if isinstance(doc.data, dict) else None
        return [str(p.get("name")) if isinstance(p, dict) else "" for p in items] if isinstance(items, list) else []

    in_file, extra = listed(providers_doc, PROVIDER_PREFIX), listed(scenario_doc, "extra_providers")
    for assignment in assignments:
        dotted, sep, raw = assignment.partition("=")
        parts = set_path(dotted) if sep else None
        if not parts or parts[0] != PROVIDER_PREFIX:
            scenario[0].append(assignment)
            scenario[1].append(assignment)
            continue
        if len(parts) < 3 or not isinstance(parts[1], str):
            raise UsageError(
                f"{origin} {assignment!r}: expected providers.NAME.field=value, such as providers.groq.accounts=2"
            )
        name, rest = parts[1], parts[2:]
        if name in in_file:
            place: list[str | int] = [PROVIDER_PREFIX, in_file.index(name)]
            target = providers
        elif name in extra:
            place = ["extra_providers", extra.index(name)]
            target = scenario
        else:
            known = sorted({*in_file, *extra})
            raise UsageError(
                f"{origin} {assignment!r}: no provider {name!r}{suggest(name, known)} (known: {', '.join(known)})"
            )
        names[path_text(place)] = f"{PROVIDER_PREFIX}.{name}"
        target[0].append(f"{path_text([*place, *rest])}={raw}")
        target[1].append(assignment)
    return _Assignments(scenario, providers, names)


def _own_script_hint(error: ConfigError, doc: YamlDocument) -> ConfigError:
    """``error`` with one more line where a script that writes ``stages`` misses required fields:
    such a script is wholly its own (nothing comes from the shipped one), which a newcomer naming
    one stage's ``group`` does not expect; ``extends: A`` keeps the rest."""
    script = doc.data.get("script") if isinstance(doc.data, dict) else None
    missing = [p for p in error.problems if p.field.startswith("script.") and p.message == "required field is missing"]
    if not missing or not isinstance(script, dict) or "stages" not in script:
        return error
    hint = doc.problem(
        ("script", "stages"),
        "a script that writes its own stages takes nothing from the shipped one, so it needs every field; "
        "to change one stage of a shipped scenario, start the file with `extends: A` and write only that "
        "stage's fields (script: {stages: {question: {group: smart}}})",
    )
    return ConfigError([*error.problems, hint])


def _in_user_words(error: ConfigError, names: Mapping[str, str], origin: str) -> ConfigError:
    """``error`` with the fields an override wrote named as the user did (``providers.groq``,
    not ``providers[3]``)."""
    problems = []
    for p in error.problems:
        field = p.field
        if p.file == origin:
            for place, name in names.items():
                if field == place or field.startswith((f"{place}.", f"{place}[")):
                    field = name + field[len(place) :]
                    break
        problems.append(Problem(p.file, p.line, field, p.message))
    return ConfigError(problems)


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

    def model_spec(self, destination: Destination) -> ModelSpec:
        """The model a provider destination routes to (known to exist: references are checked on load)."""
        assert destination.provider is not None and destination.model is not None
        spec = self.providers[destination.provider].model(destination.model)
        assert spec is not None
        return spec


def load_configuration(
    scenario_path: Path, providers_path: Path, overrides: Sequence[str] = (), *, origin: str = SET_ORIGIN
) -> Configuration:
    """Load a scenario and a providers file, apply ``--set`` overrides, check references.

    An override names a scenario field (``cache.ttl_s=86400``) or, under ``providers.NAME``, a
    field of one provider (``providers.groq.accounts=4``; a provider of the file or of the
    scenario's ``extra_providers``). A problem in an overridden value is blamed on ``origin``
    (the option that gave it). Raises ConfigError (file, line, field) or UsageError (option).
    """
    providers_doc = read_yaml(providers_path)
    scenario_doc = with_section_defaults(read_scenario_yaml(scenario_path))
    sorted_ = _sort_assignments(overrides, providers_doc, scenario_doc, origin)
    try:
        providers_doc, providers_touched = apply_overrides(
            providers_doc, sorted_.providers[0], origin=origin, shown=sorted_.providers[1]
        )
        providers_file = validate(providers_doc, ProvidersFile, providers_touched, origin)
        doc, touched = apply_overrides(scenario_doc, sorted_.scenario[0], origin=origin, shown=sorted_.scenario[1])
        if isinstance(doc.data, dict) and "name" not in doc.data:
            doc.data["name"] = scenario_path.stem
        scenario = validate(doc, Scenario, touched, origin)
    except ConfigError as exc:
        raise _in_user_words(_own_script_hint(exc, scenario_doc), sorted_.names, origin) from None
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
    problems.extend(group_problems(scenario, doc))
    for base, dest in written_destinations(scenario):
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
    problems.extend(_lever_problems(doc, scenario, providers))
    for i, outage in enumerate(scenario.outages):
        if outage.provider not in providers:
            problems.append(doc.problem(("outages", i, "provider"), f"unknown provider {outage.provider!r}"))
    if problems:
        raise _in_user_words(ConfigError(problems), sorted_.names, origin)
    return Configuration(scenario, providers, str(scenario_path), str(providers_path), catalog)


def written_destinations(scenario: Scenario) -> list[tuple[FieldPath, Destination]]:
    """Every destination as written, with its field path: ``routing.destinations``, then each group's."""
    routing = scenario.routing
    found: list[tuple[FieldPath, Destination]] = [
        (("routing", "destinations", i), d) for i, d in enumerate(routing.destinations)
    ]
    for name, group in routing.groups.items():
        found += [(("routing", "groups", name, "destinations", i), d) for i, d in enumerate(group.destinations)]
    return found


def group_problems(scenario: Scenario, doc: YamlDocument) -> list[Problem]:
    """Stages naming no known model group; a destination written differently in two groups
    (one destination has one ledger, so its accounts and weight cannot differ)."""
    problems: list[Problem] = []
    known = [DEFAULT_GROUP, *scenario.routing.groups]
    for name, stage in scenario.script.stages.items():
        if stage.group not in known:
            problems.append(
                doc.problem(
                    ("script", "stages", name, "group"),
                    f"unknown model group {stage.group!r} (routing.groups: {', '.join(known)})",
                )
            )
    first: dict[str, Destination] = {}
    for path, dest in written_destinations(scenario):
        seen = first.setdefault(dest.label, dest)
        if seen is not dest and (seen.accounts, seen.weight) != (dest.accounts, dest.weight):
            problems.append(
                doc.problem(
                    path,
                    f"{dest.label} is in two groups with different accounts or weight; it is one destination "
                    "with one quota ledger: write it the same in both",
                )
            )
    return problems


def _lever_problems(doc: YamlDocument, scenario: Scenario, providers: Mapping[str, Provider]) -> list[Problem]:
    """Deferred and banked stages that go through a batch API must find one (a named or routed model's)."""
    batch_of = {(p.name, m.name): p.batch_of(m) for p in providers.values() for m in p.models}
    problems = []
    for name, stage in scenario.script.stages.items():
        if stage.group not in scenario.routing.group_members:
            continue  # an unknown group: group_problems says so
        routed = [
            (d.provider, d.model)
            for d in scenario.routing.group_destinations(stage.group)
            if d.provider and d.model
        ]
        for field, lever in (("deferral", stage.deferral), ("bank", stage.bank)):
            if lever is not None and lever.via == "batch":
                found = batch_target(lever, routed, batch_of)
                if isinstance(found, str):
                    problems.append(doc.problem(("script", "stages", name, field, "via"), found))
    return problems


def scenario_description(path: Path) -> str:
    """The ``description`` of the scenario in ``path`` (after ``extends``), or '' if it has none."""
    doc = read_scenario_yaml(path)
    return str(doc.data.get("description", "")) if isinstance(doc.data, dict) else ""


def scenario_parent(path: Path) -> str | None:
    """The name the scenario in ``path`` ``extends`` (its own file only), or None if it extends none."""
    doc = read_yaml(path)
    parent = doc.data.get("extends") if isinstance(doc.data, dict) else None
    return parent if isinstance(parent, str) and parent else None
