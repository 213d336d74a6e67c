"""The quota-wait queue is woken by a response only when it may make room (a slot freed, tokens
refunded where no request-count window refuses until later): a wake that could admit nothing
changes no number — the run equals one that wakes the queue after every response — and is saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from capacity._engine import PURE_ENV
from capacity.config.loader import load_configuration
from capacity.config.paths import default_providers_path, scenario_path
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


# The old rule, every response wakes the queue, in a pure-Python process of its own: the compiled
# engine's classes take no monkeypatching
_WAKING = """
import sys
from capacity.config.loader import load_configuration
from capacity.config.paths import default_providers_path, scenario_path
from capacity.policy.router import Router
from capacity.sim.model import simulate

settle = Router.settle

def always_freed(self, *args):
    settle(self, *args)
    return True

Router.settle = always_freed
config = load_configuration(scenario_path("B"), default_providers_path(), sys.argv[1:])
print(simulate(config, days=1).model_dump_json())
"""


def test_waking_the_queue_only_when_a_response_frees_something_changes_no_number() -> None:
    config = load_configuration(scenario_path("B"), default_providers_path(), SMALL_B)
    saving = simulate(config, days=1)
    env = {**os.environ, PURE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", _WAKING, *SMALL_B], capture_output=True, text=True, env=env, check=True
    )
    waking = RunResult.model_validate_json(done.stdout)
    assert _numbers(saving) == _numbers(waking)
    assert saving.interviews.failed > 0  # quota binds: turns waited
    # the saving is real: fewer re-checks of full destinations
    refusals = [sum(d.router_refusals for d in r.destinations) for r in (saving, waking)]
    assert refusals[0] < refusals[1]
