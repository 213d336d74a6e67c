"""Round trips: any valid providers file, written to YAML and loaded again, is the same model;
any valid ``--set`` value lands where it was aimed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.config import ProvidersFile, load_configuration, load_providers

COUNTS = st.integers(min_value=0, max_value=10**10)
AMOUNTS = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
NAMES = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
DISTRIBUTIONS = st.one_of(
    st.fixed_dictionaries({"kind": st.just("constant"), "value": AMOUNTS}),
    st.fixed_dictionaries({"kind": st.just("exponential"), "mean": st.floats(0.01, 100)}),
    st.fixed_dictionaries(
        {"kind": st.just("lognormal"), "median": st.floats(0.01, 100), "sigma": st.floats(0, 2)}
    ),
)
LIMITS = st.fixed_dictionaries(
    {},
    optional={
        "rpm": COUNTS,
        "rph": COUNTS,
        "rpd": COUNTS,
        "requests_per_month": COUNTS,
        "tpm": COUNTS,
        "tokens_per_hour": COUNTS,
        "tpd": COUNTS,
        "tokens_per_month": COUNTS,
        "concurrent_requests": st.integers(1, 1000),
        "max_input_tokens_per_request": st.integers(1, 10**6),
        "charge_max_output_up_front": st.booleans(),
    },
)
RESETS = st.fixed_dictionaries(
    {},
    optional={
        "day": st.one_of(
            st.just({"kind": "rolling"}),
            st.just({"kind": "token_bucket"}),
            st.builds(
                lambda h, tz: {"kind": "fixed", "at": f"{h:02d}:00", "timezone": tz},
                st.integers(0, 23),
                st.sampled_from(["UTC", "America/Los_Angeles", "Europe/Paris"]),
            ),
        ),
        "month": st.just({"kind": "calendar_month", "timezone": "UTC"}),
    },
)


@st.composite
def model_entries(draw: st.DrawFn, name: str) -> dict[str, Any]:
    limits = draw(LIMITS)
    entry: dict[str, Any] = {
        "name": name,
        "limits": limits,
        "resets": draw(RESETS),
        "latency": {"ttft_s": draw(DISTRIBUTIONS), "output_tokens_per_s": draw(DISTRIBUTIONS)},
        "error_rate": draw(st.floats(0, 1)),
    }
    if draw(st.booleans()):
        entry["prices"] = {"usd_per_mtok_in": draw(AMOUNTS), "usd_per_mtok_out": draw(AMOUNTS)}
        if draw(st.booleans()):
            limits["credit_usd"] = draw(AMOUNTS)
            limits["credit_renews"] = draw(st.sampled_from(["monthly", "never"]))
    if draw(st.booleans()):
        entry["neurons"] = {"per_mtok_in": draw(AMOUNTS), "per_mtok_out": draw(AMOUNTS)}
        limits["neurons_per_day"] = draw(AMOUNTS)
    if draw(st.booleans()):
        entry["withdrawn_on"] = draw(st.dates(dt.date(2024, 1, 1), dt.date(2030, 1, 1)))
    return entry


@st.composite
def provider_files(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    providers = []
    for name in names:
        model_names = draw(st.lists(TEXT, min_size=1, max_size=3, unique=True))
        providers.append(
            {
                "name": name,
                "label": draw(TEXT),
                "base_url": "https://example.invalid/v1",
                "billing": draw(st.sampled_from(["free", "paid"])),
                "accounts": draw(st.integers(1, 10)),
                "scope": draw(st.sampled_from(["key", "account", "project", "organization"])),
                "source": draw(TEXT),
                "as_of": draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1))),
                "models": [draw(model_entries(m)) for m in model_names],
            }
        )
    return {"providers": providers}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roundtrip")


@settings(max_examples=60, deadline=None)
@given(data=provider_files())
def test_valid_providers_file_round_trips_through_yaml(data: dict[str, Any], scratch: Path) -> None:
    expected = ProvidersFile.model_validate(data)
    path = scratch / "providers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    loaded = load_providers(path)
    assert loaded == expected
    # and the loaded model, dumped and loaded again, is unchanged
    path.write_text(yaml.safe_dump(loaded.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    assert load_providers(path) == loaded


@settings(max_examples=25, deadline=None)
@given(
    deadline=st.floats(0.1, 600, allow_nan=False),
    interviews_each=st.sampled_from([1, 2, 5, 10]),
    ttl=st.integers(1, 10**7),
)
def test_set_overrides_land_where_aimed(deadline: float, interviews_each: int, ttl: int) -> None:
    root = Path(__file__).resolve().parents[2]
    count = 50_000 // interviews_each
    config = load_configuration(
        root / "scenarios" / "A.yaml",
        root / "providers.yaml",
        [
            f"routing.turn_deadline_s={deadline!r}",
            f"candidates.interviews_each={interviews_each}",
            f"candidates.count={count}",
            f"cache.ttl_s={ttl}",
        ],
    )
    scenario = config.scenario
    assert scenario.routing.turn_deadline_s == deadline
    assert (scenario.candidates.interviews_each, scenario.candidates.count) == (interviews_each, count)
    assert scenario.cache.ttl_s == ttl
    assert scenario.demand.interviews == 50_000  # untouched fields keep the file's values
