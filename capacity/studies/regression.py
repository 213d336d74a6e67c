"""``capacity check``'s regression baseline: what it stores, and how a run is compared with it.

The baseline (``reports/baseline.json``, committed) holds, per shipped scenario, the horizon
and seed it was measured at, the ``--set`` overrides, and two groups of numbers:

- ``simulate``: the headline numbers of the run at the scenario's seed
  (:meth:`~capacity.result.RunResult.headline`: carried interviews a day, interviews by
  outcome, p50/p95 turn latency, cache hit rate, cost), each with the standard deviation
  over a few independent replications and the tolerance derived from it;
- ``plan``: the static plan's numbers (need, capacity, requests a day per destination,
  tokens per interview, monthly cost), which are deterministic.

**The tolerance rule.** A simulated number *moved* when it differs from its baseline value
by more than

    tolerance = max(absolute floor, relative floor × |baseline value|, 3 × sd)

where ``sd`` is the sample standard deviation of that number over the replications measured
at ``--update`` time (the first replication is the baseline run itself, at the scenario's
seed) and the floors are per number (:data:`FLOORS`: e.g. 2 interviews or 1 %, 0.05 s or 2 %
of a latency). ``check`` re-runs the same seed, so an unchanged model reproduces the baseline
exactly; a change within the replication noise passes, a change of the model's behaviour
beyond three standard deviations of that noise fails. A plan number moved when it differs by
more than ``1e-9 × |value|`` (plan arithmetic is exact). A number absent from either side
(a new headline number, a renamed destination) also fails: run ``capacity check --update``
and commit the diff of the baseline, which is how a reviewer sees a model change.

This module is pure: JSON in, comparisons out. :mod:`capacity.studies.check` runs the
simulations; ``capacity check`` renders the comparisons.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from capacity.errors import UsageError
from capacity.plan.result import PlanResult

BASELINE_VERSION = 1
"""Format version of baseline.json."""

SIGMAS = 3.0
"""Tolerance in standard deviations of the replications."""

PLAN_RELATIVE = 1e-9
"""Relative tolerance of plan numbers."""

Floor = tuple[float, float]
"""(absolute floor, relative floor) of a number's tolerance."""

FLOORS: dict[str, Floor] = {
    "carried_interviews_per_day": (1.0, 0.01),
    "completed": (2.0, 0.01),
    "failed": (2.0, 0.01),
    "degraded": (2.0, 0.01),
    "unfinished": (2.0, 0.01),
    "turned_away": (2.0, 0.01),
    "turn_latency_p50_s": (0.05, 0.02),
    "turn_latency_p95_s": (0.05, 0.02),
    "cache_hit_rate": (0.005, 0.0),
    "cost_usd": (0.01, 0.01),
}
"""Per headline number: the smallest tolerance, absolute (in its unit) and relative."""

DEFAULT_FLOOR: Floor = (1e-6, 0.01)
"""Floor of a headline number not in :data:`FLOORS`."""

RULE = (
    "simulate: moved if |now - value| > tolerance, tolerance = max(absolute floor, relative floor x |value|, "
    f"{SIGMAS:g} x sd over the replications measured at --update (the first is the baseline run, at the "
    "scenario's seed)); plan: moved if |now - value| > 1e-9 x |value|; a number missing on either side fails"
)
"""The rule in one line, written into the baseline file."""

Status = Literal["ok", "moved", "new", "gone"]


@dataclass(frozen=True)
class Guarded:
    """One guarded number: its baseline value, the sd it was measured with, and its tolerance."""

    value: float | None
    tolerance: float
    sd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (the sd only for simulated numbers)."""
        out: dict[str, Any] = {"value": self.value, "tolerance": self.tolerance}
        if self.sd is not None:
            out["sd"] = self.sd
        return out


@dataclass(frozen=True)
class ScenarioBaseline:
    """What the baseline holds for one scenario."""

    scenario: str
    days: int
    seed: int
    overrides: tuple[str, ...]
    replications: int
    simulate: Mapping[str, Guarded]
    plan: Mapping[str, Guarded]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "days": self.days,
            "seed": self.seed,
            "set": list(self.overrides),
            "replications": self.replications,
            "simulate": {k: g.to_json() for k, g in self.simulate.items()},
            "plan": {k: g.to_json() for k, g in self.plan.items()},
        }


@dataclass(frozen=True)
class Baseline:
    """The whole baseline file."""

    scenarios: Mapping[str, ScenarioBaseline]
    version: int = BASELINE_VERSION

    def to_json(self) -> dict[str, Any]:
        """JSON form, with the rule written out for the reader of the diff."""
        return {
            "about": "Regression baseline of `capacity check`; rewrite with `capacity check --update` and "
            "commit the diff. Each scenario is re-run at its seed and horizon with its --set overrides.",
            "version": self.version,
            "tolerance_rule": RULE,
            "floors": {k: {"absolute": a, "relative": r} for k, (a, r) in FLOORS.items()},
            "scenarios": {name: s.to_json() for name, s in self.scenarios.items()},
        }


def _round(x: float) -> float:
    """A tolerance to 4 significant digits (readable diffs; never below the unrounded value)."""
    if x == 0 or not math.isfinite(x):
        return x
    digits = 3 - math.floor(math.log10(abs(x)))
    rounded = round(x, digits)
    return rounded if rounded >= x else rounded + 10.0 ** (-digits)


def simulated_tolerance(name: str, value: float, sd: float) -> float:
    """The tolerance of a simulated number: max(absolute floor, relative floor × |value|, 3 sd)."""
    absolute, relative = FLOORS.get(name, DEFAULT_FLOOR)
    return _round(max(absolute, relative * abs(value), SIGMAS * sd))


def plan_tolerance(value: float | None) -> float:
    """The tolerance of a plan number: relative 1e-9 (and 1e-12 absolute, for zeros)."""
    return 0.0 if value is None else max(1e-12, PLAN_RELATIVE * abs(value))


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (0 for fewer than two values)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def guard_simulated(headlines: Sequence[Mapping[str, float]]) -> dict[str, Guarded]:
    """Guard the headline numbers of the first replication with the spread of all of them."""
    first = headlines[0]
    out = {}
    for name, value in first.items():
        sd = sample_sd([h[name] for h in headlines if name in h])
        out[name] = Guarded(value, simulated_tolerance(name, value, sd), sd)
    return out


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def plan_numbers(plan: PlanResult) -> dict[str, float | None]:
    """The plan's guarded numbers (``None``: unbounded, or no price)."""
    t, w, d = plan.totals, plan.workload, plan.demand
    out: dict[str, float | None] = {
        "need_interviews_per_day": d.need_interviews_per_day,
        "interviews_per_day": _finite(t.interviews_per_day),
        "requests_per_day": _finite(t.requests_per_day),
        "monthly_cost_usd": _finite(t.monthly_cost_usd),
        "api_requests_per_interview": w.api_requests_per_interview,
        "tokens_per_interview": w.tokens_per_interview,
    }
    for p in plan.destinations:
        out[f"requests_per_day[{p.label}]"] = _finite(p.requests_per_day)
    return out


def guard_plan(numbers: Mapping[str, float | None]) -> dict[str, Guarded]:
    """Guard each plan number at its exact value."""
    return {k: Guarded(v, plan_tolerance(v)) for k, v in numbers.items()}


# --------------------------------------------------------------------------- file


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file (a missing or malformed file is the user's mistake: UsageError)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"no baseline at {path}: without --baseline, `capacity check` uses ./reports/baseline.json or the one "
            f"installed with the package; `capacity check --update --baseline {path}` measures a new one (which "
            "then checks the model against itself, not against the committed numbers)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the baseline {path}: {exc}") from None
    try:
        if data.get("version") != BASELINE_VERSION:
            raise UsageError(
                f"{path}: baseline version {data.get('version')!r}, expected {BASELINE_VERSION}; "
                "rewrite it with `capacity check --update`"
            )
        scenarios = {}
        for name, s in data["scenarios"].items():
            scenarios[name] = ScenarioBaseline(
                scenario=name,
                days=int(s["days"]),
                seed=int(s["seed"]),
                overrides=tuple(str(x) for x in s.get("set", [])),
                replications=int(s.get("replications", 1)),
                simulate={
                    k: Guarded(g["value"], float(g["tolerance"]), g.get("sd"))
                    for k, g in s["simulate"].items()
                },
                plan={k: Guarded(g["value"], float(g["tolerance"])) for k, g in s["plan"].items()},
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{path}: not a capacity baseline ({exc!r}); rewrite it with `capacity check --update`"
        ) from None
    return Baseline(scenarios)


def save_baseline(baseline: Baseline, path: Path) -> None:
    """Write the baseline (indented, keys in a stable order, one newline at the end)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Comparison:
    """One guarded number, then and now."""

    scenario: str
    group: Literal["simulate", "plan"]
    name: str
    baseline: float | None
    now: float | None
    tolerance: float
    status: Status

    @property
    def change(self) -> float | None:
        """now − baseline (None when either is missing)."""
        if self.baseline is None or self.now is None:
            return None
        return self.now - self.baseline

    @property
    def relative_change(self) -> float | None:
        """(now − baseline) ÷ |baseline| (None when undefined)."""
        c = self.change
        if c is None or self.baseline is None or self.baseline == 0:
            return None
        return c / abs(self.baseline)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "scenario": self.scenario,
            "group": self.group,
            "name": self.name,
            "baseline": self.baseline,
            "now": self.now,
            "change": self.change,
            "tolerance": self.tolerance,
            "status": self.status,
        }


def compare_one(
    scenario: str,
    group: Literal["simulate", "plan"],
    name: str,
    *,
    guarded: Guarded | None,
    now: float | None,
    present: bool = True,
) -> Comparison:
    """Compare one number with its guard (``guarded`` None: not in the baseline)."""
    if guarded is None:
        return Comparison(scenario, group, name, None, now, 0.0, "new")
    if not present:
        return Comparison(scenario, group, name, guarded.value, None, guarded.tolerance, "gone")
    if guarded.value is None or now is None:
        status: Status = "ok" if guarded.value is None and now is None else "moved"
    else:
        status = "ok" if abs(now - guarded.value) <= guarded.tolerance else "moved"
    return Comparison(scenario, group, name, guarded.value, now, guarded.tolerance, status)


def compare_group(
    scenario: str,
    group: Literal["simulate", "plan"],
    guards: Mapping[str, Guarded],
    now: Mapping[str, float | None],
) -> list[Comparison]:
    """Every number of a group, in the baseline's order, then the new ones."""
    out = [
        compare_one(scenario, group, k, guarded=g, now=now.get(k), present=k in now)
        for k, g in guards.items()
    ]
    out += [compare_one(scenario, group, k, guarded=None, now=v) for k, v in now.items() if k not in guards]
    return out


@dataclass(frozen=True)
class CheckReport:
    """All comparisons of a check."""

    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def failures(self) -> list[Comparison]:
        """The numbers that moved, appeared or disappeared."""
        return [c for c in self.comparisons if c.status != "ok"]

    @property
    def passed(self) -> bool:
        """Whether every number is within its tolerance."""
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "passed": self.passed,
            "rule": RULE,
            "checked": len(self.comparisons),
            "failures": [c.to_json() for c in self.failures],
            "comparisons": [c.to_json() for c in self.comparisons],
        }
