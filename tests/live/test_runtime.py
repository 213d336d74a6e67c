"""The asyncio driver and the load driver, with calls faked in-process (no network).

A fake performer answers each call after a fixed run-time latency, so a live run at a high
time scale must do exactly what the simulator does with the same seed: the same interviews,
turns and calls. The journal tests stop a run part-way (as Ctrl-C would) and resume it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from simkit import build, check_conservation, const, demand, destinations, hours, provider

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.journal import read_journal, replay_quota
from capacity.live.load import LiveRun, plan_live, run_live
from capacity.live.runtime import CallPerformer
from capacity.policy.actions import Call
from capacity.policy.build import Core, build_core, seed_streams
from capacity.policy.observer import NULL_OBSERVER
from capacity.sim.model import simulate
from capacity.workload.calendar import run_start

SCALE = 20_000.0  # 1 wall second = 5.6 run hours


class Answering:
    """A performer factory: every call answers after ``latency_s`` of run time (the first one
    fails with ``fail_first`` and ``retry_after_s``, if given); ``sent`` keeps every call."""

    def __init__(
        self,
        latency_s: float,
        *,
        scale: float = SCALE,
        fail_first: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.latency_s, self.scale = latency_s, scale
        self.fail_first, self.retry_after_s = fail_first, retry_after_s
        self.sent: list[Call] = []

    def __call__(self, core: Core) -> CallPerformer:
        async def perform(call: Call) -> None:
            self.sent.append(call)
            if self.fail_first is not None and len(self.sent) == 1:
                call.failure, call.retry_after_s = self.fail_first, self.retry_after_s
                return
            await asyncio.sleep(self.latency_s / self.scale)
            call.ttft_s, call.latency_s = self.latency_s / 2, self.latency_s

        return perform


def small(per_day: int = 40, **routing: object) -> Configuration:
    return build(
        [provider("p0", ttft=const(0.5), tps=const(100.0))],
        demand(per_day, days=1),
        hours("00:00", "01:00"),  # interviews from run time 0: no idle wait before the first
        destinations("p0", **routing),
    )


def test_a_live_run_does_what_the_simulation_of_the_same_interviews_does() -> None:
    config = small()
    live = run_live(config, Answering(1.0), interviews=25, time_scale=SCALE)
    simulated = simulate(config, max_interviews=25)
    check_conservation(live)
    assert live.mode == "live"
    assert live.interviews == simulated.interviews
    assert live.requests == simulated.requests
    assert live.interviews.completed == 25


def test_a_retry_after_is_honoured_before_the_destination_is_used_again() -> None:
    config = small(max_retries=3, backoff_base_s=0.5, turn_deadline_s=600.0, cooldown_s=0.0)
    factory = Answering(1.0, fail_first="429", retry_after_s=30.0)
    result = run_live(config, factory, interviews=1, time_scale=2_000.0)
    assert result.interviews.completed == 1
    first, second = factory.sent[0], factory.sent[1]
    assert first.failure == "429"
    assert result.errors == {"429": 1}
    # the retry waited for Retry-After (30 s of run time), not for the 0.25–0.5 s backoff
    assert result.turn_latency_s.max >= 30.0
    assert second.failure is None


def test_a_stopped_run_resumes_and_counts_every_interview_once(tmp_path: Path) -> None:
    config = small(per_day=40)
    journal = tmp_path / "run.jsonl"
    plan = plan_live(config, 30)

    async def stop_part_way() -> None:
        run = LiveRun(config, plan, Answering(1.0, scale=2_000.0), 2_000.0, journal)
        task = asyncio.create_task(run.run_async())
        while not journal.exists() or journal.read_text().count('"kind":"interview"') < 8:
            await asyncio.sleep(0.01)
        task.cancel()  # as Ctrl-C would
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_part_way())
    done_before = sum(read_journal(journal).finished.values())
    assert 8 <= done_before < 30
    with journal.open("ab") as f:
        f.write(b'{"kind":"interview","session":3,"j":0,"t":1.0,"ev')  # a torn last line
    assert read_journal(journal).torn

    result = LiveRun(config, plan, Answering(1.0, scale=2_000.0), 2_000.0, journal, resume=True).run()
    check_conservation(result)
    assert result.interviews.requested == 30
    assert result.interviews.completed == 30
    replay = read_journal(journal)
    assert not replay.torn
    assert sum(replay.finished.values()) == 30  # each interview journaled once
    # one API turn each, answered once: the interviews run before the stop are not run again
    assert result.requests.provider == result.requests.api_calls == 30


def test_resuming_refuses_the_journal_of_another_run(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    run_live(small(), Answering(1.0), interviews=3, time_scale=SCALE, journal=journal)
    with pytest.raises(UsageError, match="another run"):
        run_live(small(), Answering(1.0), interviews=4, time_scale=SCALE, journal=journal, resume=True)
    with pytest.raises(UsageError, match="journal exists"):
        run_live(small(), Answering(1.0), interviews=3, time_scale=SCALE, journal=journal)


def test_a_resumed_run_starts_with_the_quota_its_first_part_spent(tmp_path: Path) -> None:
    """The in-memory ledger of a resumed run is charged with the calls journaled before the stop (before:
    it started empty, so a day's quota was spent twice — here 20 requests a day became up to 28 calls)."""
    config = build(
        [provider("p0", limits={"rpd": 20}, ttft=const(0.5), tps=const(100.0))],
        demand(30, days=1),
        hours("00:00", "01:00"),
        destinations("p0", on_exhausted="fail"),
    )
    journal = tmp_path / "run.jsonl"
    plan = plan_live(config, 30)
    first = Answering(1.0, scale=2_000.0)

    async def stop_part_way() -> None:
        run = LiveRun(config, plan, first, 2_000.0, journal)
        task = asyncio.create_task(run.run_async())
        while not journal.exists() or journal.read_text().count('"kind":"interview"') < 8:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_part_way())
    replay = read_journal(journal)
    answered_before = sum(1 for e in replay.events if e[0] == "call_done")
    assert 8 <= answered_before < 20
    fresh = build_core(config, run_start(config.scenario.calendar), seed_streams(7), NULL_OBSERVER)
    assert replay_quota(replay.events, fresh.destinations) == answered_before  # each charged once
    second = Answering(1.0, scale=2_000.0)
    result = LiveRun(config, plan, second, 2_000.0, journal, resume=True).run()
    check_conservation(result)
    assert result.interviews.requested == 30
    assert answered_before + len(second.sent) == 20  # the day's 20 requests, no more
    assert result.interviews.completed == 20 and result.interviews.failed == 10
