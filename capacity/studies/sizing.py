"""Sizing with the simulator: the fewest GPU servers that meet a target, and the capacity knee.

A **target** (:class:`~capacity.studies.target.Target`) is what a planner promises: at least
99 % of the requested interviews carried (completed or degraded by the end of the run) and the
p95 turn latency — optionally also the p95 time to first token — within a limit. Each **probe**
simulates the scenario once (its seed, a short horizon: scenario B is one day; scenario A's
``days``) and says whether the target is met.

* :func:`min_servers` finds the least ``servers`` of a GPU pool that meet the target. It
  starts from the roofline's guess (demand ÷ what one server carries at full batch over the
  active hours, :func:`capacity.gpu.sizing.size_server` — an upper bound of a server's
  throughput, so the fleet that does the day's work within those hours), gallops up by half
  again, or down by 1, 2, 4, … servers when a loose target lets the backlog run into the
  night, until the answer is bracketed, then narrows the bracket: each round's first count is
  where the misses point (an overloaded fleet's p95 latency falls about linearly as servers
  are added, so a straight line between the largest miss and the smallest meet crosses the
  target near the answer; the count just below that crossing, if it misses, certifies the
  answer at once), the others bisect. Each count is simulated once.
* :func:`knee` is the inverse: with the fleet fixed, the largest demand
  (:func:`~capacity.studies.demand.scale_demand`: candidates scaled, interviews each kept)
  that the plan carries within the target — where the capacity curve bends. Same search, on
  the demand scale, to a relative tolerance; the answer is read with
  :func:`~capacity.studies.target.knee_of`, the one definition of the knee.

Both assume monotonicity — more servers never carry fewer interviews nor slow them, more
demand never carries a larger share faster — which the tests check on small cases. Both first
measure the **latency floor**: the scenario at a trickle of demand (about a hundred
interviews), where no request waits for another. No fleet gets below it: an evaluation that
writes 120 tokens at 50 tokens/s takes 2.4 s on an idle card, whatever the rest of the fleet
does. When the floor misses the target the answer is "no fleet of this card" at once, without
a search. Probes of one round run in parallel with ``jobs`` > 1
(:func:`~capacity.studies.runner.run_tasks`); the numbers do not depend on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from capacity.config.gpus import GpuPool
from capacity.config.loader import Configuration
from capacity.gpu.pool import pool_deployment
from capacity.gpu.sizing import InterviewLoad, size_server
from capacity.sim.model import simulate
from capacity.studies.demand import need_per_interviewing_day, run_interviewing_days, scale_demand
from capacity.studies.runner import SimClock, TaskClock, demand_weight, run_tasks
from capacity.studies.target import Target, knee_of
from capacity.studies.variants import sized_pool, with_servers
from capacity.workload.calendar import active_hours_per_day
from capacity.workload.script import compile_script

FLOOR_INTERVIEWS = 100
"""About this many interviews make the latency-floor probe (no request waits for another)."""

MAX_SERVERS = 256
"""Default largest fleet :func:`min_servers` tries before it gives up."""

SizingProgress = TaskClock
"""Told (what is being simulated, simulated time, end time), s; with several processes, (what
just finished, probes done, probes of the round)."""


@dataclass(frozen=True)
class Probe:
    """One simulation of a search: the fleet, the demand, and what the run measured."""

    servers: int
    """Servers of the sized pool in this run."""
    scale: float
    """Demand ÷ the scenario's demand."""
    requested: int
    """Interviews requested in the run."""
    offered_per_day: float
    """Interviews requested per interviewing day of the run."""
    carried_per_day: float
    """Interviews completed or degraded per interviewing day of the run."""
    carried_share: float
    """Carried ÷ requested (:attr:`~capacity.result.RunResult.carried_share`)."""
    p95_turn_latency_s: float
    p95_ttft_s: float
    met: bool
    """Whether the run met the target."""
    wall_time_s: float
    """Wall time of the simulation, s."""
    why: str = ""
    """Why the search tried it: its round and the rule that chose it (empty for a probe made alone)."""


@dataclass(frozen=True)
class FleetSize:
    """The answer of :func:`min_servers`."""

    scenario: str
    pool: GpuPool
    """The sized pool as the scenario defines it (its ``servers`` is the scenario's, not the answer)."""
    target: Target
    servers: int | None
    """Fewest servers that meet the target; None when none up to ``max_servers`` does."""
    roofline_servers: int
    """The roofline's lower bound: demand ÷ one server's full-batch throughput, rounded up."""
    floor: Probe
    """The latency floor: a trickle of demand, no queueing."""
    probes: tuple[Probe, ...]
    """Every run of the search, in increasing servers."""
    reason: str
    """Why the search stopped, in words."""

    @property
    def meeting(self) -> Probe | None:
        """The probe at the answer (None if infeasible)."""
        return next((p for p in self.probes if p.servers == self.servers), None)

    @property
    def wall_time_s(self) -> float:
        """Simulation time the search took, s."""
        return self.floor.wall_time_s + sum(p.wall_time_s for p in self.probes)


@dataclass(frozen=True)
class Knee:
    """The answer of :func:`knee`: the most demand a fixed plan carries within the target."""

    scenario: str
    target: Target
    scale: float | None
    """Largest demand scale found to meet the target (None: not even a trickle does)."""
    interviews_per_day: float | None
    """Interviews per interviewing day offered at that scale (and carried, ≥ 99 %)."""
    upper_scale: float | None
    """Smallest demand scale found to miss the target (None: never missed up to the search's top)."""
    floor: Probe
    probes: tuple[Probe, ...]
    """Every run of the search, in increasing demand."""
    reason: str

    @property
    def wall_time_s(self) -> float:
        """Simulation time the search took, s."""
        return self.floor.wall_time_s + sum(p.wall_time_s for p in self.probes)


# ---------------------------------------------------------------------------------------------
# The roofline bound


def roofline_interviews_per_day(config: Configuration, pool: GpuPool) -> float:
    """Interviews a day one server of ``pool`` carries at full batch over the active hours (upper bound)."""
    sc = config.scenario
    script = compile_script(sc.script)
    tokens_in, tokens_out = script.expected_api_tokens_per_interview()
    load = InterviewLoad(tokens_in, tokens_out, max(1, len(script.api_turns)))
    dep = pool_deployment(config.gpu_catalog, pool)
    sizing = size_server(dep, load, hours_per_day=active_hours_per_day(sc.calendar), max_batch=pool.max_batch)
    return sizing.interviews_per_day


# ---------------------------------------------------------------------------------------------
# Probes


@dataclass(frozen=True)
class ProbeTask:
    """One probe to run (picklable, for a worker process): a configuration already resized and scaled."""

    config: Configuration
    target: Target
    servers: int
    scale: float
    seed: int | None
    days: int | None
    label: str

    @property
    def weight(self) -> float:
        """Interviews simulated."""
        return demand_weight(self.config, self.days)

    def __call__(self, clock: SimClock | None = None) -> Probe:
        """Simulate once and judge the run against the target."""
        result = simulate(self.config, seed=self.seed, days=self.days, progress=clock)
        iv = result.interviews
        per = run_interviewing_days(self.config, self.days)
        return Probe(
            servers=self.servers,
            scale=self.scale,
            requested=iv.requested,
            offered_per_day=iv.requested / per,
            carried_per_day=iv.carried / per,
            carried_share=result.carried_share,
            p95_turn_latency_s=result.turn_latency_s.p95,
            p95_ttft_s=result.ttft_s.p95,
            met=self.target.met_by(result),
            wall_time_s=result.wall_time_s,
        )


def probe(
    config: Configuration,
    target: Target,
    *,
    servers: int,
    scale: float = 1.0,
    seed: int | None = None,
    days: int | None = None,
    label: str = "",
    progress: SizingProgress | None = None,
    why: str = "",
) -> Probe:
    """Simulate ``config`` (already resized and scaled) once and judge it against ``target``
    (``why``: the reason a search tried it, kept on the probe)."""
    task = ProbeTask(config, target, servers, scale, seed, days, label)
    result = task(None if progress is None else lambda now, end: progress(label, now, end))
    return replace(result, why=why) if why else result


def latency_floor(
    config: Configuration,
    target: Target,
    *,
    pool: str | None = None,
    servers: int | None = None,
    seed: int | None = None,
    days: int | None = None,
    progress: SizingProgress | None = None,
) -> Probe:
    """The scenario at a trickle of demand (≈ FLOOR_INTERVIEWS interviews).

    With ``pool`` and ``servers`` the pool is resized first: give it a server per candidate of
    the trickle and no request waits for another (the latency no fleet gets below); without,
    the plan as it is (the low end of its capacity curve).
    """
    factor = min(1.0, FLOOR_INTERVIEWS / config.scenario.demand.interviews)
    if pool is not None and servers is not None:
        config = with_servers(config, pool, servers)
    return probe(
        scale_demand(config, factor),
        target,
        servers=sum(p.servers for p in config.scenario.gpu_pools),
        scale=factor,
        seed=seed,
        days=days,
        label="latency floor",
        progress=progress,
        why="the latency floor: a trickle of demand, nobody queues",
    )


def _run_probes(tasks: list[ProbeTask], jobs: int, progress: SizingProgress | None) -> list[Probe]:
    """Run ``tasks`` (in up to ``jobs`` processes); probes in task order. Same numbers however run."""
    if progress is None:
        return run_tasks(tasks, jobs)
    tell = progress
    if jobs <= 1:
        return run_tasks(tasks, 1, clock=tell)  # each probe's simulated time as it runs
    return run_tasks(tasks, jobs, done=lambda done, total, label: tell(label, done, total))


# ---------------------------------------------------------------------------------------------
# Searches


def _interior(lo: int, hi: int, k: int) -> list[int]:
    """Up to ``k`` integers strictly between ``lo`` and ``hi``, evenly spread (bisection for k = 1)."""
    points = {lo + round((hi - lo) * i / (k + 1)) for i in range(1, k + 1)}
    return sorted(n for n in points if lo < n < hi)


def _excess(probe: Probe, target: Target) -> float:
    """How far ``probe`` is past the target on the part it misses most, relative to that part's
    limit (p95 latency ÷ its limit − 1; the carried share's shortfall ÷ the share required): above
    0 where it misses, at most 0 where every part is met. NaN where a part was not measured."""
    parts = [1.0 - probe.carried_share / target.carried_share]
    if target.p95_turn_latency_s is not None:
        parts.append(probe.p95_turn_latency_s / target.p95_turn_latency_s - 1.0)
    if target.p95_ttft_s is not None:
        parts.append(probe.p95_ttft_s / target.p95_ttft_s - 1.0)
    return math.nan if any(math.isnan(p) for p in parts) else max(parts)


def _guided(lo: Probe, hi: Probe, target: Target, k: int, guide: bool) -> dict[int, str]:
    """The next counts to simulate strictly between ``lo`` (the largest fleet that misses) and
    ``hi`` (the smallest that meets), at most ``k``.

    With ``guide``, the first is where the boundary should be if the miss shrinks linearly in
    servers between the two (regula falsi on :func:`_excess`): an overloaded fleet's backlog,
    and so its p95 latency, falls about linearly as servers are added, until the fleet carries
    the load. It is the count just below the estimated boundary, expected to miss: if it does,
    it certifies the answer at once. The other counts bisect what is left, so a poor estimate
    costs no more than a bisection round. Without ``guide``: bisection only. Returns each count
    with the rule that chose it, in increasing order."""
    if hi.servers - lo.servers < 2:
        return {}
    points: list[int] = []
    guided: int | None = None
    above, below = _excess(lo, target), _excess(hi, target)
    if guide and above > 0 >= below:
        boundary = lo.servers + (hi.servers - lo.servers) * above / (above - below)
        # the largest count expected to miss, kept strictly inside the bracket
        guided = min(hi.servers - 1, max(lo.servers + 1, math.ceil(boundary) - 1))
        points.append(guided)
    for n in _interior(lo.servers, hi.servers, k):
        if len(points) < k and n not in points:
            points.append(n)
    if len(points) < k:  # the even spread hit the guided count: fill from what is left
        points += [n for n in range(lo.servers + 1, hi.servers) if n not in points][: k - len(points)]
    return {n: "where the misses point" if n == guided else "bisecting" for n in sorted(points)}


def min_servers(
    config: Configuration,
    target: Target,
    *,
    pool: str | None = None,
    seed: int | None = None,
    days: int | None = None,
    max_servers: int = MAX_SERVERS,
    jobs: int = 1,
    progress: SizingProgress | None = None,
) -> FleetSize:
    """The fewest servers of the scenario's GPU pool that meet ``target``.

    The search starts at the roofline bound (fewer servers cannot do the day's work within its
    active hours; with a loose target the backlog may run on into the night, so the bound is
    simulated, not trusted), gallops up by half again (× 1.5, × 2.25, …) until a fleet meets
    the target — or down (1, 2, 4, … fewer) until one misses —, then narrows down between the
    largest miss and the smallest meet (``jobs`` > 1: that many probes a round, in parallel):
    each round's first probe is where the two point to (:func:`_guided`), the others bisect;
    with one probe a round, guided and bisecting rounds alternate.
    The answer N is certified by runs at N and at N − 1.
    """
    sized = sized_pool(config, pool)
    name = config.scenario.name
    need = need_per_interviewing_day(config)
    per_server = roofline_interviews_per_day(config, sized)
    roofline = min(max_servers, max(1, math.ceil(need / per_server))) if per_server > 0 else max_servers
    share = min(1.0, FLOOR_INTERVIEWS / config.scenario.demand.interviews)
    trickle = min(max_servers, max(1, round(config.scenario.candidates.count * share)))  # a server each
    floor = latency_floor(config, target, pool=sized.name, servers=trickle, seed=seed, days=days, progress=progress)
    if not target.latency_met(floor.p95_turn_latency_s, floor.p95_ttft_s):
        return FleetSize(
            name,
            sized,
            target,
            None,
            roofline,
            floor,
            (),
            f"no fleet meets the target: with no queueing at all, p95 turn latency is "
            f"{floor.p95_turn_latency_s:.1f} s and p95 time to first token {floor.p95_ttft_s:.2f} s on "
            f"{sized.gpu} ({sized.model} {sized.precision}); more servers cannot make one request faster",
        )
    probes: dict[int, Probe] = {}
    rounds = 0

    def run(counts: dict[int, str]) -> None:
        """Simulate each count not simulated yet, as one round; ``counts`` says why each was chosen."""
        nonlocal rounds
        rounds += 1
        todo = [n for n in sorted(counts) if n not in probes]
        tasks = [
            ProbeTask(with_servers(config, sized.name, n), target, n, 1.0, seed, days, f"{n} servers") for n in todo
        ]
        for n, result in zip(todo, _run_probes(tasks, jobs, progress), strict=True):
            probes[n] = replace(result, why=f"round {rounds}: {counts[n]}")

    k = max(1, jobs)
    lo = 0  # zero servers carry nothing
    hi: int | None = None
    candidates = sorted({min(max_servers, math.ceil(roofline * 1.5**i)) for i in range(k)})
    run({n: "the roofline's bound" if n == roofline else "the roofline's bound × 1.5" for n in candidates})
    if probes[roofline].met:
        # the roofline bound is met: a loose target lets the backlog run into the night and the
        # drain day; walk down (1, 2, 4, … fewer) until a fleet misses
        hi, step = roofline, 1
        while hi > 1:
            downs = sorted({max(1, hi - step * 2**i) for i in range(k)})
            run(dict.fromkeys(downs, "walking down: a loose target lets a smaller fleet work into the night"))
            missed = [n for n in downs if not probes[n].met]
            hi = min([n for n in downs if probes[n].met], default=hi)
            if missed:
                lo = max(missed)
                break
            step *= 2**k
    while hi is None:
        met = [n for n in candidates if probes[n].met]
        if met:
            hi = min(met)
            lo = max([n for n in probes if n < hi and not probes[n].met], default=lo)
            break
        lo = max(candidates)
        if lo >= max_servers:
            break
        grown = [min(max_servers, math.ceil(lo * 1.5**i)) for i in range(1, k + 1)]
        candidates = sorted({n for n in grown if n > lo})
        run(dict.fromkeys(candidates, "galloping up (× 1.5): every fleet tried missed"))
    narrowing = 0
    while hi is not None and hi - lo > 1:
        if lo in probes:  # a miss to interpolate from; with one probe a round, every other round bisects
            run(_guided(probes[lo], probes[hi], target, k, guide=k > 1 or narrowing % 2 == 0))
        else:
            run(dict.fromkeys(_interior(lo, hi, k), "bisecting"))
        narrowing += 1
        met = [n for n in probes if lo < n < hi and probes[n].met]
        missed = [n for n in probes if lo < n < hi and not probes[n].met]
        new_hi = min(met, default=hi)
        lo = max([n for n in missed if n < new_hi], default=lo)
        hi = new_hi
    ordered = tuple(probes[n] for n in sorted(probes))
    if hi is None:
        reason = f"even {max_servers} servers miss the target"
    elif hi == 1:
        reason = "one server meets the target"
    else:
        reason = f"{hi} servers meet the target and {hi - 1} do not"
    return FleetSize(name, sized, target, hi, roofline, floor, ordered, reason)


def knee(
    config: Configuration,
    target: Target,
    *,
    seed: int | None = None,
    days: int | None = None,
    rel_tol: float = 0.03,
    max_scale: float = 64.0,
    jobs: int = 1,
    progress: SizingProgress | None = None,
    floor: Probe | None = None,
    known: dict[float, Probe] | None = None,
) -> Knee:
    """The largest demand scale the plan carries within ``target``, to a relative ``rel_tol``.

    The first guess is 0.8 × the roofline's (servers × one server's full-batch throughput ÷
    demand) when the plan is all GPU pools, else the scenario's own demand; the search gallops
    (× 1.25, then squaring the step) until a scale misses and one meets, then bisects on a log
    scale (``jobs`` > 1: that many probes a round, in parallel).

    ``known`` holds the probes already simulated of this configuration, seed and horizon, by
    demand scale, whatever target judged them (:func:`knees` shares one between targets): a
    scale found there is judged against ``target`` without a new run (its ``wall_time_s`` is
    then 0), and each new probe is added to it. The search and its answer are the same as
    without it.
    """
    sc = config.scenario
    memo: dict[float, Probe] = {} if known is None else known
    if floor is None:
        scale = min(1.0, FLOOR_INTERVIEWS / sc.demand.interviews)
        if scale in memo:
            floor = _judged(memo[scale], target)
        else:
            floor = latency_floor(config, target, seed=seed, days=days, progress=progress)
    memo.setdefault(floor.scale, floor)
    servers = sum(p.servers for p in sc.gpu_pools)
    if not floor.met:
        return Knee(
            sc.name,
            target,
            None,
            None,
            floor.scale,
            floor,
            (),
            f"not even a trickle of demand meets the target (p95 turn latency "
            f"{floor.p95_turn_latency_s:.1f} s, p95 time to first token {floor.p95_ttft_s:.2f} s)",
        )
    guess, guessed_by = 1.0, "the scenario's demand"
    if sc.gpu_pools and all(d.pool is not None for d in sc.routing.all_destinations):
        capacity = sum(p.servers * roofline_interviews_per_day(config, p) for p in sc.gpu_pools)
        guess, guessed_by = 0.8 * capacity / need_per_interviewing_day(config), "0.8 of the roofline's capacity"
    guess = min(max_scale, max(floor.scale, guess))
    probes: dict[float, Probe] = {floor.scale: floor}
    rounds = 0

    def run(scales: list[float], why: str) -> None:
        """One round: simulate each scale not simulated yet (``why``: the rule that chose them)."""
        nonlocal rounds
        rounds += 1
        todo = [s for s in dict.fromkeys(scales) if s not in probes]
        for s in todo:
            if s in memo:
                probes[s] = _judged(memo[s], target)
        todo = [s for s in todo if s not in probes]
        tasks = [
            ProbeTask(scale_demand(config, s), target, servers, s, seed, days, f"demand × {s:.3g}") for s in todo
        ]
        for s, result in zip(todo, _run_probes(tasks, jobs, progress), strict=True):
            probes[s] = memo[s] = replace(result, why=f"round {rounds}: {why}")

    k = max(1, jobs)
    lo: float = floor.scale
    hi: float | None = None
    run([guess], f"the first guess: {guessed_by}")
    if probes[guess].met:
        lo, step = guess, 1.25
        while hi is None and lo < max_scale:
            ups = [min(max_scale, lo * step ** (i + 1)) for i in range(k)]
            run(ups, "galloping up: every demand tried was carried")
            missed = [s for s in ups if not probes[s].met]
            hi = min(missed, default=None)
            lo = max([s for s in ups if probes[s].met and (hi is None or s < hi)], default=lo)
            step *= step
    else:
        hi, step = guess, 1.25
        while True:
            downs = [hi / step ** (i + 1) for i in range(k)]
            downs = [s for s in downs if s > floor.scale] or [floor.scale]
            run(downs, "galloping down: every demand tried missed")
            met = [s for s in downs if probes[s].met]
            if met:
                lo = max(met)
                hi = min([s for s in downs if not probes[s].met and s > lo], default=hi)
                break
            hi = min(downs)
            if hi <= floor.scale:
                break
            step *= step
    while hi is not None and hi / lo > 1 + rel_tol and lo < hi:
        ratio = hi / lo
        mids = [lo * ratio ** (i / (k + 1)) for i in range(1, k + 1)]
        run(mids, "bisecting (on a log scale)")
        met = [s for s in mids if probes[s].met]
        missed = [s for s in mids if not probes[s].met]
        lo = max(met, default=lo)
        hi = min([s for s in missed if s > lo], default=hi)
    ordered = tuple(sorted(probes.values(), key=lambda p: p.scale))
    best = knee_of(ordered, lambda p: p.met) or floor
    if hi is None:
        reason = f"every demand up to × {max_scale:g} meets the target"
    else:
        reason = f"demand × {best.scale:.3g} meets the target and × {hi:.3g} does not"
    return Knee(sc.name, target, best.scale, best.offered_per_day, hi, floor, ordered, reason)


def knees(
    config: Configuration,
    targets: tuple[Target, ...],
    *,
    seed: int | None = None,
    days: int | None = None,
    rel_tol: float = 0.03,
    progress: SizingProgress | None = None,
) -> tuple[Knee, ...]:
    """The :func:`knee` of one plan at each of ``targets``, one after the other, sharing their runs.

    A demand scale is simulated once whichever target's search asks for it first (the latency
    floor, the first guess and the galloping steps often coincide); each knee is the one
    :func:`knee` finds alone.
    """
    known: dict[float, Probe] = {}
    return tuple(
        knee(config, target, seed=seed, days=days, rel_tol=rel_tol, progress=progress, known=known)
        for target in targets
    )


def _judged(probe: Probe, target: Target) -> Probe:
    """A probe already simulated, judged against ``target`` (no simulation time spent on it again)."""
    met = target.met(probe.carried_share, probe.p95_turn_latency_s, probe.p95_ttft_s)
    why = f"{probe.why} of another target's search" if probe.why else ""
    return replace(probe, met=met, wall_time_s=0.0, why=why)
