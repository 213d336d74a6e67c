"""Conservation: every interview and every turn ends in exactly one outcome.

For random small scenarios — random limits, error rates, outages, time-outs, retry budgets,
deadlines, what to do when quota runs out and past the deadline, caches, templates, gated
admission, shortened runs — whatever happens: requested = completed + degraded + failed +
unfinished; logical requests = template + cache + de-duplicated + provider + degraded +
failed; every call sent either answered or failed; and the per-interview and per-destination
figures agree with each other. Then the same on the shipped scenario A's first day.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import build, check_conservation, const, demand, destinations, expo, provider

from capacity.config.loader import Configuration
from capacity.sim.model import Simulation, simulate
from capacity.workload.script import compile_script

limit_sets = st.fixed_dictionaries(
    {},
    optional={
        "rpm": st.integers(1, 10),
        "rpd": st.integers(1, 60),
        "tpm": st.integers(500, 5_000),
        "concurrent_requests": st.integers(1, 3),
        "max_input_tokens_per_request": st.integers(300, 2_000),
    },
)
providers_ = st.lists(
    st.fixed_dictionaries(
        {
            "limits": limit_sets,
            "error_rate": st.sampled_from([0.0, 0.05, 0.3, 1.0]),
            "ttft_s": st.sampled_from([0.0, 0.5, 3.0]),
            "timeout_s": st.sampled_from([2.0, 60.0]),
            "accounts": st.integers(1, 2),
        }
    ),
    min_size=1,
    max_size=3,
)
routing_ = st.fixed_dictionaries(
    {
        "strategy": st.sampled_from(
            ["fill_first", "weighted", "most_headroom", "latency_aware", "cost_aware"]
        ),
        "on_exhausted": st.sampled_from(["queue", "degrade", "fail"]),
        "on_deadline": st.sampled_from(["degrade", "fail"]),
        "turn_deadline_s": st.sampled_from([1.0, 10.0, 60.0]),
        "max_retries": st.integers(0, 3),
        "cooldown_s": st.sampled_from([0.0, 5.0]),
        "admission": st.sampled_from(["open", "gated"]),
        "admission_cooldown_s": st.sampled_from([0.0, 120.0]),
    }
)
cache_ = st.fixed_dictionaries(
    {
        "enabled": st.booleans(),
        "ttl_s": st.sampled_from([30.0, 3_600.0]),
        "max_entries": st.sampled_from([2, 1_000]),
        "deduplicate_in_flight": st.booleans(),
    }
)


def _scenario(
    providers: list[dict[str, Any]], routing: dict[str, Any], cache: dict[str, Any], shape: dict[str, Any]
) -> Configuration:
    specs = [
        provider(
            f"p{i}",
            limits=p["limits"],
            error_rate=p["error_rate"],
            ttft=expo(p["ttft_s"]) if p["ttft_s"] else const(0.0),
            tps=const(100.0),
            timeout_s=p["timeout_s"],
            accounts=p["accounts"],
            billing="paid" if i % 2 else "free",
            prices=(0.1 * (i + 1), 0.2),
        )
        for i, p in enumerate(providers)
    ]
    script = {
        "script": {
            "system_prompt_tokens": 150,
            "resume_tokens": 400,
            "answer_tokens": {"kind": "normal", "mean": 80, "sd": 30, "min": 5},
            "think_time_s": {"kind": "lognormal", "median": 15.0, "sigma": 0.5},
            "opening": ["greeting", "resume"],
            "rounds": shape["rounds"],
            "round": ["question", "evaluation"],
            "closing": ["score"],
            "stages": {
                "greeting": {
                    "template": True,
                    "input": {"history": False},
                    "output_tokens": const(20),
                    "max_output_tokens": 40,
                },
                "resume": {
                    "input": {"resume": True, "history": False},
                    "output_tokens": const(200),
                    "max_output_tokens": 400,
                    "adds_to_history": True,
                    "cache": {"key": "candidate"},
                },
                "question": {
                    "output_tokens": {"kind": "normal", "mean": 60, "sd": 20, "min": 1},
                    "max_output_tokens": 150,
                    "adds_to_history": True,
                    "cache": {"key": "catalogue", "catalogue_size": 5, "zipf_exponent": 1.0},
                },
                "evaluation": {
                    "candidate_speaks_before": True,
                    "skip_in_last_round": True,
                    "output_tokens": const(100),
                    "max_output_tokens": 200,
                },
                "score": {
                    "candidate_speaks_before": True,
                    "output_tokens": const(300),
                    "max_output_tokens": 500,
                },
            },
        }
    }
    outages = [{"provider": "p0", "start_s": 9.5 * 3600, "duration_s": 600.0}] if shape["outage"] else []
    each = shape["each"]
    return build(
        specs,
        demand(shape["interviews"] * each, days=shape["days"], each=each, spacing=shape["spacing"]),
        script,
        {"seed": shape["seed"], "cache": cache, "outages": outages},
        destinations(*(s["name"] for s in specs), **routing),
    )


shapes = st.fixed_dictionaries(
    {
        "interviews": st.integers(1, 25),
        "each": st.integers(1, 3),
        "spacing": st.sampled_from(["spread", "same_day"]),
        "days": st.integers(1, 3),
        "rounds": st.integers(0, 3),
        "outage": st.booleans(),
        "seed": st.integers(0, 2**32 - 1),
        "run_days": st.sampled_from([None, 1]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(providers=providers_, routing=routing_, cache=cache_, shape=shapes)
def test_every_interview_and_turn_is_accounted_for(
    providers: list[dict[str, Any]], routing: dict[str, Any], cache: dict[str, Any], shape: dict[str, Any]
) -> None:
    config = _scenario(providers, routing, cache, shape)
    sim = Simulation(config, days=shape["run_days"])
    result = sim.run()
    check_conservation(result)
    i, r = result.interviews, result.requests
    assert i.requested == sim.requested == sum(sim.session_interviews)
    turns = compile_script(config.scenario.script).requests_per_interview
    carried = i.completed + i.degraded
    # finished interviews answered every turn; failed ones stopped at their failed turn
    assert carried * turns <= r.logical <= (i.requested - i.turned_away - i.unfinished) * turns
    assert r.failed == i.failed - i.turned_away  # one failed turn ends an interview
    assert r.degraded >= i.degraded  # a degraded interview had at least one degraded turn
    assert result.interview_duration_s.count == carried
    assert result.backlog_interviews == i.requested - carried
    assert result.carried_interviews_per_day == carried / result.days
    assert r.template == sum(result.timeseries.interview_starts)  # every started interview greets
    # a turn is admitted from the queue only before its deadline, however often it retried
    assert result.queue_wait_s.max < routing["turn_deadline_s"]
    if routing["on_exhausted"] != "queue":
        assert sum(result.timeseries.queued_turns) == 0


def test_scenario_a_first_day(config_a: Configuration) -> None:
    """The shipped scenario A, first day only: about 2,2xx interviews (50,000 over 30 days'
    22 business days ≈ 2,270 a business day), all accounted for; 26 logical requests each."""
    result = simulate(config_a, days=1)
    check_conservation(result)
    i = result.interviews
    assert 2_200 <= i.requested < 2_300
    assert i.unfinished == 0  # the drain day lets every started interview end
    assert i.completed + i.degraded > 0.5 * i.requested
    assert result.requests.template == i.requested - i.turned_away  # one greeting each
    assert result.requests.logical >= 26 * (i.completed + i.degraded)
    assert result.cache.lookups == i.requested - i.turned_away  # resume analysis, once each
    headline = result.headline()
    assert not any(math.isnan(v) for v in headline.values())  # no NaN in what a verdict is built on
