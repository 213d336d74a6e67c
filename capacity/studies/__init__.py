"""Studies: experiments made of runs — replications, sweeps, the knee, sizing, comparisons, TCO.

A study asks the simulator (:func:`capacity.sim.model.simulate`) the same question many times
and turns the answers into a result a report renders: independent replications with 95 %
intervals (:mod:`.replications`), the capacity curve over scaled demand (:mod:`.sweep`), the
fewest GPU servers that meet a target and the most demand a plan carries (:mod:`.sizing`),
strategies side by side with their TCO (:mod:`.compare`), the seed's GPU and cost claims
(:mod:`.claims`), the runs of a report page (:mod:`.runs`) and of ``capacity check``
(:mod:`.check`, :mod:`.regression`), and what-if grids of scenario and provider fields
(:mod:`.grid`, ``capacity sweep``) on a process pool or a Dask cluster (:mod:`.executors`).

Each idea has one definition here: the process pool (:func:`run_tasks`), demand scaling
(:func:`scale_demand`), the service-level target and its 99 % threshold (:class:`Target`,
:data:`CARRIED_SHARE`), the knee (:func:`knee_of`), interviewing days and the month basis
(:func:`run_interviewing_days`, :func:`month_days`, :func:`runs_per_month`) and the monthly
cost at list price (:mod:`.costs`). Studies run; :mod:`capacity.report` renders, and runs nothing.

:mod:`.validate` (imported on its own: it starts the live machinery) sets the simulation of a
scenario's first interviews beside a live run of the same interviews against the provider
emulator.
"""

from capacity.studies.check import current, measure
from capacity.studies.claims import CardCapacity, ClaimCheck, ClaimStudy
from capacity.studies.compare import COMPARISONS, Comparison, ComparisonResult, GroupResult, StrategyRow, compare
from capacity.studies.costs import (
    REFERENCE_APIS,
    list_prices,
    monthly_usd,
    paid_option,
    reference_options,
    tokens_per_interview,
    usd_per_interview,
)
from capacity.studies.demand import (
    horizon_days,
    month_days,
    need_per_interviewing_day,
    run_interviewing_days,
    runs_per_month,
    scale_demand,
)
from capacity.studies.executors import EXECUTORS, Executor, run_on
from capacity.studies.grid import METRICS, Axis, Cell, CellResult, GridResult, grid_cells, parse_grid, run_grid
from capacity.studies.regression import Baseline, CheckReport, load_baseline, save_baseline
from capacity.studies.replications import (
    Interval,
    confidence_interval,
    headline_intervals,
    replicate,
    replication_seeds,
)
from capacity.studies.runner import SimTask, Task, run_tasks
from capacity.studies.runs import RunRequest, ScenarioRun, run_scenarios
from capacity.studies.sizing import FleetSize, Knee, Probe, knee, latency_floor, min_servers, probe
from capacity.studies.sweep import CapacityCurve, CurvePoint, capacity_curve
from capacity.studies.target import CARRIED_SHARE, Target, carries, knee_of
from capacity.studies.variants import one_card, sized_pool, with_pool_only, with_precision, with_servers

__all__ = [
    "CARRIED_SHARE",
    "COMPARISONS",
    "EXECUTORS",
    "METRICS",
    "REFERENCE_APIS",
    "Axis",
    "Baseline",
    "CapacityCurve",
    "CardCapacity",
    "Cell",
    "CellResult",
    "CheckReport",
    "ClaimCheck",
    "ClaimStudy",
    "Comparison",
    "ComparisonResult",
    "CurvePoint",
    "Executor",
    "FleetSize",
    "GridResult",
    "GroupResult",
    "Interval",
    "Knee",
    "Probe",
    "RunRequest",
    "ScenarioRun",
    "SimTask",
    "StrategyRow",
    "Target",
    "Task",
    "capacity_curve",
    "carries",
    "compare",
    "confidence_interval",
    "current",
    "grid_cells",
    "headline_intervals",
    "horizon_days",
    "knee",
    "knee_of",
    "latency_floor",
    "list_prices",
    "load_baseline",
    "measure",
    "min_servers",
    "month_days",
    "monthly_usd",
    "need_per_interviewing_day",
    "one_card",
    "paid_option",
    "parse_grid",
    "probe",
    "reference_options",
    "replicate",
    "replication_seeds",
    "run_grid",
    "run_interviewing_days",
    "run_on",
    "run_scenarios",
    "run_tasks",
    "runs_per_month",
    "save_baseline",
    "scale_demand",
    "sized_pool",
    "tokens_per_interview",
    "usd_per_interview",
    "with_pool_only",
    "with_precision",
    "with_servers",
]
