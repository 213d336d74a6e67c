"""The Python API: the command line's answers as objects, for notebooks and scripts.

::

    from capacity import api

    config = api.load("A", overrides=["routing.admission=gated"])
    planned = api.plan(config)                   # PlanResult: the static arithmetic
    runs = api.simulate(config, days=2, replications=3)   # list[RunResult], independent seeds
    api.intervals(runs)["carried_interviews_per_day"]     # mean and 95% interval
    api.verdict(runs[0], config).carries         # the verdict `capacity simulate` prints
    runs[0].to_frame("minutes")                  # pandas: per-minute series (also "destinations")

Every function raises :class:`~capacity.errors.UserError` (a subclass of
:class:`~capacity.errors.CapacityError`) for bad input, with the same one-line messages the
command line prints (file, line, field). Nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from capacity.config import Configuration, default_providers_path, load_configuration, scenario_path
from capacity.plan import PlanResult
from capacity.plan import plan as _plan
from capacity.report.verdict import Verdict, judge
from capacity.result import RunResult
from capacity.studies.replications import Interval, headline_intervals, replicate
from capacity.studies.runner import SimClock

__all__ = ["Configuration", "Interval", "PlanResult", "RunResult", "Verdict", "intervals", "load", "plan",
           "simulate", "verdict"]  # fmt: skip


def load(
    scenario: str | Path,
    *,
    providers: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> Configuration:
    """A scenario with its providers, as ``-s`` / ``--providers`` / ``--set`` load it.

    ``scenario`` is a shipped name (``"A"``), a name in ``./scenarios``, or a path to a YAML
    file; ``providers`` defaults to ``./providers.yaml``, then the shipped one; ``overrides``
    are ``--set`` assignments (``"routing.destinations[0].accounts=3"``, values parsed as YAML).
    Raises ConfigError (file, line, field) or UsageError (unknown scenario, bad override).
    """
    path = scenario if isinstance(scenario, Path) else scenario_path(scenario)
    return load_configuration(path, Path(providers) if providers else default_providers_path(), list(overrides))


def plan(config: Configuration, *, seed_claims: bool = False) -> PlanResult:
    """The static plan (``capacity plan``): per destination the binding limit, requests and
    interviews per interviewing day, the total against the need and the monthly cost in US
    dollars. ``seed_claims`` adds the check of the seed document's claimed quotas (always
    present for the seed-claims scenario)."""
    reference = None
    if seed_claims and config.scenario.seed_claims is None:
        reference = load("seed-claims", providers=config.providers_file).scenario.seed_claims
    return _plan(config, reference)


def simulate(
    config: Configuration,
    *,
    days: int | None = None,
    seed: int | None = None,
    replications: int = 1,
    progress: Callable[[int, float, float], None] | None = None,
) -> list[RunResult]:
    """Simulate the scenario (``capacity simulate``): ``replications`` runs with independent
    seeds derived from ``seed`` (default: the scenario's), each of the first ``days`` days of
    demand (default: the whole horizon). Replication 0 with the default seed is the run the
    command line prints. ``progress(i, now_s, end_s)`` is called as replication i advances in
    simulated seconds. Returns one RunResult per replication, in order.

    Raises UsageError for ``days`` beyond a monthly demand's horizon or ``replications`` < 1.
    """
    from capacity.errors import UsageError

    if replications < 1:
        raise UsageError(f"replications {replications}: expected at least 1")
    demand = config.scenario.demand
    if days is not None and (days < 1 or (demand.kind == "total" and days > demand.days)):
        raise UsageError(f"days {days}: scenario {config.scenario.name} has {demand.days} days")

    def clock(i: int) -> SimClock:
        def tell(now: float, end: float) -> None:
            if progress is not None:
                progress(i, now, end)

        return tell

    return replicate(config, replications, seed=seed, days=days, progress=clock if progress else None)


def intervals(runs: Sequence[RunResult]) -> dict[str, Interval]:
    """The 95% confidence interval of each headline number over replications:
    ``{"carried_interviews_per_day": Interval(mean, half_width, n), ...}`` (``.low``, ``.high``);
    with a single run the half-width is NaN."""
    return headline_intervals(list(runs))


def verdict(run: RunResult, config: Configuration) -> Verdict:
    """The verdict ``capacity simulate`` prints for ``run`` (a run of ``config``): whether the
    plan carries the demand within the p95 turn-latency target, with findings and options."""
    return judge(run, config, _plan(config))
