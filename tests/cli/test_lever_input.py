"""Deferred stages and question banks written wrong: exit status 2, one line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app

runner = CliRunner()

RESUME = """extends: A
script:
  stages:
    resume_analysis:
"""


@pytest.mark.parametrize(
    ("lever", "field", "message"),
    [
        # A's free tiers: Gemini's and Groq's batch APIs are not on the free plan
        ("      deferral: {lead_time_s: 3600, via: batch}\n", "deferral.via", "no routing destination offers a batch"),
        (
            "      deferral: {lead_time_s: 3600, via: batch, provider: groq, model: llama-3.1-8b-instant}\n",
            "deferral.via",
            "not available",
        ),
        ("      deferral: {lead_time_s: -5, via: off_peak}\n", "deferral.lead_time_s", "greater than 0"),
        ("      deferral: {lead_time_s: 60, via: overnight}\n", "deferral.via", "'batch' or 'off_peak'"),
        ("      bank: {variants: 0}\n", "bank.variants", "greater than 0"),
        (
            "      input: {history: true}\n      bank: {variants: 4, via: off_peak}\n",
            "resume_analysis",
            "cannot read the conversation",
        ),
    ],
)
def test_a_bad_lever_is_refused_with_its_place(tmp_path: Path, lever: str, field: str, message: str) -> None:
    path = tmp_path / "levers.yaml"
    path.write_text(RESUME + lever)
    result = runner.invoke(app, ["plan", "-s", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr if result.stderr_bytes is not None else result.output
    assert "Traceback" not in err
    assert str(path) in err and field in err and message in err, err


def test_a_batch_api_that_draws_on_the_normal_quotas_is_refused(tmp_path: Path) -> None:
    providers = tmp_path / "providers.yaml"
    shipped = (Path(__file__).parents[2] / "providers.yaml").read_text()
    providers.write_text(
        shipped.replace(
            '      draws_on_quotas: false\n      source: "Batch API: 50% off',
            '      draws_on_quotas: unknown\n      source: "Batch API: 50% off',
            1,
        )
    )
    path = tmp_path / "levers.yaml"
    path.write_text(
        "extends: A-paid\n"
        + RESUME.removeprefix("extends: A\n")
        + "      deferral: {lead_time_s: 90000, via: batch, provider: openai, model: gpt-3.5-turbo-0125}\n"
    )
    result = runner.invoke(app, ["plan", "-s", str(path), "--providers", str(providers)])
    assert result.exit_code == 2, result.output
    assert "draws on the normal rate limits" in (result.stderr if result.stderr_bytes is not None else result.output)
