"""Issue 11, case 1: allowances of an account, shared by every model of it, in one ledger object."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from capacity.config.loader import load_providers
from capacity.config.providers import Provider
from capacity.policy.ledger import Admission, DestinationQuota, account_pools

SHIPPED = Path(__file__).resolve().parents[2] / "providers.yaml"
START = dt.datetime(2025, 10, 6, tzinfo=dt.UTC)


def cloudflare() -> Provider:
    return next(p for p in load_providers(SHIPPED).providers if p.name == "cloudflare")


def test_two_cloudflare_models_spend_one_allowance_of_10000_neurons() -> None:
    provider = cloudflare()
    pools = account_pools(provider, 1, START)
    fast, full = (DestinationQuota(m, 1, START, pools=pools) for m in provider.models)
    (neurons,) = pools[0]
    assert neurons is fast.accounts[0].windows[-1] is full.accounts[0].windows[-1]
    admitted = 0
    now = 0.0
    while True:  # alternate the models, 1,800 in + 100 out tokens a request, 0.25 s apart
        quota = fast if admitted % 2 == 0 else full
        answer = quota.try_admit(now, 1_800, 100)
        if not isinstance(answer, Admission):
            break
        quota.settle(now, answer, 1_800, 100)
        admitted += 1
        now += 0.25
    # neurons a pair of requests: 1,800 × (4,119 + 25,608)/1M + 100 × (34,868 + 75,147)/1M = 64.51
    assert neurons.used(now) <= 10_000 * (1 + 1e-9)
    assert admitted == 310  # 155 pairs ≈ 10,000 ÷ 64.51; counted per model, each would have 10,000
    alone = DestinationQuota(provider.alone(provider.models[1]), 1, START)
    n = 0
    while isinstance(alone.try_admit(n * 0.25, 1_800, 100), Admission):
        n += 1
    assert n == 186  # ⌊10,000 ÷ 53.61⌋ neurons a request: the full model alone


def test_account_limits_are_allowances_not_per_model_bounds() -> None:
    data = cloudflare().model_dump(mode="json")
    data["account_limits"] = {"neurons_per_day": 10_000, "concurrent_requests": 3}
    with pytest.raises(ValidationError, match="concurrent_requests is a per-model limit"):
        Provider.model_validate(data)
    data["account_limits"] = {"credit_usd": 1.0}
    data["models"][0]["prices"] = None
    with pytest.raises(ValidationError, match="credit_usd needs prices on every model"):
        Provider.model_validate(data)


def _admit_all(quota: DestinationQuota, tokens_in: int, tokens_out: int) -> int:
    """Requests ``quota`` admits one after another, 0.25 s apart, until it refuses one."""
    n = 0
    while isinstance(answer := quota.try_admit(n * 0.25, tokens_in, tokens_out), Admission):
        quota.settle(n * 0.25, answer, tokens_in, tokens_out)
        n += 1
    return n


def test_the_issues_case_1616_requests_counted_per_model_1314_for_the_account() -> None:
    """Issue 11, case 1, with its figures: requests of 1,000 input and 100 output tokens cost
    7.6058 neurons on fp8-fast and 33.1227 on the full model. Counted per model the two make
    10,000/7.6058 + 10,000/33.1227 = 1,314.8 + 301.9 = 1,616.7 requests a day (the plan's
    1,616); the account's one allowance carries at most 1,314, all on the cheaper model."""
    provider = cloudflare()
    per_model = [DestinationQuota(provider.alone(m), 1, START) for m in provider.models]
    assert [_admit_all(q, 1_000, 100) for q in per_model] == [1_314, 301]
    pools = account_pools(provider, 1, START)
    fast, full = (DestinationQuota(m, 1, START, pools=pools) for m in provider.models)
    assert _admit_all(fast, 1_000, 100) == 1_314
    assert _admit_all(full, 1_000, 100) == 0  # the account has nothing left for the other model
