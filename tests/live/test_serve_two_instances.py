"""Issue 10's whole service at once: two ``capacity serve`` instances sharing one Redis in front of
the provider emulator, each driven by its own ``capacity live --router`` with a compressed
interview load (one in a child process, one in this process, running at the same time). Together they
ask for more than the provider's minute allows: the instances, sharing the ledger, send the
provider no more than its limit (the emulator's ``/stats``: no 429, no violation), each counts
exactly what its driver asked of it, and each one's dashboard shows its own figures in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from servekit import CHROMIUM, emulator_of, require_browser, service, write_files
from typer.testing import CliRunner

from capacity.cli import app
from capacity.cli.common import load
from capacity.live.redis_server import RedisServer

SCALE = 1200.0  # the scenario's hour of arrivals in three wall seconds
RPM = 10
EACH = 12  # interviews (one request each) per driver: 24 asked for within the minute, 10 allowed
SHOWN = ("total-requests", "api-calls", "refused", "failed", "abandoned", "cache-hits", "group")


def live_args(scenario: Path, providers: Path, router: str, journal: Path) -> list[str]:
    return ["live", "-s", str(scenario), "--providers", str(providers), "-n", str(EACH), "--time-scale", str(SCALE),
            "--router", router, "--journal", str(journal), "--json", "--no-progress"]


def shown_by_dashboards(urls: list[str], totals: list[int], shots: Path) -> list[dict[str, str | None]]:
    """What each instance's dashboard shows in Chromium once it shows ``totals``; a screenshot each."""
    from playwright.sync_api import sync_playwright

    shown: list[dict[str, str | None]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for k, (url, total) in enumerate(zip(urls, totals, strict=True)):
                page = browser.new_page()
                page.goto(f"{url}/")
                page.wait_for_function(
                    f"document.getElementById('total-requests').textContent === '{total}'", timeout=15_000
                )
                shown.append({i: page.text_content(f"#{i}") for i in SHOWN})
                page.screenshot(path=str(shots / f"dashboard-{k}.png"), full_page=True)
        finally:
            browser.close()
    return shown


def test_two_instances_on_one_redis_driven_by_capacity_live(redis_server: RedisServer, tmp_path: Path) -> None:
    require_browser()
    # a turn the router refused fails at once (the application would tell its candidate to wait)
    scenario, providers = write_files(tmp_path, {"rpm": RPM}, interviews=EACH, on_exhausted="fail")
    cfg = load(str(scenario), providers, None)
    shared = {"redis_url": redis_server.url, "namespace": "capacity:test-serve-two"}
    with (
        emulator_of(cfg) as emu,
        service(cfg, emu.base_url, **shared) as one,
        service(cfg, emu.base_url, **shared) as two,
    ):
        other = subprocess.Popen(
            [sys.executable, "-m", "capacity", *live_args(scenario, providers, two.base_url, tmp_path / "two.jsonl")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # start this driver once the other's first request has reached its instance, so both run at once
        deadline = time.monotonic() + 30.0
        while httpx.get(f"{two.base_url}/api/optimization_stats").json()["total_requests"] == 0:
            assert other.poll() is None and time.monotonic() < deadline, other.communicate()[1]
            time.sleep(0.01)
        mine = CliRunner().invoke(app, live_args(scenario, providers, one.base_url, tmp_path / "one.jsonl"))
        out, err = other.communicate(timeout=60)
        assert mine.exit_code == 0, mine.output
        assert other.returncode == 0, err
        docs: list[dict[str, Any]] = [json.loads(mine.stdout), json.loads(out)]
        stats = [httpx.get(f"{srv.base_url}/api/optimization_stats").json() for srv in (one, two)]
        upstream = httpx.get(f"{emu.base_url}/stats").json()["providers"]["acme"]["models"]["m"]
        shown = shown_by_dashboards([one.base_url, two.base_url], [s["total_requests"] for s in stats], tmp_path)
    # together the two instances sent the provider its minute's limit and not one request more
    assert upstream["requests"] == RPM and upstream["served"] == RPM
    assert upstream["rate_limited"] == {"burst": 0, "daily": 0} and upstream["violations"] == 0
    assert upstream["limits"]["rpm"]["peak"] == RPM
    for doc, counted in zip(docs, stats, strict=True):
        asked, interviews = doc["requests"], doc["interviews"]
        # each instance counted exactly what its driver asked of it: answered upstream, or refused
        # with a 429 (after which the driver holds off for the Retry-After: later turns fail unsent)
        assert counted["total_requests"] == asked["api_calls"] >= 1
        assert counted["api_calls"]["count"] == asked["provider"] == interviews["completed"]
        assert counted["refused"]["count"] == asked["api_calls"] - asked["provider"]
        assert counted["failed"]["count"] == counted["cache_hits"]["count"] == 0
        assert interviews["completed"] + interviews["failed"] == EACH
    assert sum(c["api_calls"]["count"] for c in stats) == RPM
    assert sum(c["refused"]["count"] for c in stats) >= 1
    for counted, page in zip(stats, shown, strict=True):
        assert page == {
            "total-requests": str(counted["total_requests"]),
            "api-calls": str(counted["api_calls"]["count"]),
            "refused": str(counted["refused"]["count"]),
            "failed": "0",
            "abandoned": "0",
            "cache-hits": "0",
            "group": "interview",
        }
    assert all((tmp_path / f"dashboard-{k}.png").stat().st_size > 0 for k in (0, 1))
