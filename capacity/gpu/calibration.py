"""Calibrating the roofline's constants on published measurements, and checking them.

Each benchmark row of the catalogue is reproduced with the serving model itself:

* ``decode`` — one stream generating n tokens (llama-bench tg): n ÷ Σ decode-step times;
* ``prefill`` — one prompt (llama-bench pp): prompt tokens ÷ its prefill-step time;
* ``closed_loop`` — c clients sending back to back (``vllm bench serve --max-concurrency``):
  the continuous-batching server (:class:`~capacity.gpu.analytic.AnalyticServer`) run for
  the row's requests (16 per client if it does not say), output tokens ÷ wall time;
* ``offline`` — every request queued at once (``trtllm-bench throughput``): the same server
  with the engine's own batch limits, output tokens ÷ wall time.

:func:`calibrate` fits, on the rows marked ``calibrate`` only, engine by engine and jointly:
the CPU time per step o₀ + o₁·sequences (engines with rows at several batch sizes; held at
its catalogue value otherwise) and the η_bw and η_c of every efficiency entry that lists
rows in its ``fitted_on``; then each quantised weight format's bandwidth factor on that
format's rows. Each fit minimises the sum of squared log errors (Nelder–Mead,
deterministic), restarted from its best point each round. :func:`check_rows` reports the relative error of
the model on *every* row, calibrated and held out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from capacity.config.gpus import BenchmarkRow, Efficiency, EngineProfile, GpuCatalog, PrecisionSpec
from capacity.gpu.analytic import AnalyticServer
from capacity.gpu.roofline import Deployment, choose_efficiency, deployment
from capacity.gpu.settings import ServerSettings
from capacity.gpu.workload import Request, run_closed_loop, run_open_loop, summarize

REQUESTS_PER_CLIENT = 16
MAX_BANDWIDTH_EFFICIENCY = 0.9
"""The highest η_bw a fit may reach: kernels stream at most about 90 % of a card's datasheet
bandwidth (the facts' measured range is 0.6–0.85); without the bound a fit trades the step
overhead against bandwidth and runs η_bw to 1."""


@dataclass(frozen=True, slots=True)
class RowCheck:
    """One benchmark row against the model: measured, modelled and the relative error."""

    row: BenchmarkRow
    modelled_tokens_per_s: float
    fit: str = ""  # the efficiencies entry used: "engine version · class"

    @property
    def error(self) -> float:
        """(modelled − measured) ÷ measured."""
        return self.modelled_tokens_per_s / self.row.measured_tokens_per_s - 1.0


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """Absolute relative errors over a set of rows."""

    rows: int
    median: float
    largest: float
    largest_row: str


def held_out_summary(checks: Sequence[RowCheck]) -> ErrorSummary | None:
    """Median and largest absolute error over the held-out rows; None if there are none."""
    held = [c for c in checks if c.row.role == "hold_out"]
    if not held:
        return None
    worst = max(held, key=lambda c: abs(c.error))
    return ErrorSummary(len(held), statistics.median(abs(c.error) for c in held), abs(worst.error), worst.row.id)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted constants and every row checked against them."""

    engines: dict[str, EngineProfile]
    precisions: dict[str, PrecisionSpec]
    rows: list[RowCheck]

    def catalog(self, base: GpuCatalog) -> GpuCatalog:
        """``base`` with the fitted constants in place."""
        return base.model_copy(update={"engines": self.engines, "precisions": self.precisions})


def row_settings(catalog: GpuCatalog, row: BenchmarkRow) -> ServerSettings:
    """The engine settings a row ran with: the engine's defaults and the row's own limits."""
    engine = catalog.engine(row.engine)
    return ServerSettings(
        max_batch=row.max_batch or engine.max_num_seqs,
        max_num_batched_tokens=row.max_num_batched_tokens or engine.max_num_batched_tokens,
    ).resolved(engine)


def row_deployment(catalog: GpuCatalog, row: BenchmarkRow) -> Deployment:
    """The deployment a benchmark row measured, with the settings it ran with."""
    return deployment(
        catalog, row.gpu, row.model, precision=row.precision, engine=row.engine, settings=row_settings(catalog, row)
    )


def modelled_tokens_per_s(catalog: GpuCatalog, row: BenchmarkRow) -> float:
    """What the serving model predicts for a row, in the row's own unit (tokens/s)."""
    dep = row_deployment(catalog, row)
    if row.kind == "prefill":
        return row.prompt_tokens / dep.prefill_time_s(row.prompt_tokens)
    if row.kind == "decode":
        return row.output_tokens / dep.generation_time_s(row.output_tokens, row.prompt_tokens)
    server = AnalyticServer(dep)
    if row.kind == "closed_loop":
        count = row.requests or REQUESTS_PER_CLIENT * row.concurrency
        done = run_closed_loop(server, row.concurrency, row.prompt_tokens, row.output_tokens, count)
    else:
        assert row.requests is not None  # checked by BenchmarkRow
        done = run_open_loop(server, [Request(0.0, row.prompt_tokens, row.output_tokens)] * row.requests)
    return summarize(done, row.output_tokens).output_tokens_per_s


def row_fit(catalog: GpuCatalog, row: BenchmarkRow) -> str:
    """Which fit a row is modelled with: ``engine (version) · efficiency class``."""
    engine = catalog.engine(row.engine)
    key = choose_efficiency(catalog, row.engine, catalog.gpu(row.gpu)).key
    return f"{row.engine} {engine.version} · {key}"


def check_row(catalog: GpuCatalog, row: BenchmarkRow) -> RowCheck:
    """One benchmark row against the model with the catalogue's constants."""
    return RowCheck(row, modelled_tokens_per_s(catalog, row), row_fit(catalog, row))


def check_rows(catalog: GpuCatalog) -> list[RowCheck]:
    """Every benchmark row of the catalogue against the model with the catalogue's constants."""
    return [check_row(catalog, row) for row in catalog.benchmarks]


def nelder_mead(
    f: Callable[[np.ndarray], float], x0: Sequence[float], step: Sequence[float], iterations: int = 600
) -> np.ndarray:
    """Minimise ``f`` from ``x0`` with the Nelder–Mead simplex (deterministic)."""
    n = len(x0)
    simplex = [np.asarray(x0, dtype=float)]
    for i in range(n):
        x = simplex[0].copy()
        x[i] += step[i]
        simplex.append(x)
    values = [f(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) <= 1e-16 + 1e-13 * abs(values[0]):
            break
        centroid = np.mean(simplex[:-1], axis=0)
        worst = simplex[-1]
        reflected = centroid + (centroid - worst)
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - worst)
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (worst - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                best = simplex[0]
                simplex = [best] + [best + 0.5 * (x - best) for x in simplex[1:]]
                values = [values[0]] + [f(x) for x in simplex[1:]]
    return simplex[int(np.argmin(values))]


def log_error_sum(catalog: GpuCatalog, rows: Sequence[BenchmarkRow]) -> float:
    """Σ (ln modelled − ln measured)² over ``rows``."""
    total = 0.0
    for row in rows:
        modelled = modelled_tokens_per_s(catalog, row)
        total += math.log(modelled / row.measured_tokens_per_s) ** 2
    return total


@dataclass(frozen=True, slots=True)
class Param:
    """One fitted constant: where it lives in the catalogue, its bounds and the scale it is searched at."""

    engine: str
    field: str  # step_overhead_s, step_overhead_per_sequence_s, bandwidth or compute
    key: str | None = None  # the efficiencies entry (bandwidth, compute)
    low: float = 0.0
    high: float = 1.0
    scale: float = 1.0  # searched as value ÷ scale, so every coordinate moves by about 0.1

    def get(self, catalog: GpuCatalog) -> float:
        """The constant's value in ``catalog``."""
        engine = catalog.engines[self.engine]
        if self.key is None:
            return float(getattr(engine, self.field))
        value = getattr(engine.efficiencies[self.key], self.field)
        assert value is not None
        return float(value)

    def put(self, catalog: GpuCatalog, value: float) -> GpuCatalog:
        """``catalog`` with the constant set to ``value`` (clipped to its bounds)."""
        value = min(self.high, max(self.low, value))
        engine = catalog.engines[self.engine]
        if self.key is None:
            engine = engine.model_copy(update={self.field: value})
        else:
            entry: Efficiency = engine.efficiencies[self.key].model_copy(update={self.field: value})
            engine = engine.model_copy(update={"efficiencies": {**engine.efficiencies, self.key: entry}})
        return catalog.model_copy(update={"engines": {**catalog.engines, self.engine: engine}})


def overhead_params(engine_key: str, rows: Sequence[BenchmarkRow]) -> list[Param]:
    """The step overhead o₀, o₁ of an engine, if its rows run at more than one batch size
    (closed loops at several concurrencies, or offline runs); none otherwise."""
    batched = {r.concurrency for r in rows if r.kind == "closed_loop"} | {r.id for r in rows if r.kind == "offline"}
    if len(batched) < 2:
        return []
    return [
        Param(engine_key, "step_overhead_s", high=0.05, scale=0.01),
        Param(engine_key, "step_overhead_per_sequence_s", high=0.002, scale=0.0001),
    ]


def efficiency_params(catalog: GpuCatalog, engine_key: str, key: str) -> list[Param]:
    """The values one efficiencies entry gives itself (the others come from ``same_as``)."""
    eff = catalog.engines[engine_key].efficiencies[key]
    params: list[Param] = []
    if eff.bandwidth is not None:
        params.append(Param(engine_key, "bandwidth", key, low=0.05, high=MAX_BANDWIDTH_EFFICIENCY))
    if eff.compute is not None:
        params.append(Param(engine_key, "compute", key, low=0.05, high=1.0))
    return params


def fit(catalog: GpuCatalog, params: Sequence[Param], rows: Sequence[BenchmarkRow]) -> GpuCatalog:
    """``catalog`` with ``params`` set to minimise the squared log error on ``rows``."""
    if not params or not rows:
        return catalog

    def apply(x: np.ndarray) -> GpuCatalog:
        out = catalog
        for p, v in zip(params, x, strict=True):
            out = p.put(out, float(v) * p.scale)
        return out

    def loss(x: np.ndarray) -> float:
        penalty = 0.0
        for p, v in zip(params, x, strict=True):
            value = float(v) * p.scale
            if value < p.low or value > p.high:
                penalty += 1e3 * (min(abs(value - p.low), abs(value - p.high)) / p.scale) ** 2
        return log_error_sum(apply(x), rows) + penalty

    start = [p.get(catalog) / p.scale for p in params]
    return apply(nelder_mead(loss, start, [0.1] * len(params)))


def _fit_precision(catalog: GpuCatalog, precision: str, rows: Sequence[BenchmarkRow]) -> GpuCatalog:
    own = [r for r in rows if r.precision == precision and r.kind != "prefill"]
    if not own:
        return catalog
    base = catalog.precisions[precision]

    def set_factor(x: float) -> GpuCatalog:
        spec = base.model_copy(update={"bandwidth_factor": float(np.clip(x, 0.05, 1.5))})
        return catalog.model_copy(update={"precisions": {**catalog.precisions, precision: spec}})

    def loss(x: np.ndarray) -> float:
        return log_error_sum(set_factor(float(x[0])), own)

    return set_factor(float(nelder_mead(loss, [base.bandwidth_factor], [0.1])[0]))


def engine_fit(catalog: GpuCatalog, engine: str) -> tuple[list[Param], list[BenchmarkRow]]:
    """The constants one engine's calibration fits, and the rows it fits them on.

    The step overhead (if its rows run at several batch sizes) and every efficiency entry's own
    values, jointly, on all of the engine's fp16/fp8 calibration rows; each row moves only the
    overhead and the entry of its GPU class, so the fit is one least-squares problem per engine.
    """
    rows = [r for r in catalog.benchmarks if r.role == "calibrate" and r.engine == engine]
    own = [r for r in rows if r.precision in ("fp16", "fp8")]
    params = overhead_params(engine, own)
    for key, eff in sorted(catalog.engines[engine].efficiencies.items()):
        if eff.fitted_on:
            params += efficiency_params(catalog, engine, key)
    return params, own


def calibrate(catalog: GpuCatalog, rounds: int = 2) -> Calibration:
    """Fit every engine's constants, then each quantised format's factor, on the ``calibrate``
    rows, starting from the catalogue's values; check every row with the result.

    Each round restarts the simplex of every engine from the best point so far (Nelder–Mead
    can stall on a long valley, such as the one between step overhead and bandwidth).
    """
    rows = [r for r in catalog.benchmarks if r.role == "calibrate"]
    fitted = catalog
    for _ in range(rounds):
        for engine in sorted(fitted.engines):
            params, own = engine_fit(fitted, engine)
            fitted = fit(fitted, params, own)
        for precision in sorted(fitted.precisions):
            if precision not in ("fp16", "fp8"):
                fitted = _fit_precision(fitted, precision, rows)
    return Calibration(dict(fitted.engines), dict(fitted.precisions), check_rows(fitted))
