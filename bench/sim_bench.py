"""Benchmark of the simulator (run on demand, not a test): wall time, CPU time, simulated
requests per wall-second and peak memory, for scenario A (30 days, ≈0.7 M logical requests),
B-paid (every request sent, no quota: 1.3 M requests a day) and B (one day of demand, run until
every interview has ended), and the lean model — compiled by mypyc where the install could
(``capacity --version`` says), and its pure-Python source — against a naive SimPy model
(bench/naive_sim.py) on the same slice of demand, side by side in one run.

    python bench/sim_bench.py              # everything (many minutes)
    python bench/sim_bench.py --quick      # shorter horizons
    python bench/sim_bench.py --repeat 5   # the lean ÷ naive slice five times, interleaved

The lean ÷ naive ratio is a ratio of two short runs, and on a shared machine either may be
slowed by a neighbour: the slice runs ``--repeat`` times (3 by default), lean and naive
alternating, and the ratio is that of the two medians, with the lowest and highest ratio of a
lean run to the naive run beside it.

Each measurement runs in its own process so that peak RSS is its own; each line shows the
1-minute load average when it ended. Prints ratios; asserts nothing: machines here are shared
and noisy (on a busy machine compare CPU seconds, not wall seconds).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(kind: str, scenario: str, days: int) -> None:
    """Run one measurement and print it as JSON (inside the child process)."""
    sys.path.insert(0, str(ROOT))
    from capacity.config import default_providers_path, load_configuration, scenario_path

    config = load_configuration(scenario_path(scenario), default_providers_path())
    if kind == "lean":
        import time

        from capacity.sim.model import simulate

        began, cpu = time.perf_counter(), time.process_time()
        result = simulate(config, days=days)
        wall = time.perf_counter() - began
        out = {
            "logical": result.requests.logical,
            "api_calls": result.requests.api_calls,
            "wall_s": wall,
            "cpu_s": time.process_time() - cpu,
            "requests_per_s": result.requests.logical / wall,
            "interviews": result.interviews.model_dump(),
        }
    else:
        sys.path.insert(0, str(ROOT / "bench"))
        from naive_sim import run_naive

        out = run_naive(config, days)
    from capacity import ENGINE

    out["engine"] = "compiled" if ENGINE.compiled else "pure Python"
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["load"] = os.getloadavg()[0]
    print(json.dumps(out))


def measure(kind: str, scenario: str, days: int, pure: bool = False) -> dict[str, object]:
    """Run a child process (``pure``: on the pure-Python engine) and parse its figures."""
    env = {k: v for k, v in os.environ.items() if k != "CAPACITY_PURE_PYTHON"}
    if pure:
        env["CAPACITY_PURE_PYTHON"] = "1"
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, scenario, str(days)],
        capture_output=True,
        check=False,
        text=True,
        env=env,
    )
    if done.returncode:  # the child's own last words (its error), not the parent's traceback
        said = done.stderr.strip().splitlines()
        sys.exit(f"sim_bench.py: the {kind} run of {scenario} ({days} day(s)) failed: {said[-1] if said else '?'}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="Shorter horizons.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of the lean ÷ naive slice (default 3).")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    if importlib.util.find_spec("simpy") is None:
        sys.exit("sim_bench.py: the naive model needs SimPy: pip install -e '.[bench]'")
    a_days = 5 if args.quick else 30
    slice_days = 1 if args.quick else 3
    rows = []
    runs: list[tuple[str, str, str, int, bool]] = [
        (f"A lean, {a_days} days", "lean", "A", a_days, False),
        ("A lean, 10 days (memory flatness)", "lean", "A", 10, False),
        ("B-paid lean, 1 day", "lean", "B-paid", 1, False),
        ("B lean, 1 day of demand", "lean", "B", 1, False),
    ]
    for k in range(max(1, args.repeat)):
        runs += [
            (f"A lean, {slice_days} days (vs naive) #{k + 1}", "lean", "A", slice_days, False),
            (f"A naive, {slice_days} days #{k + 1}", "naive", "A", slice_days, False),
        ]
    runs.append((f"A lean, {slice_days} days, pure Python", "lean", "A", slice_days, True))
    for label, kind, scenario, days, pure in runs:
        m = measure(kind, scenario, days, pure)
        rows.append((label, m))
        print(
            f"{label:38s} wall {m['wall_s']:7.1f} s  CPU {m['cpu_s']:7.1f} s  "
            f"logical requests {m['logical']:>9,}  {m['requests_per_s']:>9,.0f} req/s  "
            f"peak RSS {m['peak_rss_mib']:6.0f} MiB  load {m['load']:5.1f}  {m['engine']}",
            flush=True,
        )
    pairs = rows[4:-1]
    leans = [float(m["requests_per_s"]) for _, m in pairs[0::2]]  # type: ignore[arg-type]
    naives = [float(m["requests_per_s"]) for _, m in pairs[1::2]]  # type: ignore[arg-type]
    lean, pure_lean = pairs[0][1], rows[-1][1]
    ratio = statistics.median(leans) / statistics.median(naives)
    each = [a / b for a, b in zip(leans, naives, strict=True)]
    print(
        f"\nlean ({lean['engine']}) ÷ naive requests/s on the same slice: {ratio:.1f}× "
        f"(medians of {len(leans)} runs each; pairs {min(each):.1f}–{max(each):.1f}×; target ≥ 4×)"
    )
    walls = [float(m["wall_s"]) for _, m in pairs]  # type: ignore[arg-type]
    print(
        f"the same demand ({slice_days} day(s) of A), naive wall ÷ lean wall: "
        f"{statistics.median(walls[1::2]) / statistics.median(walls[0::2]):.1f}× "
        "(the naive model counts its logical requests its own way, so the two ratios differ)"
    )
    speedup = float(pure_lean["cpu_s"]) / float(lean["cpu_s"])  # type: ignore[arg-type]
    print(f"lean: pure-Python CPU s ÷ {lean['engine']} CPU s on the same slice: {speedup:.1f}× "
          "(start-up weighs more on a short slice: --quick's one day reads lower than three)")
    print(f"scenario A {a_days} days: {rows[0][1]['wall_s']:.1f} s (target ≤ 12 s for 30 days)")
    b_paid = rows[2][1]
    month = float(b_paid["wall_s"]) * 30 / 60  # type: ignore[arg-type]
    print(f"B-paid: 30 days extrapolated from 1: {month:.1f} min (target ≤ 8 min)")
    print(
        f"peak RSS, A 10 days → {a_days} days: {rows[1][1]['peak_rss_mib']:.0f} → "
        f"{rows[0][1]['peak_rss_mib']:.0f} MiB (target flat, < 1 GiB)"
    )


if __name__ == "__main__":
    main()
