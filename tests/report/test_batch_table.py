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
