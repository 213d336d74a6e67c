"""How fast the GPU server model simulates, against its step-by-step reference and Vidur.

Two workloads, Poisson arrivals, each run through both implementations of the same
continuous-batching scheduler:

* vidur — Llama 3 8B on one A100 80GB, 1,500-token prompts and 150-token outputs (the
  shape of Vidur's own benchmark);
* interview — Llama 3.1 8B on one RTX 4090, prompts of 500–3,500 tokens (mean 2,000) and
  outputs of 20–180 tokens (mean 100), as the interview script's calls are.

Printed per workload: wall time and simulated requests per wall-second of AnalyticServer
and SteppedServer, their ratio, AnalyticServer against Vidur's 165–265 requests/s (the
reference simulator on this class of machine), and how closely the two agree on
throughput and p95 latency on the same requests.

    python bench/gpu_server.py [--requests 200000] [--reference-requests 4000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capacity.config.gpus import load_catalog
from capacity.gpu import AnalyticServer, BatchingServer, Deployment, SteppedServer, deployment
from capacity.gpu.workload import Request, RunSummary, poisson_requests, run_open_loop, summarize

VIDUR_REQUESTS_PER_S = (165.0, 265.0)
TARGET_SPEEDUP_OVER_VIDUR = 100.0


@dataclass(frozen=True)
class Timed:
    """A run: what it delivered and how long it took on this machine."""

    summary: RunSummary
    wall_s: float

    @property
    def requests_per_wall_s(self) -> float:
        """Simulated requests per second of wall time."""
        return self.summary.completed / self.wall_s


def timed(server: BatchingServer, requests: Sequence[Request]) -> Timed:
    """Run ``requests`` through ``server`` and time it."""
    start = time.perf_counter()
    done = run_open_loop(server, requests)
    wall = time.perf_counter() - start
    return Timed(summarize(done, [r.output_tokens for r in requests]), wall)


Size = int | tuple[int, int]


def bench(
    name: str, dep: Deployment, *, rate: float, prompt: Size, output: Size, count: int, ref_count: int
) -> None:
    """One workload: the fast server on ``count`` requests, both servers on the first ``ref_count``."""
    rng = np.random.default_rng(20251007)
    requests = poisson_requests(rng, rate, count, prompt, output)
    fast = timed(AnalyticServer(dep), requests)
    fast_small = timed(AnalyticServer(dep), requests[:ref_count])
    slow_small = timed(SteppedServer(dep), requests[:ref_count])
    ratio = fast.requests_per_wall_s / slow_small.requests_per_wall_s
    vs_vidur = [fast.requests_per_wall_s / v for v in VIDUR_REQUESTS_PER_S]
    throughput_gap = fast_small.summary.requests_per_s / slow_small.summary.requests_per_s - 1.0
    p95_gap = fast_small.summary.p95_latency_s / slow_small.summary.p95_latency_s - 1.0
    print(f"\n== {name}: {dep.label}, Poisson {rate} req/s")
    served = fast.summary
    print(
        f"   served: {served.requests_per_s:.2f} req/s, {served.output_tokens_per_s:,.0f} output tok/s, "
        f"p50 / p95 latency {served.p50_latency_s:.2f} / {served.p95_latency_s:.2f} s"
    )
    print(
        f"   AnalyticServer: {count:,} requests in {fast.wall_s:.2f} s wall = "
        f"{fast.requests_per_wall_s:,.0f} req/s"
    )
    print(
        f"   SteppedServer:  {ref_count:,} requests in {slow_small.wall_s:.2f} s wall = "
        f"{slow_small.requests_per_wall_s:,.0f} req/s"
    )
    print(f"   ratio analytic / stepped: {ratio:,.0f}×")
    print(
        f"   analytic / Vidur ({VIDUR_REQUESTS_PER_S[0]:.0f}–{VIDUR_REQUESTS_PER_S[1]:.0f} req/s): "
        f"{vs_vidur[1]:,.0f}–{vs_vidur[0]:,.0f}× (target ≥ {TARGET_SPEEDUP_OVER_VIDUR:.0f}×, "
        f"i.e. ≥ {TARGET_SPEEDUP_OVER_VIDUR * VIDUR_REQUESTS_PER_S[1]:,.0f} req/s)"
    )
    print(
        f"   agreement on the same {ref_count:,} requests: throughput {100 * throughput_gap:+.6f}%, "
        f"p95 latency {100 * p95_gap:+.6f}%"
    )


def main() -> None:
    """Run both workloads and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200_000, help="requests for the fast server")
    parser.add_argument(
        "--reference-requests", type=int, default=4_000, help="requests for the stepped reference"
    )
    args = parser.parse_args()
    catalog = load_catalog()
    bench(
        "vidur",
        deployment(catalog, "a100-80gb", "llama-3.1-8b"),
        rate=6.0,  # ≈ 90 % of the saturation the model finds (6.6 requests/s; Vidur ≈ 6.5)
        prompt=1500,
        output=150,
        count=args.requests,
        ref_count=args.reference_requests,
    )
    bench(
        "interview",
        deployment(catalog, "rtx4090", "llama-3.1-8b"),
        rate=2.0,  # ≈ 90 % of what one card sustains on this mix
        prompt=(500, 3500),
        output=(20, 180),
        count=args.requests,
        ref_count=args.reference_requests,
    )


if __name__ == "__main__":
    main()
