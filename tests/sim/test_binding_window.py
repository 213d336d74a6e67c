"""What binds is the window full the longest, not the one refused most often (issue 11, case 6).

The issue's case: Gemini 2.5 Flash-Lite (15 RPM, 1,000 RPD) was reported as bound by its RPM
"with 630,078 refusals" while its daily 1,000 requests ran out and bound it for the rest of each
day. A refusal count says little — a turn waiting for quota is refused again at every check —
so the run reports the time each window was full, and names the longest-full one.
"""

from __future__ import annotations

import pytest
from simkit import build, check_conservation, demand, destinations, hours, provider

from capacity.report.verdict import binding_windows
from capacity.sim.model import simulate


def test_a_daily_request_cap_binds_after_the_minute_cap_refused_first() -> None:
    """1,800 one-turn interviews 09:00–10:00 UTC (30 a minute) against 15 RPM (rolling) and
    100 RPD (reset at 00:00 UTC), turns that find no room failing at once.

    Hand arithmetic: 15 a minute admits the first 15 within the first minute, so RPM refuses
    first, seconds after 09:00. 100 requests at most 15 per rolling minute need more than six
    minutes (6 × 15 = 90 < 100): RPD cannot run out before 09:06 — and at 30 arrivals a minute
    each freed RPM slot is taken within seconds, so it runs out before 09:08. From then on RPD
    is full to the end of the run (its reset is at midnight), while RPM was full only in short
    stretches before: RPD binds."""
    config = build(
        [
            provider(
                "p0",
                limits={"rpm": 15, "rpd": 100},
                resets={"day": {"kind": "fixed", "at": "00:00", "timezone": "UTC"}},
            )
        ],
        demand(1800),
        hours("09:00", "10:00"),
        destinations("p0", on_exhausted="fail"),
    )
    result = simulate(config)
    check_conservation(result)
    (dest,) = result.destinations
    assert dest.requests == 100
    rpm, rpd = dest.windows
    assert (rpm.name, rpd.name) == ("rpm", "rpd")
    assert rpm.first_blocked_s is not None and rpd.first_blocked_s is not None
    nine = 9 * 3600.0
    assert nine <= rpm.first_blocked_s < nine + 60.0
    assert nine + 6 * 60.0 <= rpd.first_blocked_s < nine + 8 * 60.0
    assert rpd.full_s == pytest.approx(result.horizon_s - rpd.first_blocked_s)
    assert rpm.full_s < 8 * 60.0  # full only in stretches before RPD ran out
    assert dest.binding_window == "rpd"
    assert dest.binding_from_s == rpd.first_blocked_s
    assert dest.router_refusals == 1800 - 100  # each failed turn asked once: a check, named as such
    ((name, window, since),) = binding_windows(result)
    assert (name, window.name, since) == ("p0/m", "rpd", rpd.first_blocked_s)
