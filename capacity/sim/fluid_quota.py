"""Admission of one minute's requests in the fluid fast mode (:mod:`capacity.sim.fluid`): each
destination's per-turn charges, and how many of a line of requests one account's quota windows
admit in a one-minute step.

Each request is tried at its own instant in the step, and windows of a minute or longer (per
minute, hour, day, month, credit) are followed through it: a request is admitted if every window
has room for it after the requests admitted before it, the room growing as a bucket refills, a
rolling minute lets old charges go or a fixed window resets (:meth:`StepLog.growth`) — as the exact
router tries each request on its own. A request window of under a minute and a concurrency slot
turn over many times within the step: they admit the share of the minute's arrivals given by
Erlang's loss formula (the exact router loses to the next destination what arrives while they
are full), and the quota-wait queue then takes what they free in the rest of the minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from capacity.config.loader import Configuration
from capacity.metrics.recorder import Recorder
from capacity.policy.destination import Destination
from capacity.policy.ledger import AccountQuota, DestinationQuota
from capacity.policy.resets import EveryAligned
from capacity.policy.windows import FixedWindow, QuotaWindow, RollingWindow, TokenBucket
from capacity.units import MINUTE_S, Measure
from capacity.workload.distributions import sampler

EPS = 1e-9
_ZERO, _INF = np.zeros(1), np.full(1, math.inf)
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


def strategy_order(
    strategy: str, dests: list[Destination], weights: FloatArray, tokens_in: FloatArray, tokens_out: FloatArray,
    n: int,
) -> list[tuple[list[Destination], slice]]:
    """The routing ``strategy``'s order of ``dests`` for a line of ``n`` requests, as (order, part of
    the line): ``weighted`` draws the first choice by ``weights`` (each destination leads its share
    of the line), ``cost_aware`` orders by the price of a request of the script's mean tokens
    (``tokens_in``, ``tokens_out``: per turn), ``fill_first`` keeps the configured order."""
    if strategy == "weighted" and n:
        shares = np.floor(np.cumsum(weights / weights.sum()) * n + 0.5).astype(int)
        parts, lo = [], 0
        for i, hi in enumerate(shares):
            if hi > lo:
                parts.append(([dests[i], *dests[:i], *dests[i + 1:]], slice(lo, int(hi))))
            lo = max(lo, int(hi))
        return parts
    if strategy == "cost_aware":
        mean_in, mean_out = float(tokens_in.mean()), float(tokens_out.mean())
        return [(sorted(dests, key=lambda d: d.price_usd(mean_in, mean_out)), slice(0, n))]
    return [(dests, slice(0, n))]


class DestinationCosts:
    """One destination's charges in each window measure, price and service time: per turn of the
    script at its expected tokens, and their slopes per token, so that a request of other sizes
    costs ``amount + slope_in · (its input − the turn's expected input)`` (and likewise for the
    output generated); :meth:`charges` gives them for a batch of requests."""

    def __init__(self, dest: Destination, config: Configuration, tokens_in: FloatArray, tokens_out: FloatArray,
                 max_out: IntArray, fixed_in: FloatArray) -> None:
        quota = dest.quota
        assert quota is not None
        self.dest = dest
        self.quota: DestinationQuota = quota
        turns = len(tokens_in)
        tariff = quota.tariff
        self.tokens_in = tokens_in
        self.out_cap = np.array([quota.output_cap(int(m)) for m in max_out], dtype=float)
        self.tokens_out = np.minimum(tokens_out, self.out_cap)
        self.amount = np.zeros((len(MEASURES), turns))  # reserved at admission, per turn
        self.used = np.zeros((len(MEASURES), turns))  # charged after the response, per turn
        self.slope_in = np.zeros((len(MEASURES), turns))  # per input token more than expected
        self.slope_out = np.zeros((len(MEASURES), turns))  # per output token more than expected (used only)
        self.price_usd = np.zeros(turns)
        self.price_in = np.zeros(turns)  # $ per input token more than expected
        self.price_out = np.zeros(turns)  # $ per output token more than expected
        self.price_cached = np.zeros(turns)  # $ per input token read from the prompt cache (a discount: < 0)
        self.list_usd = np.zeros((3, turns))  # without prompt caching: at expected tokens, per token in, out
        self.min_amount = np.full(len(MEASURES), math.inf)  # a lower bound of any request's reservation
        step = 100.0  # tokens: finite differences of the tariff (linear but for a prompt cache's write threshold)
        for k in range(turns):
            cap, tin, tout = float(self.out_cap[k]), float(tokens_in[k]), float(self.tokens_out[k])
            reserved, actual = tariff.charge(tin, cap), tariff.charge(tin, tout)
            more_in, more_out = tariff.charge(tin + step, cap), tariff.charge(tin, tout + step)
            smallest = tariff.charge(float(fixed_in[k]), cap)
            for i, measure in enumerate(MEASURES):
                self.amount[i, k] = reserved.amount(measure)
                self.used[i, k] = actual.amount(measure)
                self.slope_in[i, k] = (more_in.amount(measure) - reserved.amount(measure)) / step
                self.slope_out[i, k] = (more_out.amount(measure) - actual.amount(measure)) / step
                self.min_amount[i] = min(self.min_amount[i], smallest.amount(measure))
            self.price_usd[k] = dest.price_usd(tin, tout)
            self.price_in[k] = (dest.price_usd(tin + step, tout) - self.price_usd[k]) / step
            self.price_out[k] = (dest.price_usd(tin, tout + step) - self.price_usd[k]) / step
            self.price_cached[k] = (dest.price_usd(tin, tout, min(step, tin)) - self.price_usd[k]) / min(step, tin)
            listed = dest.price_usd(tin, tout, None)
            self.list_usd[:, k] = listed, (dest.price_usd(tin + step, tout, None) - listed) / step, \
                (dest.price_usd(tin, tout + step, None) - listed) / step
        self.up_front = spec_charges_up_front(quota)
        if self.up_front:  # nothing reserved comes back (Cerebras)
            self.used = self.amount.copy()
            self.slope_out[:] = 0.0
        spec = quota.spec
        ttft = sampler(spec.latency.ttft_s).mean
        self.speed = sampler(spec.latency.output_tokens_per_s).mean
        self.ttft_s = ttft
        self.service_s = ttft + self.tokens_out / self.speed  # mean service time of each turn's call, s
        self.mean_service_s = float(self.service_s.mean())
        self.full_until = -math.inf
        """Before this run time no account has room for even the smallest request (long windows only)."""
        self.cacheable_full = not spec.change_days() and spec.withdrawn_on is None
        """Whether ``full_until`` may be kept: no dated limit change can make room earlier."""
        self.error_rate = spec.error_rate
        self.max_input = quota.max_input_cap
        self.outages = [(o.start_s, o.start_s + o.duration_s) for o in config.scenario.outages
                        if o.provider == provider_of(config, dest.index)]

    def sizes(self, turns: IntArray, tokens_in: FloatArray, tokens_out: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The differences, in tokens, between requests' input and output here (the output capped at this
        model's limit) and their turns' expected ones: (input, output), each of shape (requests,)."""
        return tokens_in - self.tokens_in[turns], np.minimum(tokens_out, self.out_cap[turns]) - self.tokens_out[turns]

    def charges(self, turns: IntArray, d_in: FloatArray, d_out: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Requests' charges per measure (measures × requests), given their turns and their sizes'
        differences from the expected (:meth:`sizes`): reserved at admission (input + output cap),
        and charged after the response (input + output generated)."""
        amount = self.amount[:, turns] + self.slope_in[:, turns] * d_in
        used = self.used[:, turns] + self.slope_in[:, turns] * d_in + self.slope_out[:, turns] * d_out
        return amount, used

    def price(self, turns: IntArray, d_in: FloatArray, d_out: FloatArray, cached: FloatArray | None) -> FloatArray:
        """Requests' prices, $, shape (requests,), given their turns, their sizes' differences from the
        expected (:meth:`sizes`) and the input tokens each read from the provider's prompt cache
        (``cached``; None: the price without prompt caching) — the tariff's, linear about each turn's
        expected tokens (:meth:`~capacity.policy.destination.Destination.price_usd`)."""
        if cached is None:
            listed = self.list_usd[:, turns]
            return np.asarray(listed[0] + listed[1] * d_in + listed[2] * d_out)
        return np.asarray(self.price_usd[turns] + self.price_in[turns] * d_in + self.price_out[turns] * d_out
                          + self.price_cached[turns] * cached)

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


class StepLog:
    """One window in the step that starts at run time ``now`` (s): what it held then (``used``) and
    how its room grows through the step (:meth:`growth`), and what the step's passes have admitted on
    it and not yet charged to it — each charge's instant (s) and amount, in the window's measure. The
    step's takes wait for its end (:func:`charge_logs`), so the window is as it was at ``now`` all through the step
    and a rolling window's log stays in time order when a later pass admits at an earlier instant."""

    __slots__ = ("amounts", "freed", "leaves", "now", "times", "total", "used", "window")

    def __init__(self, window: QuotaWindow, now: float) -> None:
        self.window = window
        self.now = now
        self.used = window.used(now)
        self.times: list[float] = []
        self.amounts: list[float] = []
        self.total = 0.0
        self.leaves = self.freed = _ZERO
        if isinstance(window, RollingWindow) and window.length_s <= MINUTE_S:
            entries = window.entries()
            if entries:  # when each earlier charge leaves, and the room freed by then
                leaves = np.array([t for t, _ in entries]) + window.length_s
                order = np.argsort(leaves, kind="stable")
                self.leaves = leaves[order]
                self.freed = np.concatenate((_ZERO, np.cumsum(np.array([a for _, a in entries])[order])))

    def growth(self, times: FloatArray) -> FloatArray:
        """How much more room the window has at each of ``times`` (s, within the step) than at its
        start, before the step's admissions: a token bucket refills at its rate up to its capacity, a
        rolling window of a minute lets go of the charges older than its length, a fixed window empties
        at its reset. A longer rolling window is charged once a step, at the step's start, so its
        charges leave only at step boundaries: it grows by nothing within one."""
        window, now = self.window, self.now
        if isinstance(window, TokenBucket):
            return np.minimum(self.used, window.rate * (times - now))
        if isinstance(window, FixedWindow):
            return np.where(times >= window.period[1], self.used, 0.0)
        if len(self.freed) > 1:
            return np.asarray(self.freed[np.searchsorted(self.leaves, times, side="right")])
        return np.zeros(len(times))

    def add(self, times: list[float], amounts: list[float]) -> None:
        """Log charges of ``amounts`` at ``times`` (s)."""
        self.times.extend(times)
        self.amounts.extend(amounts)
        self.total += sum(amounts)


def room_with_log(times: FloatArray, room_now: float, log: StepLog) -> FloatArray:
    """The room ``window`` has for a request at each of ``times`` (s, in the step from ``now``) given
    the step's charges logged so far (``room_now``: its room at ``now`` before them): the least, over
    the request's instant and every later logged instant, of the room then — what the window grew by
    (:meth:`StepLog.growth`) less the logged charges up to that instant. A request that fits this leaves
    every later charge of the step still within the limit."""
    at = np.asarray(log.times)
    order = np.argsort(at, kind="stable")
    at = at[order]
    upto = np.cumsum(np.asarray(log.amounts)[order])
    after = room_now + log.growth(at) - upto  # the room left just after each logged charge
    floor = np.minimum.accumulate(after[::-1])[::-1]  # its least from each logged charge on
    own = room_now + log.growth(times) - np.concatenate((_ZERO, upto))[np.searchsorted(at, times, "right")]
    later = np.concatenate((floor, _INF))[np.searchsorted(at, times, "left")]
    return np.asarray(np.minimum(own, later))


def admit_account(
    account: AccountQuota,
    now: float,
    times: FloatArray,
    amounts: FloatArray,
    used: FloatArray,
    service_s: float,
    recorder: Recorder,
    offered: dict[int, tuple[float, float, float]] | None,
    veto: Callable[[IntArray], IntArray] | None = None,
    held: dict[QuotaWindow, StepLog] | None = None,
    open_share: float = 1.0,
) -> tuple[IntArray, FloatArray]:
    """Which of a line of requests one account admits in the step that starts at ``now``: the
    requests are tried at ``times`` (s, each request's instant within the step, non-decreasing),
    with ``amounts[measure, i]`` reserved at admission and ``used[measure, i]`` charged after the
    response. Returns the positions admitted and the charge of each, per window (windows × admitted).

    Each window of a minute or longer is followed through the step: a request is admitted if, at
    its own instant, every window has room for it after the requests admitted before it — the
    room the window had at ``now`` plus what it freed since (:meth:`StepLog.growth`). So, as in the
    exact engine, a request that arrives while a window is nearly full goes on to the next
    destination, and a small one fits where a large one before it did not: under a token budget
    refilling by a few hundred tokens a minute only the smallest requests get through.

    A window of under a minute (per-second limits) and a concurrency slot turn over many times
    within the step; they hold a request's reservation only for the seconds of its call, so they
    count what requests use, and a request window (or a slot) admits the line's share that
    Erlang's loss formula gives — the window as limit servers, each held for the window's length
    (a slot: for the mean service time ``service_s``). ``offered`` keeps, per window or slot id,
    the requests offered to and admitted by it in the step, so the loss is that of the whole
    minute; turns that wait for quota (``offered`` None: the quota-wait queue) lose nothing to it.
    Windows of a minute count what requests use too (a call ends within seconds).

    ``veto``, if given, is shown the positions the windows admit (ascending) and returns those that
    stay admitted (a subset: the others go on to the next destination, as a destination cooling
    down after a failed call sends them); only those are counted as taken. ``held`` gives, for each
    window, what earlier passes of this step admitted on it (:class:`StepLog`, charged to
    it as the step ends): a request at instant t fits if it leaves room at t and at every later
    instant of a logged charge (:func:`room_with_log`), so a later pass may admit a turn at an
    earlier instant without breaking a limit for the charges after it. ``open_share``: the share of
    the minute the destination takes traffic (not cooling down after a failed call), which bounds
    what the windows of under a minute may turn over in it."""
    windows = account.windows
    n = amounts.shape[1]
    rows = [MEASURES.index(w.measure) for w in windows]
    charge = amounts[rows, :] if windows else np.zeros((0, n))
    extra = np.zeros_like(charge)  # reserved beyond what is charged: checked at admission, not kept
    base = np.zeros(len(windows))  # room at ``now``, less what earlier passes of the step admitted
    followed: list[int] = []  # windows followed through the step
    if held is None:
        held = {}
    logs = [held.get(w) or held.setdefault(w, StepLog(w, now)) for w in windows]
    cap, capper = n, None
    for w, window in enumerate(windows):
        short = short_length_s(window)
        if short is not None:
            charge[w] = used[rows[w]]
            extra[w] = np.maximum(amounts[rows[w]] - charge[w], 0.0)
        log = logs[w]
        in_use = log.used + log.total
        if short is None or short >= MINUTE_S:
            base[w] = window.limit * (1 + EPS) - in_use
            followed.append(w)
            continue
        base[w] = window.limit * (1 + EPS) * MINUTE_S * open_share / short - in_use
        mean = float(charge[w].mean()) if n else 0.0
        if offered is not None and mean > 0 and window.measure is Measure.REQUESTS:
            k, congestion = erlang_allowance(offered, window.id, now, n, window.limit / mean, short)
            if k < cap:  # full the share of the minute that all its servers are busy (Erlang's time congestion)
                cap, capper = k, (window.id, now + MINUTE_S * congestion)
    concurrency = account.concurrency
    if concurrency is not None and n:
        if offered is not None:
            k, congestion = erlang_allowance(offered, concurrency.id, now, n, concurrency.limit, service_s)
        else:  # the quota-wait queue keeps every slot busy
            k, congestion = int(concurrency.limit * MINUTE_S / max(service_s, 1e-3)), 1.0
        if k < cap:
            cap, capper = k, (concurrency.id, now + MINUTE_S * congestion)
    need = charge + extra
    if n <= cap and np.all(charge.sum(axis=1) + extra.max(axis=1, initial=0.0) <= base):  # all fit: the room only grows
        selected, count = np.arange(n), n
    elif n and (full := _full_through(windows, now, times, need, base, followed, logs)) is not None:
        # not even the smallest request fits at the last instant on the room the window may have then
        window = windows[full]
        recorder.window_refused(now, window.id, window.free_at(now, float(need[full].min())))
        selected, count = np.zeros(0, dtype=np.int64), 0
    else:
        selected, count = _admit_in_order(
            windows, now, times, charge, extra, base, followed, logs, cap, capper, recorder
        )
    if veto is not None and count:
        selected = veto(selected)
        count = len(selected)
    keys = [w.id for w in windows if (short_length_s(w) or MINUTE_S) < MINUTE_S]
    if concurrency is not None:
        keys.append(concurrency.id)
    for key in keys:
        if offered is not None and key in offered:
            minute, asked, taken = offered[key]
            offered[key] = (minute, asked, taken + count)
    return selected, charge[:, selected]


def _full_through(
    windows: list[QuotaWindow],
    now: float,
    times: FloatArray,
    need: FloatArray,
    base: FloatArray,
    followed: list[int],
    logs: list[StepLog],
) -> int | None:
    """A window (its position) with no room for the smallest of a line's requests even at the line's
    last instant, before anything is admitted — so the account admits none of it; else None. Cheap:
    an upper bound of each window's room (its room at the step's start, less nothing logged, plus
    what it grew by then), checked before :func:`_admit_in_order`."""
    last = np.array([times.max()])
    for w in followed:
        log = logs[w]
        most = base[w] + log.total + float(log.growth(last)[0])
        if most < need[w].min():
            return w
    return None


def _admit_in_order(
    windows: list[QuotaWindow],
    now: float,
    times: FloatArray,
    charge: FloatArray,
    extra: FloatArray,
    base: FloatArray,
    followed: list[int],
    logs: list[StepLog],
    cap: int,
    capper: tuple[int, float] | None,
    recorder: Recorder,
) -> tuple[IntArray, int]:
    """:func:`admit_account`'s line, one request after another at its own instant: runs of requests
    that each fit after those before them and, past a request that does not fit, the next one that
    does; at most ``cap`` (its window or slot: ``capper``). Tells ``recorder`` which window refused
    the first request left out, and until when. Returns the positions admitted and their count."""
    n = charge.shape[1]
    room = np.repeat(base[:, None], n, axis=1)  # each window's room at each request's instant
    for w in followed:
        log = logs[w]
        room[w] = base[w] + log.growth(times) if not log.times else room_with_log(times, base[w] + log.total, log)
    picked: list[IntArray] = []
    count = 0
    spent = np.zeros(len(windows))
    i = 0
    while i < n and count < cap:
        run = spent[:, None] + np.cumsum(charge[:, i:], axis=1)
        fits = np.all(run + extra[:, i:] <= room[:, i:], axis=0)
        k = len(fits) if fits.all() else int(np.argmin(fits))
        k = min(k, cap - count)
        if k:
            picked.append(np.arange(i, i + k))
            spent = run[:, k - 1]
            count += k
            i += k
            continue
        alone = np.all(spent[:, None] + charge[:, i:] + extra[:, i:] <= room[:, i:], axis=0)
        if not alone.any():
            break
        i += int(np.argmax(alone))
    selected = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    if count < n:
        chosen = np.zeros(n, dtype=bool)
        chosen[selected] = True
        j = int(np.argmin(chosen))
        need = spent + charge[:, j] + extra[:, j]
        over = np.flatnonzero(need > room[:, j]) if len(windows) else np.zeros(0, dtype=np.int64)
        if len(over):
            window = windows[int(over[0])]
            recorder.window_refused(now, window.id, window.free_at(now, float(need[over[0]])))
        elif capper is not None:
            recorder.window_refused(now, capper[0], capper[1])
    return selected, count


def erlang_allowance(
    offered: dict[int, tuple[float, float, float]], key: int, now: float, n: int, servers: float, hold_s: float
) -> tuple[int, float]:
    """How many more of ``n`` requests offered at ``now`` a loss system of ``servers`` servers, each
    held ``hold_s`` s, admits in the minute starting at ``now``, counting what was offered to and
    admitted by it earlier in that minute; and the share of the minute all its servers are busy (time
    congestion, equal to the share of arrivals lost under Poisson arrivals)."""
    minute, asked, taken = offered.get(key, (now, 0.0, 0.0))
    if minute != now:
        asked, taken = 0.0, 0.0
    asked += n
    offered[key] = (now, asked, taken)
    lost = erlang_b(servers, asked * hold_s / MINUTE_S)
    return max(0, round(asked * (1.0 - lost) - taken)), lost


def slot_level(servers: int, offered: float, arrivals: float) -> int:
    """The most requests a concurrency slot of ``servers`` holds in a minute when ``arrivals`` requests
    are offered to it, ``offered`` erlangs: the highest level ``j`` the minute more likely than not
    reaches — an arrival that finds ``j − 1`` or more in flight brings it to ``j`` (or finds it full),
    so 1 − (1 − P(N ≥ j − 1))^arrivals ≥ ½, N the number in flight of Erlang's loss system (truncated
    Poisson: P(N = i) ∝ offered^i ÷ i!, i = 0…servers), as each arrival sees the time-average state
    (Poisson arrivals see time averages). 0 if none is offered."""
    terms = [1.0]  # offered^i ÷ i!, rescaled where it would overflow (only ratios are used)
    for i in range(1, servers + 1):
        terms.append(terms[-1] * offered / i)
        if terms[-1] > 1e200:
            terms = [t / 1e200 for t in terms]
    total, tail = sum(terms), terms[servers]
    for level in range(servers, 0, -1):
        tail += terms[level - 1]  # P(N ≥ level − 1) × total
        if 1.0 - (1.0 - min(1.0, tail / total)) ** arrivals >= 0.5:
            return level
    return 0


def record_slots(costs: list[DestinationCosts], offered: dict[int, tuple[float, float, float]], now: float,
                 recorder: Recorder) -> None:
    """The step from ``now`` is over: note each concurrency slot's use in it, as the exact engine notes
    the requests in flight — the level the minute's arrivals more likely than not raise it to, by Erlang's
    loss system under what was offered to it (:func:`slot_level`); where it is expected to have turned
    half a request or more away, it was full the share of the minute its time congestion gives."""
    end = now + MINUTE_S * (1 - EPS)
    for c in costs:
        for account in c.quota.accounts:
            slot = account.concurrency
            if slot is None or slot.id not in offered or offered[slot.id][0] != now:
                continue
            arrivals = offered[slot.id][1]
            load = arrivals * c.mean_service_s / MINUTE_S
            lost = erlang_b(slot.limit, load)
            if arrivals * lost >= 0.5:  # the exact ledger checks the slot first: a refusal, the slot full
                recorder.window_refused(now, slot.id, now + MINUTE_S * lost)
            recorder.window_used(end, slot.id, slot_level(slot.limit, load, arrivals) / slot.limit)


def charge_logs(held: dict[QuotaWindow, StepLog], now: float, recorder: Recorder) -> None:
    """The step from ``now`` is over: charge each window what its passes admitted (``held``, emptied) —
    a rolling window of a minute or less each charge at its own instant, in time order (it lets each
    go a minute later), the others the sum at the step's start."""
    end = now + MINUTE_S * (1 - EPS)
    for log in held.values():
        if not log.times:
            continue
        window = log.window
        if isinstance(window, RollingWindow) and window.length_s <= MINUTE_S:
            for t, amount in sorted(zip(log.times, log.amounts, strict=True)):
                window.take(t, amount)
            used = _rolling_peak(window, log.times)
        else:
            if log.total:
                window.take(now, log.total)
            used = window.used(now)
        # recorded as the step ends: a stretch the window was full in the step (refused at the step's start,
        # until the instant it could admit again) ends by then, not at the step's start
        recorder.window_used(end, window.id, used / window.limit if window.limit else 1.0)
    held.clear()


def _rolling_peak(window: RollingWindow, times: list[float]) -> float:
    """The most a rolling ``window`` of a minute or less held at any of ``times`` (s, the step's charges,
    each just taken): what it charged within its length up to that instant, at most its limit. The cap
    is the model's, not a clip of an excess: a waiting turn is logged at the step's start though it is
    sent as the window frees room for it by the step's end, and a window of under a minute admits the
    minute's share Erlang's formula gives without placing each request in its second."""
    entries = window.entries()
    at = np.array([t for t, _ in entries])
    held = np.concatenate((_ZERO, np.cumsum([a for _, a in entries])))
    when = np.asarray(times)
    upto = held[np.searchsorted(at, when, side="right")]
    since = held[np.searchsorted(at, when - window.length_s, side="right")]
    return min(float((upto - since).max()), window.limit)


def earliest_fit(now: float, costs: DestinationCosts) -> float:
    """The earliest run time any account of a destination that admitted nothing may take its
    smallest request, by its windows of a minute or longer (``now`` if a shorter one refused): a
    lower bound, as the step's logged charges only fill the windows more."""
    earliest = math.inf
    for account in costs.quota.accounts:
        at = now
        for window in account.windows:
            if (short_length_s(window) or MINUTE_S) >= MINUTE_S:
                at = max(at, window.free_at(now, float(costs.min_amount[MEASURES.index(window.measure)])))
        earliest = min(earliest, at)
    return earliest
