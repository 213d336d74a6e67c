"""One fluid step in detail (capacity.sim.fluid_quota, capacity.sim.fluid_cooldown): passes that admit
out of time order, the reservation checked on short windows, cool-downs after failed calls, and a
minute met in parts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.cli.common import load
from capacity.errors import UsageError
from capacity.metrics.recorder import Recorder
from capacity.policy.ledger import AccountQuota
from capacity.policy.windows import QuotaWindow, RollingWindow, TokenBucket
from capacity.sim.fluid import simulate_fluid
from capacity.sim.fluid_cooldown import CoolDowns
from capacity.sim.fluid_quota import MEASURES, StepLog, admit_account
from capacity.units import MINUTE_S, Measure

NOW = 600.0


def _windows(level: float, earlier: list[tuple[float, float]]) -> list[QuotaWindow]:
    """A daily token bucket at ``level`` at run time 600 s and a rolling minute of 6,000 tokens holding
    ``earlier`` charges (time, tokens): Groq's free-tier token limits."""
    bucket = TokenBucket("tpd", Measure.TOKENS, 500_000, 86_400)
    bucket.take(NOW, 500_000 - level)
    minute = RollingWindow("tpm", Measure.TOKENS, 6_000, 60)
    for t, amount in earlier:
        minute.take(t, amount)
    return [bucket, minute]


def _charges(tokens: list[float]) -> np.ndarray:
    charges = np.zeros((len(MEASURES), len(tokens)))
    charges[MEASURES.index(Measure.REQUESTS)] = 1.0
    charges[MEASURES.index(Measure.TOKENS)] = tokens
    return charges


_line = st.lists(st.tuples(st.floats(0.0, 59.9), st.floats(300.0, 4_500.0)), min_size=1, max_size=15)


@settings(max_examples=25, deadline=None)
@given(
    level=st.floats(0.0, 12_000.0),
    earlier=st.lists(st.tuples(st.floats(541.0, 600.0), st.floats(100.0, 3_000.0)), max_size=4),
    first=_line,
    second=_line,
)
def test_a_later_pass_admits_at_earlier_instants_within_every_limit(
    level: float, earlier: list[tuple[float, float]], first: list[tuple[float, float]],
    second: list[tuple[float, float]],
) -> None:
    """A second pass over a step (turns that follow others at once) may admit at instants before the
    first pass's admissions: taken in time order one at a time on the policy's own windows, every
    admission of both passes still fits — the bucket never runs dry, the rolling minute never overflows."""
    earlier.sort()
    windows = _windows(level, earlier)
    account = AccountQuota(windows, None, refundable=False)
    held: dict[QuotaWindow, StepLog] = {}
    admitted: list[tuple[float, float]] = []
    for line in (sorted(first), sorted(second)):
        times = np.array([NOW + t for t, _ in line])
        tokens = [amount for _, amount in line]
        charges = _charges(tokens)
        selected, charged = admit_account(account, NOW, times, charges, charges, 1.0, Recorder(86_400.0), {},
                                          held=held)
        for w, window in enumerate(windows):  # logged as the fluid engine logs them, charged at the step's end
            held[window].add(times[selected].tolist(), charged[w].tolist())
        admitted += [(float(times[i]), tokens[i]) for i in selected.tolist()]
    fresh = _windows(level, earlier)
    for t, amount in sorted(admitted):
        assert all(w.fits(t, amount if w.measure is Measure.TOKENS else 1.0) for w in fresh), (t, amount)
        for w in fresh:
            w.take(t, amount)


def test_a_short_window_checks_the_reservation_not_the_use() -> None:
    """The exact ledger admits on input + max_tokens and refunds the unused output when the call ends:
    a rolling minute with 1,000 tokens of room refuses a request reserving 1,100 that will use 900 —
    until the earlier charge leaves."""
    minute = RollingWindow("tpm", Measure.TOKENS, 6_000, 60)
    minute.take(NOW - 30.0, 5_000)
    account = AccountQuota([minute], None, refundable=True)
    reserved, used = _charges([1_100.0]), _charges([900.0])
    for at, expected in [(NOW + 1.0, []), (NOW + 31.0, [0])]:
        selected, charged = admit_account(
            account, NOW, np.array([at]), reserved, used, 1.0, Recorder(86_400.0), {}, held={}
        )
        assert selected.tolist() == expected
    assert charged.tolist() == [[900.0]]  # what stays charged is what the call used


def test_a_failed_call_pauses_its_destination_for_the_cool_down() -> None:
    cool = CoolDowns(2, 5.0)
    at = np.array([0.0, 1.0, 3.0, 4.0, 6.4, 10.0])
    fails = np.array([False, True, False, False, False, False])
    keep = cool.pass_over(0, at, fails, 0.5, hold=False)  # fails at 1.5 s: paused until 6.5 s
    assert keep.tolist() == [True, True, False, False, False, True]
    assert cool.cooling(0, np.array([1.4, 1.5, 6.49, 6.5])).tolist() == [False, True, True, False]
    assert math.isclose(cool.open_share(0, 0.0), 1 - 5.0 / MINUTE_S)
    assert cool.open_share(1, 0.0) == 1.0
    # waiting turns are served at instants not followed: the pause is kept, nothing passed over
    assert cool.pass_over(0, at, fails, 0.5, hold=True).all()
    cool.forget(7.0)
    assert cool.spans == [[], []]


def test_the_last_destination_open_is_never_paused() -> None:
    """As the exact router: with every other destination cooling down there is nowhere better to go."""
    cool = CoolDowns(2, 5.0)
    assert cool.fail(1, 0.0)
    assert not cool.fail(0, 2.0)  # destination 1 is paused until 5 s
    assert cool.fail(0, 5.0)
    assert not CoolDowns(2, 0.0).fail(0, 0.0)  # no cool-down configured


def test_a_minute_in_parts_changes_nothing_where_no_quota_binds() -> None:
    """Parts only matter while a window refuses: on a paid tier every minute is met in one pass."""
    config = load("A-paid", None, None)
    whole = simulate_fluid(config, days=1, max_interviews=120, parts=1)
    parts = simulate_fluid(config, days=1, max_interviews=120, parts=6)
    assert parts.carried == whole.carried
    assert [d.requests for d in parts.destinations] == [d.requests for d in whole.destinations]
    assert [d.tokens_in for d in parts.destinations] == [d.tokens_in for d in whole.destinations]
    with pytest.raises(UsageError, match="parts"):
        simulate_fluid(config, days=1, max_interviews=10, parts=0)


def test_a_minute_in_parts_conserves_interviews_and_daily_limits() -> None:
    config = load("A", None, None)
    result = simulate_fluid(config, days=1, max_interviews=400, parts=6)
    iv = result.interviews
    assert iv.requested == iv.completed + iv.degraded + iv.failed + iv.unfinished == 400
    assert result.requests.api_calls == sum(d.requests for d in result.destinations)
    for dest in result.destinations:
        for window in dest.windows:
            if window.name == "rpd":
                assert dest.requests <= window.limit * dest.accounts
