"""When interviews start: business hours in the candidates' time zones, on the scenario's days.

Run time 0 is 00:00 UTC of ``calendar.start_date``. Each candidate lives in one time zone
(drawn by the zones' shares) and is interviewed only inside that zone's business hours on
business days (weekdays, unless ``weekdays_only`` is off); the start hour follows the
``hourly_profile`` (flat if absent), uniformly within the hour.

A *session* is a run of one candidate's interviews that follow each other: with
``spacing: spread`` every interview is its own session, on its own day (a candidate's
interviews spread evenly over the horizon's business days); with ``same_day`` a candidate's
interviews run back to back in one session, its first start drawn so that the whole run
fits the business day where it can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from capacity.config.scenario import Calendar, Scenario
from capacity.units import DAY_S, DAYS_PER_MONTH, HOUR_S


@dataclass(frozen=True)
class Sessions:
    """Interview sessions sorted by start time (arrays of equal length)."""

    start_s: NDArray[np.float64]  # seconds since run start
    candidate: NDArray[np.int64]
    interviews: NDArray[np.int64]  # interviews run back to back in the session

    @property
    def total_interviews(self) -> int:
        """Interviews over all sessions."""
        return int(self.interviews.sum())

    def __len__(self) -> int:
        return len(self.start_s)


def run_start(calendar: Calendar) -> dt.datetime:
    """The wall-clock instant of run time 0 (00:00 UTC on the start date)."""
    return dt.datetime.combine(calendar.start_date, dt.time(0, 0), tzinfo=dt.UTC)


def business_days(calendar: Calendar, days: int) -> list[int]:
    """Day offsets (0-based) in ``[0, days)`` on which interviews happen."""
    out = []
    for d in range(days):
        date = calendar.start_date + dt.timedelta(days=d)
        if not calendar.weekdays_only or date.weekday() < 5:
            out.append(d)
    return out


def interviewing_days(calendar: Calendar, days: int) -> int:
    """Days with interviews in the first ``days`` days of ``calendar``, at least 1.

    The divisor of every "per interviewing day" figure: at least 1 so that a run of weekend
    days only divides by one day (its figures are then per day of the run) rather than by zero.
    """
    return max(1, len(business_days(calendar, days)))


def interviewing_days_per_month(calendar: Calendar) -> int:
    """Interviewing days in a month of ``calendar``: its interviewing days in the first 30 days.

    The one month basis of every monthly figure (a cost a month, interviews a month, monthly
    quotas spread over a month): 22 for a weekday calendar starting on a Monday, 30 for a
    calendar of every day. A month is :data:`~capacity.units.DAYS_PER_MONTH` (30) days from the
    calendar's start date, not the calendar month it falls in.
    """
    return interviewing_days(calendar, round(DAYS_PER_MONTH))


def _business_start_s(calendar: Calendar, day: int, timezone: str) -> float:
    """Run time of the local business-day start on ``day`` in ``timezone``, s."""
    date = calendar.start_date + dt.timedelta(days=day)
    local = dt.datetime.combine(date, calendar.business_hours_start, tzinfo=ZoneInfo(timezone))
    return (local - run_start(calendar)).total_seconds()


def active_hours_per_day(calendar: Calendar) -> float:
    """Hours of the (first business) day on which some time zone is interviewing, h.

    Per-minute limits can be spent only during these hours: an RPM of R carries at most
    R · 60 · active hours requests a day.
    """
    days = business_days(calendar, 7) or [0]
    length = calendar.business_hours * HOUR_S
    spans = sorted(
        (start, start + length)
        for tz in calendar.timezones
        for start in [_business_start_s(calendar, days[0], tz.timezone)]
    )
    covered, end = 0.0, -np.inf
    for a, b in spans:
        if b > end:
            covered += b - max(a, end)
            end = b
    return covered / HOUR_S


def need_interviews_per_day(scenario: Scenario) -> float:
    """Interviews a day the plan must carry, averaged over calendar days (A: 50,000/30)."""
    demand = scenario.demand
    return demand.interviews / demand.days if demand.kind == "total" else float(demand.interviews)


def _hour_cdf(calendar: Calendar) -> NDArray[np.float64]:
    profile = np.asarray(calendar.hourly_profile or [1.0] * calendar.business_hours, dtype=float)
    cdf: NDArray[np.float64] = np.cumsum(profile) / profile.sum()
    return cdf


def _time_of_day_s(calendar: Calendar, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """Offsets from the business-day start, drawn from the hourly profile, s."""
    hours = np.searchsorted(_hour_cdf(calendar), rng.random(n), side="right")
    return (hours + rng.random(n)) * HOUR_S


def build_sessions(scenario: Scenario, rng: np.random.Generator, interview_span_s: float) -> Sessions:
    """Draw every interview session of the horizon.

    ``interview_span_s`` is the expected length of one interview plus the gap to the next,
    used to fit a ``same_day`` run of interviews inside the business day.
    """
    cal, cand, demand = scenario.calendar, scenario.candidates, scenario.demand
    days = business_days(cal, demand.days)
    if not days:
        empty = np.zeros(0)
        return Sessions(empty, empty.astype(np.int64), empty.astype(np.int64))
    zones = [z.timezone for z in cal.timezones]
    shares = np.asarray([z.share for z in cal.timezones], dtype=float)
    offsets = np.asarray([[_business_start_s(cal, d, z) for z in zones] for d in days])  # [day, zone]
    day_length = cal.business_hours * HOUR_S
    each = cand.interviews_each
    # per_day demand repeats the same candidates every business day; total spreads them once
    rounds = len(days) if demand.kind == "per_day" else 1
    per_round = demand.interviews  # interviews in one round (the horizon, or one day)
    n_candidates = -(-per_round // each)
    zone_of = rng.choice(len(zones), size=n_candidates, p=shares / shares.sum())

    starts: list[NDArray[np.float64]] = []
    who: list[NDArray[np.int64]] = []
    runs: list[NDArray[np.int64]] = []
    for r in range(rounds):
        counts = np.full(n_candidates, each, dtype=np.int64)
        counts[-1] = per_round - each * (n_candidates - 1)  # the last candidate takes the remainder
        if cand.spacing == "spread":
            day_pool = [days[r]] if demand.kind == "per_day" else days
            nb = len(day_pool)
            phase = rng.random(n_candidates)
            idx_c = np.repeat(np.arange(n_candidates), counts)
            j = np.concatenate([np.arange(c) for c in counts])
            slot = np.floor((j + phase[idx_c]) * nb / counts[idx_c]).astype(np.int64) % nb
            day_index = np.asarray([days.index(d) for d in day_pool])[slot]
            t = offsets[day_index, zone_of[idx_c]] + _time_of_day_s(cal, rng, len(idx_c))
            starts.append(t)
            who.append(idx_c)
            runs.append(np.ones(len(idx_c), dtype=np.int64))
        else:
            if demand.kind == "per_day":
                day_index = np.full(n_candidates, r)
            else:
                day_index = rng.permutation(np.arange(n_candidates) % len(days))
            span = (counts - 1) * interview_span_s
            window = np.clip(day_length - span, 0.0, day_length)
            t = offsets[day_index, zone_of] + _time_of_day_s(cal, rng, n_candidates) * (window / day_length)
            starts.append(t)
            who.append(np.arange(n_candidates, dtype=np.int64))
            runs.append(counts)
    start = np.concatenate(starts)
    order = np.argsort(start, kind="stable")
    return Sessions(start[order], np.concatenate(who)[order], np.concatenate(runs)[order])


def horizon_s(scenario: Scenario) -> float:
    """Length of the demand horizon, s."""
    return scenario.demand.days * DAY_S


def plan_arrivals(
    scenario: Scenario,
    rng: np.random.Generator,
    interview_span_s: float,
    days: int,
    max_interviews: int | None = None,
) -> Sessions:
    """The sessions a run of ``days`` days starts, in start order.

    A run shorter than the scenario (``days`` < ``demand.days``) keeps the sessions that start
    in its days — a per-day demand is drawn for those days only; a full run keeps all (the last
    day's western time zones start after 24:00 UTC). ``max_interviews`` keeps the first sessions
    up to that many interviews (the last one shortened): a short live rehearsal and the
    simulation it is checked against then run exactly the same candidates.
    """
    demand = scenario.demand
    shortened = days < demand.days
    if shortened and demand.kind == "per_day":
        scenario = scenario.model_copy(update={"demand": demand.model_copy(update={"days": days})})
    sessions = build_sessions(scenario, rng, interview_span_s)
    keep = sessions.start_s < (days * DAY_S if shortened else np.inf)
    start, candidate, interviews = sessions.start_s[keep], sessions.candidate[keep], sessions.interviews[keep]
    if max_interviews is not None:
        total = np.cumsum(interviews)
        n = int(np.searchsorted(total, max_interviews, side="left")) + 1
        start, candidate, interviews = start[:n], candidate[:n], interviews[:n].copy()
        if len(interviews) and total[len(interviews) - 1] > max_interviews:
            interviews[-1] -= int(total[len(interviews) - 1] - max_interviews)
    return Sessions(start, candidate, interviews)


def days_spanned(start_s: Sequence[float] | NDArray[np.float64]) -> int:
    """Calendar days (run days, from 00:00 UTC) from the first start to the last, inclusive (1 if none)."""
    if len(start_s) == 0:
        return 1
    return int(max(start_s) // DAY_S) - int(min(start_s) // DAY_S) + 1
