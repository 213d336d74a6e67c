"""How long a quota window was full: the measure that names what binds (issue 11, case 6).

A window is full from a refusal until the instant it said it could admit that request again,
or until it admits another request, whichever comes first; stretches merge. These tests hold
:class:`~capacity.metrics.recorder.WindowStats` to that definition, computed independently.
"""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from capacity.metrics.recorder import WindowStats
from capacity.units import HOUR_S


def test_overlapping_refusals_merge_and_an_admission_ends_the_stretch() -> None:
    w = WindowStats()
    w.record_block(100.0, 160.0)  # full [100, 160)
    w.record_block(130.0, 200.0)  # extends it to 200
    w.record_use(180.0, 0.5)  # but an admission at 180 proves room: [100, 180)
    w.record_block(500.0, 560.0)  # a second stretch, [500, 560)
    w.close_full(10_000.0)
    assert w.full_s == 80.0 + 60.0
    assert w.first_blocked_s == 100.0


def test_a_stretch_is_split_over_the_hours_it_covers() -> None:
    w = WindowStats()
    w.record_block(HOUR_S - 600.0, 2 * HOUR_S + 300.0)  # 10 min of hour 0, all of hour 1, 5 min of hour 2
    w.close_full(10 * HOUR_S)
    assert w.hourly_full_s == {0: 600.0, 1: HOUR_S, 2: 300.0}
    assert w.full_s == 600.0 + HOUR_S + 300.0


def test_a_concurrency_refusal_lasts_until_a_slot_frees_or_the_end_of_the_run() -> None:
    w = WindowStats()
    w.record_block(10.0, math.inf)  # no slot: only a freed slot helps
    w.record_use(25.0, 0.5)  # a slot freed (the ledger notes the slots' use at each release)
    w.record_block(40.0, math.inf)
    w.close_full(100.0)  # the run ended with the slots still taken
    assert w.full_s == 15.0 + 60.0


events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=5 * HOUR_S),
        st.one_of(st.none(), st.floats(min_value=0.0, max_value=2 * HOUR_S), st.just(math.inf)),
    ),
    max_size=40,
)


@given(events, st.floats(min_value=0.0, max_value=8 * HOUR_S))
def test_full_time_is_the_measure_of_the_refusals_stretches(
    raw: list[tuple[float, float | None]], after: float
) -> None:
    """Events in time order — a refusal at t until t + d (d = None: an admission at t) — and the
    run's end ``after`` the last event. The full time is the length of
    ∪ [t_i, min(t_i + d_i, next admission after i, end)), computed on a grid of the events' own
    instants; the hourly split adds up to it."""
    timeline = sorted(raw, key=lambda e: e[0])
    end = (timeline[-1][0] if timeline else 0.0) + after
    w = WindowStats()
    for t, d in timeline:
        if d is None:
            w.record_use(t, 0.1)
        else:
            w.record_block(t, t + d)
    w.close_full(end)
    stretches = []
    for i, (t, d) in enumerate(timeline):
        if d is None:
            continue
        cut = next((u for u, e in timeline[i + 1 :] if e is None), math.inf)
        stretches.append((t, min(t + d, cut, end)))
    edges = sorted({x for s in stretches for x in s if math.isfinite(x)})
    expected = sum(
        b - a for a, b in itertools.pairwise(edges) if any(s <= a and b <= e for s, e in stretches)
    )
    assert math.isclose(w.full_s, expected, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(sum(w.hourly_full_s.values()), w.full_s, rel_tol=1e-9, abs_tol=1e-6)
    assert w.full_s <= end + 1e-6
