"""Admission of one minute's requests in the fluid fast mode (:mod:`capacity.sim.fluid`): each
destination's per-turn charges, and how many of a line of requests one account's quota windows
admit in a one-minute step.

Windows longer than the step (per hour, day, month, credit) admit, in the order the requests
were needed, every request they still have room for, as the exact router tries each request on
its own. A request window of a minute or less and a concurrency slot refill within the step:
they admit the share of the minute's arrivals given by Erlang's loss formula (the exact router
loses to the next destination what arrives while they are full), and the quota-wait queue then
takes what they free in the rest of the minute.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from capacity.config.loader import Configuration
from capacity.metrics.recorder import Recorder
from capacity.policy.ledger import AccountQuota, DestinationQuota
from capacity.policy.resets import EveryAligned
from capacity.policy.router import Destination
from capacity.policy.windows import FixedWindow, QuotaWindow, RollingWindow, TokenBucket
from capacity.units import MINUTE_S, Measure
from capacity.workload.distributions import sampler

EPS = 1e-9
"""The quota windows' own tolerance on a limit (relative)."""
MEASURES = (
    Measure.REQUESTS, Measure.TOKENS, Measure.NEURONS, Measure.USD, Measure.INPUT_TOKENS, Measure.OUTPUT_TOKENS
)
"""The rows of a charge matrix: one per measure a window may count."""
SUPPORTED_STRATEGIES = ("fill_first", "weighted", "cost_aware")
"""Routing strategies the fluid engine models (the others depend on per-request latency or use)."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def unsupported(config: Configuration) -> str | None:
    """Why the fluid engine cannot run ``config`` (a setting it does not model), or ``None``."""
    sc = config.scenario
    routing = sc.routing
    if sc.gpu_pools or any(d.pool is not None for d in routing.all_destinations):
        return "GPU pools (routing.destinations[].pool) are not modelled in fluid mode; use --fidelity exact"
    if routing.strategy not in SUPPORTED_STRATEGIES:
        return f"routing.strategy {routing.strategy} is not modelled in fluid mode; use --fidelity exact"
    if routing.replicas > 1 and routing.ledger != "shared":
        return "router replicas on local ledgers are not modelled in fluid mode; use --fidelity exact"
    if routing.admission == "gated":
        return "routing.admission gated is not modelled in fluid mode; use --fidelity exact"
    if any(stage.cache.key == "catalogue" for stage in sc.script.stages.values()):
        return "catalogue caches (script.stages.*.cache.key catalogue) are not modelled in fluid mode"
    if routing.groups:
        return "model groups (routing.groups) are not modelled in fluid mode; use --fidelity exact"
    if any(stage.deferral is not None or stage.bank is not None for stage in sc.script.stages.values()):
        return (
            "deferred stages and question banks (script.stages.*.deferral, bank) are not modelled in fluid mode; "
            "use --fidelity exact"
        )
    if routing.session_affinity:
        return "session affinity (prompt caching) is not modelled in fluid mode; use --fidelity exact"
    return None


class DestinationCosts:
    """One destination's per-turn charges in each window measure, price and service time."""

    def __init__(self, dest: Destination, config: Configuration, tokens_in: FloatArray, tokens_out: FloatArray,
                 max_out: IntArray) -> None:
        quota = dest.quota
        assert quota is not None
        self.dest = dest
        self.quota: DestinationQuota = quota
        turns = len(tokens_in)
        self.amount = np.zeros((len(MEASURES), turns))  # reserved at admission, per turn
        self.used = np.zeros((len(MEASURES), turns))  # charged after the response, per turn
        self.price_usd = np.zeros(turns)
        self.eligible = np.ones(turns, dtype=bool)
        for k in range(turns):
            cap = quota.output_cap(int(max_out[k]))
            reserved = quota.tariff.charge(float(tokens_in[k]), float(cap))
            actual = quota.tariff.charge(float(tokens_in[k]), min(float(tokens_out[k]), float(cap)))
            for i, measure in enumerate(MEASURES):
                self.amount[i, k] = reserved.amount(measure)
                self.used[i, k] = actual.amount(measure)
            self.price_usd[k] = dest.price_usd(float(tokens_in[k]), min(float(tokens_out[k]), float(cap)))
            self.eligible[k] = tokens_in[k] <= quota.max_input_cap
        if spec_charges_up_front(quota):  # nothing reserved comes back (Cerebras)
            self.used = self.amount.copy()
        self.tokens_out = np.minimum(tokens_out, [quota.output_cap(int(m)) for m in max_out])
        spec = quota.spec
        ttft = sampler(spec.latency.ttft_s).mean
        speed = sampler(spec.latency.output_tokens_per_s).mean
        self.ttft_s = ttft
        self.service_s = ttft + self.tokens_out / speed  # mean service time of each turn's call, s
        self.mean_service_s = float(self.service_s.mean())
        self.min_amount = self.amount.min(axis=1)  # the smallest charge of any turn, per measure
        self.full_until = -math.inf
        """Before this run time no account has room for even the smallest request (long windows only)."""
        self.cacheable_full = not spec.change_days() and spec.withdrawn_on is None
        """Whether ``full_until`` may be kept: no dated limit change can make room earlier."""
        self.error_rate = spec.error_rate
        self.outages = [(o.start_s, o.start_s + o.duration_s) for o in config.scenario.outages
                        if o.provider == provider_of(config, dest.index)]

    def failure_rate(self, now: float) -> float:
        """Share of calls that fail at ``now`` (all of them during a scheduled outage)."""
        return 1.0 if any(a <= now < b for a, b in self.outages) else self.error_rate


def spec_charges_up_front(quota: DestinationQuota) -> bool:
    """Whether the provider charges ``max_tokens`` at admission and refunds nothing."""
    return bool(quota.spec.limits.charge_max_output_up_front)


def provider_of(config: Configuration, index: int) -> str | None:
    """The provider of routing destination ``index`` (None: a GPU pool)."""
    return config.scenario.routing.destinations[index].provider


def short_length_s(window: QuotaWindow) -> float | None:
    """The length of ``window``'s period if it is no longer than the fluid step (per-second and per-minute
    limits), s; else None."""
    if isinstance(window, RollingWindow | TokenBucket):
        length = window.length_s
    elif isinstance(window, FixedWindow) and isinstance(window.schedule, EveryAligned):
        length = window.schedule.length_s
    else:
        return None
    return length if length <= MINUTE_S else None


def erlang_b(servers: float, offered: float) -> float:
    """Erlang's loss formula: the share of arrivals that find all of ``servers`` busy under ``offered``
    erlangs (Poisson arrivals; insensitive to the holding-time distribution). ``servers`` is rounded
    down, at least 1. Source: A. K. Erlang (1917); the recursion B(k) = a·B(k−1) / (k + a·B(k−1))."""
    b = 1.0
    for k in range(1, max(1, int(servers)) + 1):
        b = offered * b / (k + offered * b)
    return b


def admit_account(
    account: AccountQuota,
    now: float,
    amounts: FloatArray,
    used: FloatArray,
    service_s: float,
    recorder: Recorder,
    offered: dict[int, tuple[float, float, float]] | None,
) -> tuple[IntArray, FloatArray]:
    """Which of a line of requests (their charges per measure: ``amounts[measure, i]`` reserved at
    admission, ``used[measure, i]`` after the response; needed over one minute, in the order they
    were needed) one account admits at ``now``: in line order, every
    request that each of its windows still has room for — the exact router tries each request on
    its own, so a small one fits where a large one before it did not. Returns the positions admitted
    and, per window, the amount charged.

    A window of a minute or less (per-second and per-minute limits, concurrency slots) refills
    within the step and holds a request's reservation only for the seconds of its call, so it counts
    what requests use; the exact engine loses the requests that arrive while it is full to the next
    destination, so a request window (and a concurrency slot) admits the line's share Erlang's loss
    formula gives — the window as limit servers, each held for the window's length (a slot: for
    the mean service time ``service_s``) — within what fits in the step; a token window admits
    what fits (requests of all sizes share it, and the small ones fit where large ones do not).
    ``offered`` keeps, per window or slot id, the requests offered to and admitted by it in the
    step, so the loss is that of the whole minute. Turns that wait for quota (``offered`` None:
    the quota-wait queue) lose nothing: they take the rest of the minute's room as the windows
    free. Longer windows admit what their remaining room holds."""
    windows = account.windows
    n = amounts.shape[1]
    rows = [MEASURES.index(w.measure) for w in windows]
    charge = amounts[rows, :] if windows else np.zeros((0, n))
    for w, window in enumerate(windows):
        if short_length_s(window) is not None:
            charge[w] = used[rows[w]]
    room = np.zeros(len(windows))
    cap, capper = n, None
    for w, window in enumerate(windows):
        short = short_length_s(window)
        if short is None:
            room[w] = window.limit * (1 + EPS) - window.used(now)
            continue
        room[w] = window.limit * (1 + EPS) * MINUTE_S / short - window.used(now)
        mean = float(charge[w].mean()) if n else 0.0
        if offered is not None and mean > 0 and window.measure is Measure.REQUESTS:
            k = erlang_allowance(offered, window.id, now, n, window.limit / mean, short)
            if k < cap:
                cap, capper = k, (window.id, now + short)
    concurrency = account.concurrency
    if concurrency is not None and n:
        if offered is not None:
            k = erlang_allowance(offered, concurrency.id, now, n, concurrency.limit, service_s)
        else:
            k = int(concurrency.limit * MINUTE_S / max(service_s, 1e-3))
        if k < cap:
            cap, capper = k, (concurrency.id, now + service_s)
    chosen = np.zeros(n, dtype=bool)
    count = 0
    # on arrival, a few sweeps, each taking in order the requests that still fit alone; the quota-wait
    # queue admits its heads in order until one does not fit
    for _ in range(4 if offered is not None else 1):
        if count >= cap:
            break
        alone = np.all(charge <= room[:, None], axis=0) if offered is not None else np.ones(n, dtype=bool)
        candidates = np.flatnonzero(~chosen & alone)
        if not len(candidates):
            break
        cum = np.cumsum(charge[:, candidates], axis=1)
        fits = np.all(cum <= room[:, None], axis=0)
        k = min(len(candidates) if fits.all() else int(np.argmin(fits)), cap - count)
        if k <= 0:
            break
        chosen[candidates[:k]] = True
        room -= cum[:, k - 1]
        count += k
    selected = np.flatnonzero(chosen)
    if count < n:  # say which window refused the first request left out, and until when
        j = int(np.argmin(chosen))
        over = np.flatnonzero(charge[:, j] > room) if len(windows) else np.zeros(0, dtype=np.int64)
        if len(over):
            window = windows[int(over[0])]
            recorder.window_refused(now, window.id, window.free_at(now, float(charge[over[0], j])))
        elif capper is not None:
            recorder.window_refused(now, capper[0], capper[1])
    keys = [w.id for w in windows if short_length_s(w) is not None]
    if concurrency is not None:
        keys.append(concurrency.id)
    for key in keys:
        if offered is not None and key in offered:
            minute, asked, taken = offered[key]
            offered[key] = (minute, asked, taken + count)
    return selected, charge[:, selected].sum(axis=1)


def erlang_allowance(
    offered: dict[int, tuple[float, float, float]], key: int, now: float, n: int, servers: float, hold_s: float
) -> int:
    """How many more of ``n`` requests offered at ``now`` a loss system of ``servers`` servers, each
    held ``hold_s`` s, admits in the minute starting at ``now``, counting what was offered to and
    admitted by it earlier in that minute."""
    minute, asked, taken = offered.get(key, (now, 0.0, 0.0))
    if minute != now:
        asked, taken = 0.0, 0.0
    asked += n
    offered[key] = (now, asked, taken)
    carried = asked * (1.0 - erlang_b(servers, asked * hold_s / MINUTE_S))
    return max(0, round(carried - taken))
