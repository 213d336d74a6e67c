"""`capacity providers` shows each model's batch API from the shipped providers.yaml."""

from __future__ import annotations

import datetime as dt

from capacity.config import default_providers_path, load_providers
from capacity.report.providers_table import batch_text, providers_json


def test_the_shipped_batch_apis_are_listed_with_their_limits() -> None:
    catalogue = {p.name: p for p in load_providers(default_providers_path()).providers}
    openai = catalogue["openai"]
    mini = openai.model("gpt-4o-mini")
    old = openai.model("gpt-3.5-turbo-0125")
    assert mini is not None and old is not None
    assert batch_text(openai.batch_of(mini)) == (
        "batch API: 0.5× list price, results within 24 h, 50,000 requests a batch, 2,000,000 input tokens "
        "enqueued, own rate-limit pool (as of 2026-11-01; source in --json)"
    )
    assert openai.batch_of(old) is openai.batch  # the provider's block, with no queue limit stated
    groq = catalogue["groq"]
    assert batch_text(groq.batch_of(groq.models[0])).startswith("batch API: not on this plan")
    assert batch_text(catalogue["deepseek"].batch_of(catalogue["deepseek"].models[0])) == "batch API: none found"
    data = providers_json(list(catalogue.values()), dt.date(2026, 11, 30), 180)
    rows = {(p["name"], m["name"]): m for p in data["providers"] for m in p["models"]}
    assert rows["openai", "gpt-4o-mini"]["batch"]["max_enqueued_tokens"] == 2_000_000
    assert "batch-and-tiers.md" in rows["groq-paid", "llama-3.1-8b-instant"]["batch"]["source"]


def test_the_turns_line_adds_up_with_turns_answered_ahead() -> None:
    """The new-user trial: the turns line left out deferred and banked turns, so it did not add up."""
    from capacity.report.run_tables import turn_counts
    from capacity.result import RequestCounts

    rq = RequestCounts(
        logical=58_396, template=2_246, cache=0, deduplicated=0, provider=26_952, degraded=0, failed=0,
        api_calls=26_952, deferred=2_246, bank=26_952,
    )
    line = turn_counts(rq)
    assert line == (
        "58,396: 2,246 template, 0 cache, 0 de-duplicated, 26,952 provider, 0 degraded, 0 failed, "
        "2,246 deferred, 26,952 bank"
    )
    parts = [int(p.split()[0].replace(",", "")) for p in line.split(": ", 1)[1].split(", ")]
    assert sum(parts) == rq.logical
    plain = rq.model_copy(update={"logical": 29_198, "deferred": 0, "bank": 0})
    assert turn_counts(plain).endswith("0 failed")  # no lever, no mention: other pages unchanged
