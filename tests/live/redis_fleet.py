"""Routers sharing one Redis ledger, hammering it on a compressed clock, and the limit checks.

Imported by the test modules beside it as ``redis_fleet`` (pytest puts this folder on the path),
and run as a script by the multi-process test: ``python redis_fleet.py '<json>'`` prints the
admissions of its clients as JSON.

Every client is a :class:`RedisQuotaLedger` of its own (its own connection) on one clock:
``(wall now − t0) × scale`` run seconds, the same in every process. A client asks for admission
as fast as it can; admitted, it "sends" (sleeps a moment) and settles with a random number of
output tokens; refused, it waits for the bound it was given (at most 10 ms).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from capacity.config.providers import ModelSpec
from capacity.live.redis_ledger import RedisQuotaLedger, SharedAdmission, connect
from capacity.policy.resets import DailyAt

LATENCY = {
    "ttft_s": {"kind": "constant", "value": 0.1},
    "output_tokens_per_s": {"kind": "constant", "value": 100},
}


@dataclass(frozen=True)
class Fleet:
    """What the routers share: Redis, the quota, the clock and how long they run."""

    url: str
    namespace: str
    rpm: int
    rpd: int
    tpm: int
    accounts: int
    run_start: str  # ISO instant, run time 0
    day_zone: str
    t0: float  # wall epoch s at run time ``begin_s``, when the clients start
    begin_s: float
    scale: float
    until_s: float

    def spec(self) -> ModelSpec:
        """A model with a rolling RPM and TPM and a daily cap resetting at midnight in ``day_zone``."""
        return ModelSpec.model_validate(
            {
                "name": "m",
                "limits": {"rpm": self.rpm, "rpd": self.rpd, "tpm": self.tpm},
                "resets": {"day": {"kind": "fixed", "at": "00:00", "timezone": self.day_zone}},
                "latency": LATENCY,
            }
        )

    def clock(self) -> float:
        """Run seconds now, compressed ``scale`` times."""
        return self.begin_s + (time.time() - self.t0) * self.scale


@dataclass(frozen=True)
class Admitted:
    """One admission: when (run s, Redis's clamp of the clients' clocks), where, tokens charged."""

    at: float
    account: int
    tokens: float


async def run_clients(fleet: Fleet, clients: int, seed: int) -> tuple[list[Admitted], int]:
    """``clients`` concurrent routers until run time ``until_s``: their admissions and refusals."""
    spec = fleet.spec()
    start = dt.datetime.fromisoformat(fleet.run_start)
    admitted: list[Admitted] = []
    refusals = 0

    async def client(k: int) -> None:
        nonlocal refusals
        rng = random.Random(seed * 1_000 + k)
        redis = connect(fleet.url, timeout_s=5.0)
        ledger = RedisQuotaLedger(
            redis, "fleet", spec, fleet.accounts, start, namespace=fleet.namespace, clock=fleet.clock
        )
        try:
            while fleet.clock() < fleet.until_s:
                tokens_in, max_out = rng.randint(20, 300), rng.randint(20, 300)
                answer = await ledger.try_admit(tokens_in, max_out)
                if isinstance(answer, SharedAdmission):
                    await asyncio.sleep(rng.random() * 0.003)
                    tokens_out = rng.randint(0, max_out)
                    await ledger.settle(answer, tokens_in, tokens_out)
                    admitted.append(Admitted(answer.admitted_at, answer.account, tokens_in + tokens_out))
                else:
                    refusals += 1
                    wait = (answer - fleet.clock()) / fleet.scale if math.isfinite(answer) else 0.01
                    await asyncio.sleep(min(max(wait, 0.0), 0.01))
        finally:
            await redis.aclose()

    await asyncio.sleep(max(0.0, fleet.t0 - time.time()))  # processes start together
    await asyncio.gather(*(client(k) for k in range(clients)))
    return admitted, refusals


def over_limits(fleet: Fleet, admitted: list[Admitted]) -> list[str]:
    """Every breach of a limit: more than ``rpm`` requests or ``tpm`` tokens of an account in any
    60 s, or more than ``rpd`` in one of its local days. Empty when the ledger held."""
    start = dt.datetime.fromisoformat(fleet.run_start)
    day = DailyAt(start, dt.time(0, 0), fleet.day_zone)
    breaches: list[str] = []
    for account in range(fleet.accounts):
        mine = sorted((a for a in admitted if a.account == account), key=lambda a: a.at)
        times = [a.at for a in mine]
        for i in range(len(times) - fleet.rpm):
            if times[i + fleet.rpm] - times[i] < 60.0:
                breaches.append(f"account {account}: {fleet.rpm + 1} requests in [{times[i]}, {times[i + fleet.rpm]}]")
        low, window_tokens = 0, 0.0
        for a in mine:
            window_tokens += a.tokens
            while mine[low].at <= a.at - 60.0:
                window_tokens -= mine[low].tokens
                low += 1
            if window_tokens > fleet.tpm * (1 + 1e-9):
                breaches.append(f"account {account}: {window_tokens} tokens in the 60 s to {a.at}")
        per_day: dict[float, int] = {}
        for t in times:
            period = day.bounds(t)[0]
            per_day[period] = per_day.get(period, 0) + 1
        breaches += [
            f"account {account}: {n} requests in the day from {p}" for p, n in per_day.items() if n > fleet.rpd
        ]
    return breaches


def main(argv: list[str]) -> None:
    """Run one process's clients; print their admissions and refusals as JSON."""
    spec: dict[str, Any] = json.loads(argv[1])
    clients, seed = spec.pop("clients"), spec.pop("seed")
    admitted, refusals = asyncio.run(run_clients(Fleet(**spec), clients, seed))
    print(json.dumps({"admitted": [[a.at, a.account, a.tokens] for a in admitted], "refusals": refusals}))


if __name__ == "__main__":
    main(sys.argv)
