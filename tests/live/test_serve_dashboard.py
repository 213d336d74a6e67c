"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright
for Python with that executable) loads ``GET /`` while traffic flows through the service, and
the figures it shows match ``/api/optimization_stats``. A screenshot is saved beside the test's
temporary files (``dashboard.png``)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from servekit import CHROMIUM, config, emulator_of, require_browser, service


def test_the_dashboard_shows_the_services_figures_in_chromium(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    cfg = config({"rpm": 1000, "rpd": 5000}, names=("acme", "beta"), cache=True)
    with emulator_of(cfg) as emu, service(cfg, emu.base_url) as srv, sync_playwright() as pw:
        url = f"{srv.base_url}/v1/chat/completions"
        stop = threading.Event()

        def traffic() -> None:
            with httpx.Client(timeout=10.0) as client:
                i = 0
                while not stop.is_set() and i < 60:
                    body = {"model": "interview", "max_tokens": 3,
                            "messages": [{"role": "user", "content": f"question {i % 7}"}]}
                    client.post(url, json=body).raise_for_status()
                    i += 1

        flowing = threading.Thread(target=traffic)
        flowing.start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{srv.base_url}/")
            flowing.join()
            stats = httpx.get(f"{srv.base_url}/api/optimization_stats").json()
            # the page refreshes every 2 s: wait until it shows the final count
            page.wait_for_function(
                f"document.getElementById('total-requests').textContent === '{stats['total_requests']}'",
                timeout=15_000,
            )
            shown = {i: page.text_content(f"#{i}") for i in (
                "total-requests", "api-calls", "cache-hits", "template-hits", "deduplicated", "savings",
                "savings-rate", "cache-hits-rate", "refused", "failed", "group",
            )}
            rows = page.locator("#providers tr").count()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            stop.set()
            browser.close()
    assert stats["total_requests"] == 60
    assert stats["cache_hits"]["count"] == 53  # seven different questions, each asked upstream once
    assert shown == {
        "total-requests": "60",
        "api-calls": str(stats["api_calls"]["count"]),
        "cache-hits": str(stats["cache_hits"]["count"]),
        "template-hits": "0",
        "deduplicated": str(stats["deduplicated"]["count"]),
        "savings": str(stats["savings"]["api_calls_saved"]),
        "savings-rate": f"{100 * stats['savings']['rate']:.1f} %",
        "cache-hits-rate": f"{100 * stats['cache_hits']['rate']:.1f} %",
        "refused": "0",
        "failed": "0",
        "group": "interview",
    }
    assert rows == 2
    assert (tmp_path / "dashboard.png").stat().st_size > 0
