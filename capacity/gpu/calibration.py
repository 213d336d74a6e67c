"""Calibrating the roofline's efficiencies on published measurements, and checking them.

Each benchmark row of the catalogue is reproduced with the serving model itself:

* ``decode`` — one stream generating n tokens from an empty context (llama-bench tg):
  n ÷ Σ decode-step times;
* ``prefill`` — one prompt (llama-bench pp): prompt tokens ÷ its prefill-step time;
* ``closed_loop`` — c clients sending back to back (vllm bench serve): the continuous-batching
  server (:class:`~capacity.gpu.analytic.AnalyticServer`) run for 16 requests per client,
  output tokens ÷ wall time.

:func:`calibrate` fits, on the rows marked ``calibrate`` only, in three stages repeated until
the constants settle:

1. the compute efficiency η_c, shared by every engine (prefill GEMMs are cuBLAS-class
   kernels in both llama.cpp and vLLM), on the prefill rows;
2. per engine, the bandwidth efficiency η_bw — and the per-step overhead where the engine
   has at least two rows (one row cannot tell bandwidth from overhead; the overhead then
   keeps its catalogue value) — on its fp16 decode and closed-loop rows;
3. per quantised weight format, its bandwidth factor, on that format's rows.

Each fit minimises the sum of squared log errors (Nelder–Mead). :func:`check_rows` reports
the relative error of the model on *every* row, calibrated and held out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from capacity.config.gpus import BenchmarkRow, EngineProfile, GpuCatalog, PrecisionSpec
from capacity.gpu.analytic import AnalyticServer
from capacity.gpu.roofline import Deployment, deployment
from capacity.gpu.server import ServerSettings
from capacity.gpu.workload import run_closed_loop, summarize

REQUESTS_PER_CLIENT = 16
CLOSED_LOOP_SETTINGS = ServerSettings(max_batch=256, max_num_batched_tokens=2048, chunked_prefill=True)
"""vLLM V1's defaults for an OpenAI-compatible server on a GPU under 70 GiB (the rows' setup)."""


@dataclass(frozen=True, slots=True)
class RowCheck:
    """One benchmark row against the model: measured, modelled and the relative error."""

    row: BenchmarkRow
    modelled_tokens_per_s: float

    @property
    def error(self) -> float:
        """(modelled − measured) ÷ measured."""
        return self.modelled_tokens_per_s / self.row.measured_tokens_per_s - 1.0


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted constants and every row checked against them."""

    engines: dict[str, EngineProfile]
    precisions: dict[str, PrecisionSpec]
    rows: list[RowCheck]

    def catalog(self, base: GpuCatalog) -> GpuCatalog:
        """``base`` with the fitted constants in place."""
        return base.model_copy(update={"engines": self.engines, "precisions": self.precisions})


def row_deployment(catalog: GpuCatalog, row: BenchmarkRow) -> Deployment:
    """The deployment a benchmark row measured."""
    return deployment(catalog, row.gpu, row.model, precision=row.precision, engine=row.engine)


def modelled_tokens_per_s(catalog: GpuCatalog, row: BenchmarkRow) -> float:
    """What the serving model predicts for a row, in the row's own unit (tokens/s)."""
    dep = row_deployment(catalog, row)
    if row.kind == "prefill":
        return row.prompt_tokens / dep.prefill_time_s(row.prompt_tokens)
    if row.kind == "decode":
        return row.output_tokens / dep.generation_time_s(row.output_tokens, row.prompt_tokens)
    server = AnalyticServer(dep, CLOSED_LOOP_SETTINGS)
    done = run_closed_loop(
        server, row.concurrency, row.prompt_tokens, row.output_tokens, REQUESTS_PER_CLIENT * row.concurrency
    )
    return summarize(done, row.output_tokens).output_tokens_per_s


def check_rows(catalog: GpuCatalog) -> list[RowCheck]:
    """Every benchmark row of the catalogue against the model with the catalogue's constants."""
    return [RowCheck(row, modelled_tokens_per_s(catalog, row)) for row in catalog.benchmarks]


def nelder_mead(
    f: Callable[[np.ndarray], float], x0: Sequence[float], step: Sequence[float], iterations: int = 400
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


def _log_error_sum(catalog: GpuCatalog, rows: Sequence[BenchmarkRow]) -> float:
    total = 0.0
    for row in rows:
        modelled = modelled_tokens_per_s(catalog, row)
        total += math.log(modelled / row.measured_tokens_per_s) ** 2
    return total


def _penalty(value: float, low: float, high: float) -> float:
    return 1e3 * ((low - value) ** 2 if value < low else (value - high) ** 2 if value > high else 0.0)


def _with_engines(catalog: GpuCatalog, engines: dict[str, EngineProfile]) -> GpuCatalog:
    return catalog.model_copy(update={"engines": engines})


def _fit_compute(catalog: GpuCatalog, rows: Sequence[BenchmarkRow]) -> GpuCatalog:
    prefill = [r for r in rows if r.kind == "prefill"]
    if not prefill:
        return catalog

    def set_eta(eta: float) -> GpuCatalog:
        engines = {k: e.model_copy(update={"compute_efficiency": eta}) for k, e in catalog.engines.items()}
        return _with_engines(catalog, engines)

    def loss(x: np.ndarray) -> float:
        eta = float(np.clip(x[0], 0.05, 1.2))
        return _log_error_sum(set_eta(eta), prefill) + _penalty(float(x[0]), 0.05, 1.2)

    best = nelder_mead(loss, [0.7], [0.1])
    return set_eta(float(np.clip(best[0], 0.05, 1.2)))


def _fit_engine(catalog: GpuCatalog, engine: str, rows: Sequence[BenchmarkRow]) -> GpuCatalog:
    own = [r for r in rows if r.engine == engine and r.precision == "fp16" and r.kind != "prefill"]
    if not own:
        return catalog
    fit_overhead = len(own) >= 2
    base = catalog.engines[engine]

    def set_params(x: np.ndarray) -> GpuCatalog:
        update: dict[str, float] = {"bandwidth_efficiency": float(np.clip(x[0], 0.05, 1.0))}
        if fit_overhead:
            update["step_overhead_s"] = max(0.0, float(x[1]) / 1000.0)
        return _with_engines(catalog, {**catalog.engines, engine: base.model_copy(update=update)})

    def loss(x: np.ndarray) -> float:
        penalty = _penalty(float(x[0]), 0.05, 1.0) + (
            _penalty(float(x[1]), 0.0, 1e9) if fit_overhead else 0.0
        )
        return _log_error_sum(set_params(x), own) + penalty

    # the overhead is fitted in milliseconds so both coordinates have similar scales
    start, step = ([0.7, 1.0], [0.1, 1.0]) if fit_overhead else ([0.7], [0.1])
    return set_params(nelder_mead(loss, start, step))


def _fit_precision(catalog: GpuCatalog, precision: str, rows: Sequence[BenchmarkRow]) -> GpuCatalog:
    own = [r for r in rows if r.precision == precision and r.kind != "prefill"]
    if not own:
        return catalog
    base = catalog.precisions[precision]

    def set_factor(x: float) -> GpuCatalog:
        spec = base.model_copy(update={"bandwidth_factor": float(np.clip(x, 0.05, 1.5))})
        return catalog.model_copy(update={"precisions": {**catalog.precisions, precision: spec}})

    def loss(x: np.ndarray) -> float:
        return _log_error_sum(set_factor(float(x[0])), own) + _penalty(float(x[0]), 0.05, 1.5)

    return set_factor(float(nelder_mead(loss, [0.8], [0.1])[0]))


def calibrate(catalog: GpuCatalog, rounds: int = 3) -> Calibration:
    """Fit η_c, each engine's η_bw (and overhead) and each quantised format's factor on the
    ``calibrate`` rows; check every row with the result."""
    rows = [r for r in catalog.benchmarks if r.role == "calibrate"]
    fitted = catalog
    for _ in range(rounds):
        fitted = _fit_compute(fitted, rows)
        for engine in sorted(fitted.engines):
            fitted = _fit_engine(fitted, engine, rows)
        for precision in sorted(fitted.precisions):
            if precision != "fp16":
                fitted = _fit_precision(fitted, precision, rows)
    return Calibration(dict(fitted.engines), dict(fitted.precisions), check_rows(fitted))
