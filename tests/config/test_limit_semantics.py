"""Issue 11, case 4: every limit states how it refills and the evidence; unknown means rolling."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.cli import app
from capacity.config.loader import load_providers
from capacity.config.providers import UnknownReset
from capacity.errors import ConfigError
from capacity.policy.ledger import Admission, DestinationQuota
from capacity.policy.windows import RollingWindow, TokenBucket
from capacity.report.providers_table import used_periods
from capacity.units import Period

SHIPPED = Path(__file__).resolve().parents[2] / "providers.yaml"
START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)


def test_every_shipped_limit_states_its_semantics_and_evidence() -> None:
    for provider in load_providers(SHIPPED).providers:
        for model in provider.models:
            for period in used_periods(model):
                where = f"{provider.name}/{model.name} per {period.value}"
                assert period.value in model.resets.model_fields_set, f"{where}: no refill rule stated"
                rule = model.resets.rule(period)
                assert rule.evidence and rule.as_of is not None, f"{where}: no evidence"
        if provider.account_limits is not None:
            for period in used_periods(provider.account_limits):
                where = f"{provider.name} account-wide per {period.value}"
                assert period.value in provider.account_resets.model_fields_set, f"{where}: no refill rule stated"
                rule = provider.account_resets.rule(period)
                assert rule.evidence and rule.as_of is not None, f"{where}: no evidence"


def test_the_shipped_semantics_follow_the_facts() -> None:
    catalogue = {p.name: p for p in load_providers(SHIPPED).providers}
    groq = catalogue["groq"].model("llama-3.3-70b-versatile")
    mistral = catalogue["mistral"].model("mistral-small-latest")
    gemini = catalogue["gemini"].model("gemini-2.5-flash-lite")
    assert groq is not None and mistral is not None and gemini is not None
    assert groq.resets.day.kind == "token_bucket"  # inferred from its reset headers
    assert gemini.resets.day.kind == "fixed"  # stated: midnight US Pacific
    assert {mistral.resets.rule(p).kind for p in (Period.SECOND, Period.MINUTE, Period.MONTH)} == {"unknown"}


def test_groqs_daily_tokens_refill_continuously() -> None:
    # 97,050 of 100,000 daily tokens used: a 3,619-token request lacks 669 tokens, which a bucket
    # refilling 100,000 a day (1.157 tokens/s) gives back in 669 ÷ 1.157 = 578 s; a rolling day
    # would make it wait for the first charge to leave, a day later
    groq = next(p for p in load_providers(SHIPPED).providers if p.name == "groq").model("llama-3.3-70b-versatile")
    assert groq is not None
    quota = DestinationQuota(groq, 1, START)
    tpd = next(w for w in quota.accounts[0].windows if w.name == "tpd")
    assert isinstance(tpd, TokenBucket)
    tpd.take(0.0, 97_050)
    wait = quota.try_admit(0.0, 3_000, 619)
    assert wait == pytest.approx(578.0, abs=0.5)
    assert isinstance(quota.try_admit(wait, 3_000, 619), Admission)

    rolling = groq.model_copy(update={"resets": groq.resets.model_copy(update={"day": UnknownReset(kind="unknown")})})
    old = DestinationQuota(rolling, 1, START)
    old_tpd = next(w for w in old.accounts[0].windows if w.name == "tpd")
    assert isinstance(old_tpd, RollingWindow)
    old_tpd.take(0.0, 97_050)
    assert old.try_admit(0.0, 3_000, 619) == 86_400.0


def served_in(quota: DestinationQuota, hours: float, tokens_in: int, tokens_out: int) -> int:
    """Requests served when each is sent the moment it fits, over ``hours`` from the run's start."""
    t, n = 0.0, 0
    while t <= hours * 3600:
        answer = quota.try_admit(t, tokens_in, tokens_out)
        if isinstance(answer, Admission):
            quota.settle(t, answer, tokens_in, tokens_out)
            n += 1
        else:
            t = answer
    return n


def test_groqs_bucket_serves_39_requests_in_a_ten_hour_day_where_a_rolling_day_serves_27() -> None:
    # Saturating demand of 3,619-token requests over a 10-hour interviewing day: the bucket's
    # 100,000 tokens carry 27.6 requests at once and refill 1.157 tokens/s, 11.5 requests more in
    # 10 h: 39, the figure. A rolling day serves ⌊100,000 ÷ 3,619⌋ = 27 (the issue says 28
    # for its mix of request sizes; at a constant size the rolling day gives 27).
    groq = next(p for p in load_providers(SHIPPED).providers if p.name == "groq").model("llama-3.3-70b-versatile")
    assert groq is not None
    assert served_in(DestinationQuota(groq, 1, START), 10, 3_000, 619) == 39
    rolling = groq.model_copy(update={"resets": groq.resets.model_copy(update={"day": UnknownReset(kind="unknown")})})
    assert served_in(DestinationQuota(rolling, 1, START), 10, 3_000, 619) == 27


def test_an_unknown_semantics_or_limit_kind_is_a_located_error(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    old = "limits: {rpm: 10, rpd: 50, concurrent_requests: 2"
    assert text.count(old) == 1
    bad = tmp_path / "providers.yaml"
    bad.write_text(text.replace(old, old.replace("rpd: 50", "rpm_burst: 3, rpd: 50")), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_providers(bad)
    (problem,) = caught.value.problems
    assert problem.line is not None and "rpm_burst" in str(problem.field) and "unknown key" in problem.message

    sliding = text.replace("day: {kind: token_bucket, evidence:", "day: {kind: sliding, evidence:", 1)
    assert sliding != text
    bad.write_text(sliding, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_providers(bad)
    line = next(i for i, text_line in enumerate(sliding.splitlines(), 1) if "kind: sliding" in text_line)
    # Groq's two models share the rule (a YAML anchor): one problem each, both at the anchor's line
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (line, "providers[1].models[0].resets.day"),
        (line, "providers[1].models[1].resets.day"),
    ]
    problem = caught.value.problems[0]
    assert "'sliding'" in problem.message and "'token_bucket', 'unknown'" in problem.message

    result = CliRunner().invoke(app, ["providers", "--providers", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and f"{bad}:{problem.line}" in result.output


def test_capacity_providers_shows_semantics_and_evidence() -> None:
    result = CliRunner().invoke(app, ["providers", "--json", "--today", "2026-11-30"])
    assert result.exit_code == 0
    models = {m["name"]: m for p in json.loads(result.stdout)["providers"] for m in p["models"]}
    day = models["llama-3.3-70b-versatile"]["semantics"]["day"]
    assert day["kind"] == "token_bucket" and "x-ratelimit-reset-requests" in day["evidence"]
    assert models["gemini-2.5-flash-lite"]["limit_changes"][0]["limits"] == {"rpd": 20.0}
    table = CliRunner().invoke(app, ["providers", "--today", "2026-11-30"])
    assert "per day: token bucket — inferred from" in table.stdout
    assert "per minute: unknown (counted as rolling" in table.stdout
