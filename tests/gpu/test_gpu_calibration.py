"""Calibration: the stored constants are what the fit gives; held-out rows within 25 %."""

from __future__ import annotations

import pytest

from capacity.config.gpus import load_catalog
from capacity.gpu.calibration import Calibration, calibrate, check_rows

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def fitted() -> Calibration:
    return calibrate(CATALOG)


def test_stored_constants_are_the_fitted_ones(fitted: Calibration) -> None:
    for key, engine in CATALOG.engines.items():
        refit = fitted.engines[key]
        assert engine.bandwidth_efficiency == pytest.approx(refit.bandwidth_efficiency, rel=1e-3), key
        assert engine.compute_efficiency == pytest.approx(refit.compute_efficiency, rel=1e-3), key
        assert engine.step_overhead_s == pytest.approx(refit.step_overhead_s, abs=1e-5), key
    for key, precision in CATALOG.precisions.items():
        assert precision.bandwidth_factor == pytest.approx(
            fitted.precisions[key].bandwidth_factor, rel=1e-3
        ), key


def test_fitted_values_are_physical(fitted: Calibration) -> None:
    # the facts: "measured efficiency η_bw is about 0.6–0.85"
    assert fitted.engines["vllm"].bandwidth_efficiency == pytest.approx(0.803, abs=0.001)
    assert fitted.engines["llama.cpp"].bandwidth_efficiency == pytest.approx(0.869, abs=0.001)
    assert fitted.engines["vllm"].compute_efficiency == pytest.approx(0.928, abs=0.001)
    assert fitted.precisions["int4"].bandwidth_factor == pytest.approx(0.727, abs=0.001)


MEASURED_ERRORS = {
    # row: (role, error of the model with the stored constants) — stated, and checked
    "4090-llama8b-fp16-tg": ("calibrate", 0.000),
    "4090-llama8b-fp16-pp": ("calibrate", 0.000),
    "4090-llama8b-q4-tg": ("calibrate", 0.000),
    "a100-llama8b-vllm-c1": ("calibrate", 0.000),
    "3090-llama8b-fp16-tg": ("hold_out", +0.084),
    "3090-llama8b-q4-tg": ("hold_out", +0.062),
    "3090-llama8b-fp16-pp": ("hold_out", -0.092),
    "a100-llama8b-vllm-c8": ("hold_out", -0.040),
    "4090-mistral7b-vllm-c4": ("hold_out", +0.018),
    "4090-mistral7b-vllm-c16": ("hold_out", +0.161),
}


def test_every_row_within_its_stated_error() -> None:
    checks = {c.row.id: c for c in check_rows(CATALOG)}
    assert set(checks) == set(MEASURED_ERRORS)
    for row_id, (role, error) in MEASURED_ERRORS.items():
        check = checks[row_id]
        assert check.row.role == role
        assert check.error == pytest.approx(error, abs=0.002), row_id
        assert abs(check.error) <= (0.002 if role == "calibrate" else 0.25), row_id


def test_held_out_rows_cover_another_gpu_and_model() -> None:
    held = [c.row for c in check_rows(CATALOG) if c.row.role == "hold_out"]
    assert {r.gpu for r in held} >= {"rtx3090", "rtx4090", "a100-40gb"}
    assert "mistral-7b" in {r.model for r in held}
    assert {r.engine for r in held} == {"llama.cpp", "vllm"}
