"""What binds is the window full the longest, not the one refused most often (issue 11, case 6).

The issue's case: Gemini 2.5 Flash-Lite (15 RPM, 1,000 RPD) was reported as bound by its RPM
"with 630,078 refusals" while its daily 1,000 requests ran out and bound it for the rest of each
day. A refusal count says little — a turn waiting for quota is refused again at every check —
so the run reports the time each window was full, and names the longest-full one.
"""

from __future__ import annotations

import pytest
from simkit import build, check_conservation, demand, destinations, hours, provider

from capacity.config.loader import load_configuration
from capacity.config.paths import default_providers_path, scenario_path
from capacity.report.verdict import binding_windows, clock
from capacity.sim.model import simulate
from capacity.units import DAY_S, HOUR_S


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


@pytest.mark.month
def test_scenario_a_names_flash_lite_daily_requests_and_mistral_monthly_tokens() -> None:
    """The issue's case, on scenario A as shipped (30 days, its own seed; 2–4 minutes, so
    run on demand: ``pytest -m month``; the hand-computed case above runs every time).

    Gemini 2.5 Flash-Lite (15 RPM, 1,000 RPD reset at 00:00 Pacific = 07:00 UTC): its RPM
    refuses first, when the faster destinations above it are full (day 1 13:30 UTC), but 1,000
    requests at 15 a minute last at least 66.7 minutes, and its day is spent at 14:46 UTC; from
    then until 07:00 UTC it is full — about 16 of every 24 hours on each of the run's 22
    weekdays, 22 × 16 h ÷ 723 h ≈ 49 % of the run: RPD binds.

    Mistral (1 request a second, 1,000,000,000 tokens a month, its window's kind not stated by
    the provider, so counted as rolling 30 days — the safe default): at one request a second in
    business hours, about 65 M tokens a weekday, the month's tokens run out after 15 weekdays
    and a part: Monday 27 October (day 22) 18:49 UTC, 11:49 in Los Angeles. Nothing it took
    leaves a 30-day window before the run ends, so it is full from then to the end:
    (2,602,800 s − 21 days 18:49) ÷ 2,602,800 s = 27.7 %, more than its per-second window's 17 %.
    """
    config = load_configuration(scenario_path("A"), default_providers_path())
    result = simulate(config)
    by_name = {d.name: d for d in result.destinations}

    flash = by_name["gemini/gemini-2.5-flash-lite"]
    windows = {w.name: w for w in flash.windows}
    assert flash.binding_window == "rpd"
    rpm, rpd = windows["rpm"], windows["rpd"]
    assert rpm.first_blocked_s is not None and rpd.first_blocked_s is not None
    assert rpd.first_blocked_s - rpm.first_blocked_s >= 1000 / 15 * 60 - 60  # 1,000 at ≤ 15 a minute
    assert clock(rpd.first_blocked_s) == "day 1 14:46 UTC"
    assert 0.40 < rpd.full_share < 0.55
    assert rpd.full_s > 10 * rpm.full_s

    mistral = by_name["mistral/mistral-small-latest"]
    windows = {w.name: w for w in mistral.windows}
    monthly = windows["tokens_per_month"]
    assert mistral.binding_window == "tokens_per_month"
    assert mistral.binding_from_s == monthly.first_blocked_s
    assert monthly.first_blocked_s is not None
    monday_27 = 21 * DAY_S  # day 22, 00:00 UTC
    assert monday_27 + 13 * HOUR_S <= monthly.first_blocked_s < monday_27 + 25 * HOUR_S  # its business hours
    assert clock(monthly.first_blocked_s) == "day 22 18:49 UTC"
    assert monthly.full_s == pytest.approx(result.horizon_s - monthly.first_blocked_s, abs=60.0)
    assert monthly.full_share > windows["rps"].full_share
    tokens = mistral.tokens_in + mistral.tokens_out
    assert 0.99e9 < tokens <= 1e9  # the month's allowance, nothing of it renewed within the run
