"""``capacity live --router URL``: the load generator through a running ``capacity serve``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from servekit import emulator_of, service, write_files
from typer.testing import CliRunner

from capacity.cli import app
from capacity.cli.common import load

SCALE = 1200.0


def test_capacity_live_drives_a_running_service(tmp_path: Path) -> None:
    scenario, providers = write_files(tmp_path, {"rpm": 5}, interviews=20)
    cfg = load(str(scenario), providers, None)
    with emulator_of(cfg, time_scale=SCALE) as emu, service(cfg, emu.base_url, time_scale=SCALE) as srv:
        result = CliRunner().invoke(app, [
            "live", "-s", str(scenario), "--providers", str(providers), "-n", "20", "--time-scale", str(SCALE),
            "--router", srv.base_url, "--journal", str(tmp_path / "run.jsonl"), "--json", "--no-progress",
        ])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
        upstream = httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]
    assert doc["interviews"]["completed"] == 20
    assert stats["total_requests"] == 20 and stats["api_calls"]["count"] == 20
    assert upstream["requests"] == 20 and upstream["violations"] == 0
