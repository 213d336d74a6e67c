"""What each lever is worth, alone and together: ``capacity compare levers``.

The seed's "Optimize & Cache" plan adds up its levers — cache common responses (30 %), smaller
models for simple tasks (20 %), batch processing (15 %) — as if each saved a fixed share of the
API calls whatever the others do. They do not: a response served from the cache needs no small
model, a question drawn from a bank needs neither, and a quota that no longer binds frees
nothing more. This study measures it. A *levers scenario* (the shipped ``A-levers``,
``B-levers``) is a *base* scenario (the one it ``extends``: A, B) with levers switched on; the
study runs, with one seed and one horizon:

* **none** — the base scenario, exactly as ``capacity simulate`` runs it;
* **each lever alone** — the base with that one lever's settings taken from the levers
  scenario;
* **all** — the levers scenario itself.

A lever is a family of fields (:data:`LEVERS`): templates (stages' ``template``), the response
cache (``cache`` and stages' ``cache``), prompt caching (``routing.session_affinity``: keeping
an interview on the provider that holds its prefix), model groups (``routing.groups``, stages'
``group``, and ``routing.destinations`` — the default group, which a team partitions when it
keeps the larger models for the stages that need them), deferral (stages' ``deferral``: made ahead
through a batch API or off-peak), question banks (stages' ``bank`` and ``candidates.roles``;
a banked stage's ``input`` and ``candidate_speaks_before`` go with it, since a bank written
ahead cannot read the conversation). A levers scenario may differ from its base
only in those fields; any other difference (another destination, another demand) would be
counted in every lever's row, so it is refused with the fields named.

Per row: interviews carried per interviewing day, API calls per carried interview, cost per
month, p50/p95 turn latency. :attr:`LeverComparison.additive_calls_per_interview` is what the
seed's arithmetic predicts (each lever's own saving of calls per interview added up), set
against what all levers together measure.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from capacity.config.loader import Configuration
from capacity.config.scenario import Scenario
from capacity.errors import UsageError
from capacity.result import RunResult
from capacity.studies.compare import DEFAULT_DAYS, StrategyRow, run_days, strategy_row
from capacity.studies.runner import SimTask, TasksDone, run_tasks

Path_ = tuple[str, ...]
"""A field's path in a scenario's plain form (``model_dump``), e.g. ``("routing", "session_affinity")``."""

FieldPaths = Callable[[dict[str, Any]], Iterator[Path_]]
"""The paths of one lever's fields in a scenario's plain form."""


def _stage_fields(*names: str) -> FieldPaths:
    def paths(plain: dict[str, Any]) -> Iterator[Path_]:
        for stage in plain["script"]["stages"]:
            for name in names:
                yield ("script", "stages", stage, name)

    return paths


def _banked_stages(*names: str) -> FieldPaths:
    """Fields of the stages that draw on a bank: a bank written ahead cannot read the conversation,
    so switching one on also changes what the stage reads."""

    def paths(plain: dict[str, Any]) -> Iterator[Path_]:
        for stage, fields in plain["script"]["stages"].items():
            if fields.get("bank") is not None:
                for name in names:
                    yield ("script", "stages", stage, name)

    return paths


def _default_group_when_grouped(plain: dict[str, Any]) -> Iterator[Path_]:
    """``routing.destinations`` — the default group — when the scenario has model groups: a team
    that keeps larger models for some stages takes them out of the default group. Without groups
    a change of destinations is another plan, not this lever."""
    if plain["routing"].get("groups"):
        yield ("routing", "destinations")


def _top(*path: str) -> FieldPaths:
    def paths(plain: dict[str, Any]) -> Iterator[Path_]:
        del plain
        yield path

    return paths


def _both(*parts: FieldPaths) -> FieldPaths:
    def paths(plain: dict[str, Any]) -> Iterator[Path_]:
        for part in parts:
            yield from part(plain)

    return paths


@dataclass(frozen=True)
class Lever:
    """One lever: a family of scenario fields switched on together."""

    name: str
    title: str
    fields: FieldPaths


LEVERS: tuple[Lever, ...] = (
    Lever("templates", "pre-written templates (no API call)", _stage_fields("template")),
    Lever("response_cache", "response cache (exact-match reuse)", _both(_top("cache"), _stage_fields("cache"))),
    Lever(
        "prompt_caching",
        "prompt caching kept warm by session affinity",
        _top("routing", "session_affinity"),
    ),
    Lever(
        "model_groups",
        "model groups: stages routed to their own models",
        _both(_top("routing", "groups"), _default_group_when_grouped, _stage_fields("group")),
    ),
    Lever("deferral", "deferred stages (batch API or off-peak)", _stage_fields("deferral")),
    Lever(
        "question_banks",
        "question banks written ahead, per role",
        _both(_top("candidates", "roles"), _stage_fields("bank"), _banked_stages("input", "candidate_speaks_before")),
    ),
)
"""The levers the study knows, in the order their rows are printed."""

_NOT_LEVERS: frozenset[Path_] = frozenset({("name",), ("description",)})


@dataclass(frozen=True)
class LeverRow:
    """One run of the study: the base, the base with one lever, or the levers scenario."""

    label: str
    """``none``, a lever's name, or ``all``."""
    title: str
    levers: tuple[str, ...]
    """The levers switched on in this run."""
    strategy: StrategyRow
    """The run's figures on the one month basis of ``capacity compare``."""
    api_calls_per_interview: float
    """Calls sent to providers (retries included) ÷ interviews carried (inf when none carried)."""


@dataclass(frozen=True)
class LeverComparison:
    """Everything ``capacity compare levers`` prints."""

    scenario: str
    """The levers scenario."""
    base: str
    """The scenario it adds levers to."""
    seed: int
    days: int
    rows: tuple[LeverRow, ...]
    """none, each lever that differs from the base, all."""
    runs: tuple[tuple[str, RunResult], ...]
    wall_time_s: float

    @property
    def none(self) -> LeverRow:
        return self.rows[0]

    @property
    def all(self) -> LeverRow:
        return self.rows[-1]

    def row_label(self, row: LeverRow) -> str:
        """How a row is named: ``none (A)``, ``deferral only``, ``all (A-levers)``."""
        if row.label == "none":
            return f"none ({self.base})"
        if row.label == "all":
            return f"all ({self.scenario})"
        return f"{row.label} only"

    @property
    def additive_calls_per_interview(self) -> float:
        """Calls per interview the seed's arithmetic predicts: the base's, less each lever's own saving.

        Each single-lever row saves ``none − row`` calls per interview; adding those savings up
        is the seed's method (30 % + 20 % + 15 %). Floored at 0.
        """
        base = self.none.api_calls_per_interview
        saved = sum(base - r.api_calls_per_interview for r in self.rows[1:-1])
        return max(0.0, base - saved)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (inf becomes null)."""
        return {
            "scenario": self.scenario,
            "base": self.base,
            "seed": self.seed,
            "days": self.days,
            "rows": [
                {
                    "label": r.label,
                    "title": r.title,
                    "levers": list(r.levers),
                    "carried_per_day": r.strategy.carried_per_day,
                    "need_per_day": r.strategy.need_per_day,
                    "carried_share": r.strategy.carried_share,
                    "api_calls_per_interview": _finite(r.api_calls_per_interview),
                    "usd_per_month": r.strategy.usd_per_month,
                    "usd_per_interview": _finite(r.strategy.usd_per_interview),
                    "p50_turn_latency_s": r.strategy.p50_turn_latency_s,
                    "p95_turn_latency_s": r.strategy.p95_turn_latency_s,
                    "binds": r.strategy.binds,
                }
                for r in self.rows
            ],
            "additive_calls_per_interview": _finite(self.additive_calls_per_interview),
            "wall_time_s": self.wall_time_s,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# Scenario surgery


def _get(plain: dict[str, Any], path: Path_) -> tuple[bool, Any]:
    node: Any = plain
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set(plain: dict[str, Any], path: Path_, present: bool, value: Any) -> None:
    node = plain
    for part in path[:-1]:
        node = node[part]
    if present:
        node[path[-1]] = value
    else:
        node.pop(path[-1], None)


def _take(target: dict[str, Any], source: dict[str, Any], lever: Lever) -> None:
    """Copy ``lever``'s fields from ``source`` into ``target`` (both plain scenarios, same stages):
    the fields either of them has, so a lever present in only one is switched as a whole."""
    paths = dict.fromkeys([*lever.fields(source), *lever.fields(target)])
    for path in paths:
        present, value = _get(source, path)
        _set(target, path, present, value)


def _differences(a: Any, b: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                yield (*path, str(key))
            else:
                yield from _differences(a[key], b[key], (*path, str(key)))
    elif a != b:
        yield path


def _plain(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="python")


def lever_settings(base: Configuration, full: Configuration) -> list[Lever]:
    """The levers in which ``full`` differs from ``base``, in :data:`LEVERS` order.

    Raises UsageError when the two scenarios differ in anything that is not a lever (naming
    up to five such fields), or script stages differ in name.
    """
    b, f = _plain(base.scenario), _plain(full.scenario)
    if set(b["script"]["stages"]) != set(f["script"]["stages"]):
        raise UsageError(
            f"{full.scenario.name} and {base.scenario.name} have different stages; a levers scenario "
            "switches levers on the same script"
        )
    rest = _plain(full.scenario)
    for lever in LEVERS:
        _take(rest, b, lever)
    other = [p for p in _differences(b, rest) if p[:1] not in _NOT_LEVERS and p not in _NOT_LEVERS]
    if other:
        shown = ", ".join(".".join(p) for p in other[:5]) + (" …" if len(other) > 5 else "")
        raise UsageError(
            f"{full.scenario.name} differs from {base.scenario.name} in {shown}, which is no lever "
            f"(levers: {', '.join(lv.name for lv in LEVERS)}); put it in both or in neither"
        )
    changed = []
    for lever in LEVERS:
        only = _plain(base.scenario)
        _take(only, f, lever)
        if any(True for _ in _differences(b, only)):
            changed.append(lever)
    if not changed:
        raise UsageError(f"{full.scenario.name} switches on no lever over {base.scenario.name}")
    return changed


def with_lever(base: Configuration, full: Configuration, lever: Lever) -> Configuration:
    """``base`` with ``lever``'s settings taken from ``full`` (everything else as in ``base``)."""
    plain = _plain(base.scenario)
    _take(plain, _plain(full.scenario), lever)
    plain["name"] = f"{base.scenario.name}+{lever.name}"
    return dataclasses.replace(base, scenario=Scenario.model_validate(plain))


# ---------------------------------------------------------------------------------------------
# The study


@dataclass(frozen=True)
class PlannedLevers:
    """A lever comparison laid out as its runs (:attr:`tasks`: none, each lever alone, all), before any ran."""

    base: Configuration
    full: Configuration
    seed: int
    horizon: int | None
    rows: tuple[tuple[str, str, tuple[str, ...], Configuration], ...]
    """(row label, title, levers on, configuration) per run, in row order."""
    tasks: tuple[SimTask, ...]

    def finish(self, results: Sequence[RunResult], wall_time_s: float) -> LeverComparison:
        """The comparison from the results of :attr:`tasks`, in task order."""
        rows = tuple(
            LeverRow(
                label,
                title,
                on,
                strategy_row(cfg, result, self.full.scenario.name),
                result.requests.api_calls / result.interviews.carried if result.interviews.carried else float("inf"),
            )
            for (label, title, on, cfg), result in zip(self.rows, results, strict=True)
        )
        return LeverComparison(
            self.full.scenario.name,
            self.base.scenario.name,
            self.seed,
            self.horizon if self.horizon is not None else self.full.scenario.demand.days,
            rows,
            tuple((label, r) for (label, _, _, _), r in zip(self.rows, results, strict=True)),
            wall_time_s,
        )


def plan_levers(
    base: Configuration, full: Configuration, *, days: int = DEFAULT_DAYS, seed: int | None = None
) -> PlannedLevers:
    """The runs of :func:`compare_levers`; raises UsageError as :func:`lever_settings` does."""
    levers = lever_settings(base, full)
    run_seed = full.scenario.seed if seed is None else seed
    horizon = run_days(full, days)
    rows: tuple[tuple[str, str, tuple[str, ...], Configuration], ...] = (
        ("none", f"{base.scenario.name} as it is", (), base),
        *((lv.name, lv.title, (lv.name,), with_lever(base, full, lv)) for lv in levers),
        ("all", f"{full.scenario.name}: every lever", tuple(lv.name for lv in levers), full),
    )
    tasks = tuple(SimTask(cfg, run_seed, horizon, label) for label, _, _, cfg in rows)
    return PlannedLevers(base, full, run_seed, horizon, rows, tasks)


def compare_levers(
    base: Configuration,
    full: Configuration,
    *,
    days: int = DEFAULT_DAYS,
    seed: int | None = None,
    jobs: int = 1,
    progress: TasksDone | None = None,
) -> LeverComparison:
    """Run ``base`` (none), ``base`` with each lever of ``full`` (alone), and ``full`` (all).

    Every run has the same seed (``seed``, else the levers scenario's) and horizon
    (:func:`~capacity.studies.compare.run_days` of ``days``). Raises UsageError as
    :func:`lever_settings` does.
    """
    began = time.perf_counter()
    planned = plan_levers(base, full, days=days, seed=seed)
    results: Sequence[RunResult] = run_tasks(planned.tasks, jobs, done=progress)
    return planned.finish(results, time.perf_counter() - began)
