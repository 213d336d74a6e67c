"""The quota-wait queue is woken by a response only when it may make room (a slot freed, tokens
refunded where no request-count window refuses until later): a wake that could admit nothing
changes no number — the run equals one that wakes the queue after every response — and is saved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from capacity.config.loader import load_configuration
from capacity.config.paths import default_providers_path, scenario_path
from capacity.policy.router import Router
from capacity.result import RunResult
from capacity.sim.model import simulate

SMALL_B = ["demand.interviews=2000", "candidates.count=200"]


def _numbers(result: RunResult) -> dict[str, Any]:
    """Every number of a run but the wall time and the router's count of re-checks (which the saving lowers)."""

    def strip(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if "wall" not in k and k != "router_refusals"}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o

    return strip(json.loads(result.model_dump_json()))  # type: ignore[no-any-return]


def test_waking_the_queue_only_when_a_response_frees_something_changes_no_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_configuration(scenario_path("B"), default_providers_path(), SMALL_B)
    saving = simulate(config, days=1)
    settle = Router.settle

    def always_freed(self: Router, *args: Any) -> bool:
        settle(self, *args)
        return True  # the old rule: every response wakes the queue

    monkeypatch.setattr(Router, "settle", always_freed)
    waking = simulate(config, days=1)
    assert _numbers(saving) == _numbers(waking)
    assert saving.interviews.failed > 0  # quota binds: turns waited
    # the saving is real: fewer re-checks of full destinations
    refusals = [sum(d.router_refusals for d in r.destinations) for r in (saving, waking)]
    assert refusals[0] < refusals[1]
