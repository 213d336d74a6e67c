"""Queueing theory holds in the simulator: Erlang C for an M/M/c provider, Little's law.

*Erlang C.* A provider whose only limit is ``concurrent_requests: c`` is a c-server station;
turns beyond c wait in the model's one FIFO quota queue. With one-turn interviews whose
starts are a Poisson process and exponential service times, that is an M/M/c queue, and
the mean wait over all turns must match W_q = C(c, A) / (cμ − λ).

- Arrivals: N one-turn interviews start uniformly at random within the business hours (one
  time zone, flat profile). N uniform points on an interval are a Poisson process conditioned
  on its count, at rate λ = N / length.
- Service: a provider call lasts ttft + output tokens ÷ tokens/s. The stage writes 0 tokens
  (a constant), so the service time is the TTFT alone, drawn *exponential* with mean 1/μ: an
  exact exponential (an exponential token count would be rounded to integers, and the
  reciprocal of an exponential speed is not exponential).
- No deadline is reached (10⁷ s), no errors: every turn is served.

The run starts empty, so its first minute or so (the relaxation time of the queue) waits less
than the steady state; over an hour or two of arrivals this biases the mean wait down by
about 1%, well inside the replications' 95% interval (about ±9% with 8 replications).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from simkit import build, check_conservation, const, demand, expo, hours, provider

from capacity.plan.erlang import erlang_c, mean_wait_s
from capacity.sim.model import simulate
from capacity.studies.replications import confidence_interval, replicate


@pytest.mark.parametrize(
    ("servers", "arrival_rate_per_s", "service_rate_per_s", "hours_open"),
    [
        (4, 3.0, 1.0, 1),  # M/M/4 at ρ = 0.75: C = 0.509, W_q = 0.509 s; 10,800 turns
        (1, 1.5, 2.0, 2),  # M/M/1 at ρ = 0.75: C = 0.75, W_q = 1.5 s; 10,800 turns
    ],
)
def test_mmc_provider_waits_as_erlang_c(
    servers: int, arrival_rate_per_s: float, service_rate_per_s: float, hours_open: int
) -> None:
    turns = round(arrival_rate_per_s * 3600 * hours_open)
    config = build(
        [provider("p0", limits={"concurrent_requests": servers}, ttft=expo(1 / service_rate_per_s))],
        demand(turns),
        hours("09:00", f"{9 + hours_open:02d}:00"),
    )
    runs = replicate(config, 8)
    for run in runs:
        check_conservation(run)
        assert run.interviews.completed == turns  # nobody failed: the comparison is over all turns
        assert run.queue_wait_s.count == turns

    # mean wait over all turns, those served at once included (as Erlang C's W_q)
    wait = confidence_interval([r.queue_wait_s.mean for r in runs])
    expected = mean_wait_s(arrival_rate_per_s, service_rate_per_s, servers)
    assert wait.low <= expected <= wait.high, (wait, expected)
    assert wait.half_width < 0.15 * expected  # the interval is narrow enough to mean something

    # the waiting time's tail: P(W > t) = C · exp(−(cμ − λ) t), so its 95th percentile is
    # ln(C / 0.05) / (cμ − λ) (the histogram adds ±1.2%, far less than the interval)
    c = erlang_c(servers, arrival_rate_per_s / service_rate_per_s)
    p95 = confidence_interval([r.queue_wait_s.p95 for r in runs])
    expected_p95 = math.log(c / 0.05) / (servers * service_rate_per_s - arrival_rate_per_s)
    assert p95.low <= expected_p95 <= p95.high, (p95, expected_p95)

    # Little's law on the queue: turns waiting, sampled at the end of each minute of the
    # arrival window (after 2 minutes of warm-up), average λ·W_q (the samples are few and
    # noisy: the interval is about ±25%)
    first, last = 9 * 60 + 2, (9 + hours_open) * 60
    queued = confidence_interval([float(np.mean(r.timeseries.queued_turns[first:last])) for r in runs])
    assert queued.low <= arrival_rate_per_s * expected <= queued.high, (queued, arrival_rate_per_s * expected)

    # service time = interview duration − wait (one turn, no think time): mean 1/μ
    service = confidence_interval([r.interview_duration_s.mean - r.queue_wait_s.mean for r in runs])
    assert service.low <= 1 / service_rate_per_s <= service.high, service


def test_accounts_pool_their_slots() -> None:
    """Two accounts of two slots each are one M/M/4 station: a turn takes a free slot on any
    account. With the same random streams the waits are those of one account of four slots,
    bit for bit."""
    runs = []
    for slots, accounts in [(4, 1), (2, 2)]:
        config = build(
            [provider("p0", limits={"concurrent_requests": slots}, accounts=accounts, ttft=expo(1.0))],
            demand(10_800),
        )
        runs.append(simulate(config))
    assert runs[0].queue_wait_s == runs[1].queue_wait_s
    assert runs[0].queue_wait_s.mean > 0.3  # the slots were contended
    windows = runs[1].destinations[0].windows
    assert [(w.name, w.limit, w.peak_fraction) for w in windows] == [("concurrent_requests", 2.0, 1.0)]


def test_littles_law_on_interviews_in_flight() -> None:
    """L = λ·W: the time-average number of interviews in progress equals the start rate times
    the mean interview duration.

    4,000 interviews start uniformly over 08:00–16:00 (λ ≈ 0.139/s); each is 5 turns with an
    exponential 60 s think time before 4 of them, on a provider with one slot and exponential
    1 s service (turn utilisation ≈ 0.69, so queue waits of a few seconds are part of W).
    W ≈ 4 · 60 + 5 · (1 + W_q) ≈ 255 s and L ≈ 35. L is the mean of the per-minute samples
    over 09:00–16:00 (after a warm-up of 12 mean durations), λ the starts counted in those
    minutes. The per-minute samples of a process correlated over ~4 minutes give L to about
    ±1% (1 sd); five seeds agreed within 0.5%. Tolerance: 2%.
    """
    script = {
        "script": {
            "system_prompt_tokens": 100,
            "resume_tokens": 0,
            "answer_tokens": const(20),
            "think_time_s": expo(60.0),
            "opening": ["ask"],
            "rounds": 4,
            "round": ["follow_up"],
            "stages": {
                "ask": {"input": {"history": False}, "output_tokens": const(0), "max_output_tokens": 1},
                "follow_up": {
                    "candidate_speaks_before": True,
                    "output_tokens": const(0),
                    "max_output_tokens": 1,
                },
            },
        }
    }
    config = build(
        [provider("p0", limits={"concurrent_requests": 1}, ttft=expo(1.0))],
        demand(4000),
        hours("08:00", "16:00"),
        script,
    )
    result = simulate(config)
    check_conservation(result)
    assert result.interviews.completed == 4000
    assert result.queue_wait_s.mean > 1.0  # the queue matters: W is not just the think times

    ts = result.timeseries
    first, last = 9 * 60, 16 * 60  # minutes of the steady window
    in_flight = float(np.mean(ts.in_flight_interviews[first:last]))
    rate_per_s = sum(ts.interview_starts[first:last]) / ((last - first) * 60.0)
    mean_duration_s = result.interview_duration_s.mean
    assert in_flight == pytest.approx(rate_per_s * mean_duration_s, rel=0.02)

    # over the whole run (empty at both ends) the area under N(t) is the sum of the durations;
    # sampling N once a minute adds only the sampling error
    area = sum(ts.in_flight_interviews) * ts.minute_s
    assert area == pytest.approx(result.interview_duration_s.count * mean_duration_s, rel=0.02)
