"""Benchmark of the fluid fast mode against the exact engine (run on demand, not a test): for
each scenario, the carried interviews, each provider's requests and the mean interview duration
of both engines over the scenario's full horizon, their relative errors against the issue's 2% target, and the speed-up.

    python bench/fluid_vs_exact.py                 # A, B, A-paid, B-paid, B-hybrid (many minutes)
    python bench/fluid_vs_exact.py -s A -s B --days 1
    python bench/fluid_vs_exact.py -s A -s B --days 1 --parts 6 --seed 1 --seed 2   # 10 s parts (default 3), two seeds

Prints the figures; asserts nothing: the target is a measurement to report, not to loosen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity.config import default_providers_path, load_configuration, scenario_path  # noqa: E402
from capacity.result import RunResult  # noqa: E402
from capacity.sim.fluid import DEFAULT_PARTS, simulate_fluid  # noqa: E402
from capacity.sim.model import simulate  # noqa: E402

TARGET = 0.02
"""Relative error allowed on carried interviews and per-provider requests (issue 13, item 4)."""


def _error(fluid: float, exact: float) -> float:
    return (fluid - exact) / exact if exact else (0.0 if fluid == 0 else float("inf"))


def compare(scenario: str, days: int | None, parts: int = DEFAULT_PARTS, seed: int | None = None) -> None:
    """Run both engines on ``scenario`` (the fluid one meeting each minute in ``parts`` passes) and print
    their agreement and speed."""
    config = load_configuration(scenario_path(scenario), default_providers_path())
    began = time.perf_counter()
    exact: RunResult = simulate(config, days=days, seed=seed)
    exact_s = time.perf_counter() - began
    began = time.perf_counter()
    fluid = simulate_fluid(config, days=days, seed=seed, parts=parts)
    fluid_s = time.perf_counter() - began
    carried = _error(fluid.carried, exact.carried)
    print(f"\n{scenario} ({exact.days} day(s), seed {exact.seed}, {parts} part(s) a minute): "
          f"exact {exact_s:.1f} s, fluid {fluid_s:.1f} s, "
          f"speed-up {exact_s / fluid_s:.1f}×")
    flag = "ok" if abs(carried) <= TARGET else "OVER 2%"
    print(f"  carried interviews   exact {exact.carried:>10,}  fluid {fluid.carried:>10,}  {carried:+7.2%}  {flag}")
    worst = 0.0
    for e, f in zip(exact.destinations, fluid.destinations, strict=True):
        if not (e.requests or f.requests):
            continue
        err = _error(f.requests, e.requests)
        worst = max(worst, abs(err))
        flag = "ok" if abs(err) <= TARGET else "OVER 2%"
        print(f"  {e.name[:40]:40s} exact {e.requests:>10,}  fluid {f.requests:>10,}  {err:+7.2%}  {flag}")
    total = _error(fluid.requests.api_calls, exact.requests.api_calls)
    print(f"  all API calls        exact {exact.requests.api_calls:>10,}  fluid {fluid.requests.api_calls:>10,}  "
          f"{total:+7.2%}; worst provider {worst:.2%}")
    e_dur, f_dur = exact.interview_duration_s, fluid.interview_duration_s
    if e_dur.count and f_dur.count:
        print(f"  interview duration   exact {e_dur.mean:>8,.0f} s (p95 {e_dur.p95:,.0f})  "
              f"fluid {f_dur.mean:>8,.0f} s (p95 {f_dur.p95:,.0f})  {_error(f_dur.mean, e_dur.mean):+7.2%}")


def main() -> None:
    """Parse the options and compare each scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-s", "--scenario", action="append", help="Scenario (repeatable).")
    parser.add_argument("--days", type=int, default=None, help="Days of demand (default: the scenario's).")
    parser.add_argument("--parts", type=int, default=DEFAULT_PARTS,
                        help=f"Passes over each minute while a window refuses (default {DEFAULT_PARTS}).")
    parser.add_argument("--seed", type=int, action="append", help="Seed (repeatable; default: the scenario's).")
    args = parser.parse_args()
    for scenario in args.scenario or ["A", "B", "A-paid", "B-paid", "B-hybrid"]:
        for seed in args.seed or [None]:
            compare(scenario, args.days, args.parts, seed)


if __name__ == "__main__":
    main()
