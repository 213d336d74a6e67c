"""The journal of a live run: every finished turn and interview, on disk before it counts.

A live run can last hours against real providers; Ctrl-C, a crash or a lost machine must
lose nothing that was measured. The journal is a JSON-lines file:

* the first line describes the run (``kind: run``: scenario, seed, interviews, time scale,
  a digest of the configuration) so ``--resume`` refuses a journal of another run;
* a ``turn`` line per finished turn (for following a run as it goes);
* an ``interview`` line per finished interview (or interview turned away), carrying every
  event the recorder saw for it (calls sent, answered and failed — a failure with what the
  endpoint said, ``["call_failed", destination, "4xx", "HTTP 404: model_not_found: …"]`` —
  cache lookups, turns, its start and end). Each line is flushed and fsynced before the run goes on.

Resuming replays the ``interview`` lines into a fresh recorder — each finished interview is
counted once, with its calls and turns — and the run starts each session after its finished
interviews. An interview that was running at the crash is run again from its start (its
journaled turns are not replayed). A torn last line (the crash came mid-write) is detected,
ignored and cut off. With the in-memory ledger a resumed run charges its quota windows with the
journaled calls (:func:`replay_quota`: those of finished interviews); a Redis ledger at ``--redis`` keeps
its windows, a private ``redis-server``'s starts empty.
API keys never reach the journal: no event carries one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from capacity.errors import CapacityError, UsageError
from capacity.policy.destination import Destination, Routed
from capacity.policy.observer import NULL_OBSERVER, PolicyObserver
from capacity.units import Outcome, Served

__all__ = [
    "Journal",
    "JournalWriteError",
    "JournalingObserver",
    "Replay",
    "interviews_ended",
    "read_journal",
    "replay_events",
]

Event = list[Any]


@dataclass
class Replay:
    """What a journal holds: the run's header, finished interviews per session, their events."""

    header: dict[str, Any]
    finished: dict[int, int] = field(default_factory=dict)  # session → interviews finished
    events: list[Event] = field(default_factory=list)
    last_time_s: float = 0.0
    torn: bool = False
    valid_bytes: int = 0


def read_journal(path: Path) -> Replay:
    """Read a journal; a torn last line is reported (``torn``) and left out.

    Raises :class:`UsageError` if the file is not a journal of this tool.
    """
    replay: Replay | None = None
    offset = 0
    with path.open("rb") as f:
        for raw in f:
            try:
                if not raw.endswith(b"\n"):
                    raise ValueError("no newline")
                record = json.loads(raw)
            except ValueError:
                if replay is None:
                    raise UsageError(f"{path}: not a capacity live journal (first line unreadable)") from None
                replay.torn = True
                break
            offset += len(raw)
            if replay is None:
                if record.get("kind") != "run":
                    raise UsageError(f"{path}: not a capacity live journal (no run header)")
                replay = Replay(header=record)
                continue
            if record.get("kind") == "interview":
                session = int(record["session"])
                replay.finished[session] = replay.finished.get(session, 0) + 1
                replay.events.extend(record["events"])
                replay.last_time_s = max(replay.last_time_s, float(record["t"]))
    if replay is None:
        raise UsageError(f"{path}: empty journal")
    replay.valid_bytes = offset
    return replay


def interviews_ended(journals: Sequence[Path]) -> int:
    """Interviews ended (finished or turned away) in ``journals`` together: one run's journal, or
    its routers' (a journal not written yet holds none). Raises :class:`UsageError` for a file
    that is not a journal of this tool."""
    return sum(sum(read_journal(path).finished.values()) for path in journals if path.exists())


class JournalWriteError(CapacityError):
    """The journal could not be written (a full disk, a file-size limit, an I/O error): the run
    stops, and the journal keeps every interview journaled before — a half-written last line is
    a torn line, which ``--resume`` ignores and cuts off."""

    def __init__(self, path: Path, error: OSError, interviews: int) -> None:
        self.path, self.interviews = path, interviews
        reason = error.strerror or type(error).__name__
        super().__init__(
            f"journal {path}: cannot write ({reason}); it keeps the {interviews:,} interviews finished before. "
            f"Free space, then continue with --journal {path} --resume"
        )


class Journal:
    """An append-only JSON-lines file, each line written whole (unbuffered) and fsynced.

    Raises :class:`JournalWriteError` when a line cannot be written or made durable."""

    def __init__(self, path: Path, header: dict[str, Any], *, resume: Replay | None = None) -> None:
        self.path = path
        self.interviews = sum(resume.finished.values()) if resume is not None else 0
        """Interviews in the journal (those of the run resumed, and every one written since)."""
        self._file: IO[bytes]
        if resume is not None:
            with path.open("r+b") as f:  # cut a torn last line off before appending
                f.truncate(resume.valid_bytes)
            self._file = path.open("ab", buffering=0)
        else:
            self._file = path.open("xb", buffering=0)  # never overwrite an earlier run's journal
            self.write({"kind": "run", **header})

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line and make it durable before returning."""
        line = memoryview(json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n")
        try:
            while line:  # an unbuffered write may take part of the line
                line = line[self._file.write(line) :]
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise JournalWriteError(self.path, exc, self.interviews) from None
        if record.get("kind") == "interview":
            self.interviews += 1

    def close(self) -> None:
        """Close the file (nothing is buffered: every line was written, or failed, whole)."""
        with contextlib.suppress(OSError):
            self._file.close()


class JournalingObserver(PolicyObserver):
    """Forwards every policy event to ``inner`` (the recorder) and journals each interview's.

    The driver names the session whose code runs next (:meth:`enter`); the events that code
    emits — calls, turns, the interview's start and end — are kept for that session and
    written, with the interview, when it ends. Quota events (windows, refusals, the queue's
    length) go to the recorder only.
    """

    def __init__(self, inner: Any, journal: Journal, skipped: dict[int, int] | None = None) -> None:
        self.inner = inner
        self.journal = journal
        self.current = -1
        self._pending: dict[int, list[Event]] = {}
        self._done: dict[int, int] = dict(skipped or {})

    def enter(self, session: int) -> None:
        """The next events belong to ``session``."""
        self.current = session

    def _keep(self, event: Event) -> None:
        self._pending.setdefault(self.current, []).append(event)

    def _finish(self, now: float) -> None:
        session = self.current
        events = self._pending.pop(session, [])
        j = self._done.get(session, 0)
        self._done[session] = j + 1
        self.journal.write({"kind": "interview", "session": session, "j": j, "t": now, "events": events})

    # quota events: the recorder's alone -------------------------------------------------------
    def window_used(self, now: float, window_id: int, fraction: float) -> None:
        self.inner.window_used(now, window_id, fraction)

    def window_refused(self, now: float, window_id: int, until: float) -> None:
        self.inner.window_refused(now, window_id, until)

    def destination_refused(self, destination: Destination) -> None:
        self.inner.destination_refused(destination)

    def queue_length(self, now: float, length: int) -> None:
        self.inner.queue_length(now, length)

    def request_admitted(self, now: float, routed: Routed, group: int, max_output_tokens: int) -> None:
        self.inner.request_admitted(now, routed, group, max_output_tokens)

    def request_settled(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        self.inner.request_settled(now, routed, tokens_in, tokens_out, latency_s)

    # interview events: recorded and journaled -------------------------------------------------
    def call_sent(self, now: float, destination: Destination) -> None:
        self.inner.call_sent(now, destination)
        self._keep(["call_sent", now, destination.index])

    def call_done(
        self, destination: Destination, tokens_in: int, tokens_out: int, ttft_s: float, cost_usd: float
    ) -> None:
        self.inner.call_done(destination, tokens_in, tokens_out, ttft_s, cost_usd)
        self._keep(["call_done", destination.index, tokens_in, tokens_out, ttft_s, cost_usd])

    def prompt_cache_read(self, destination: Destination, cached_tokens: int, saved_usd: float) -> None:
        self.inner.prompt_cache_read(destination, cached_tokens, saved_usd)
        self._keep(["prompt_cache_read", destination.index, cached_tokens, saved_usd])

    def call_failed(self, destination: Destination, kind: str, detail: str = "") -> None:
        self.inner.call_failed(destination, kind, detail)
        event: Event = ["call_failed", destination.index, kind]
        self._keep([*event, detail] if detail else event)

    def cache_lookup(self, hit: bool) -> None:
        self.inner.cache_lookup(hit)
        self._keep(["cache_lookup", hit])

    def turn(
        self, needed_at: float, served: Served, latency_s: float, wait_s: float = 0.0, candidate_waits: bool = True
    ) -> None:
        self.inner.turn(needed_at, served, latency_s, wait_s, candidate_waits)
        event = ["turn", needed_at, served.value, latency_s, wait_s, candidate_waits]
        self._keep(event)
        self.journal.write({"kind": "turn", "session": self.current, "event": event[1:]})

    def interview_started(self, now: float) -> None:
        self.inner.interview_started(now)
        self._keep(["interview_started", now])

    def interview_ended(self, now: float, outcome: Outcome, duration_s: float, api_tokens: int, api_calls: int) -> None:
        self.inner.interview_ended(now, outcome, duration_s, api_tokens, api_calls)
        self._keep(["interview_ended", now, outcome.value, duration_s, api_tokens, api_calls])
        self._finish(now)

    def turned_away(self, now: float) -> None:
        self.inner.turned_away(now)
        self._keep(["turned_away", now])
        self._finish(now)


def replay_events(events: list[Event], recorder: Any, destinations: list[Destination]) -> None:
    """Feed journaled events back into ``recorder`` (destinations by index)."""
    for event in _typed(events, destinations):
        name, args = event[0], event[1:]
        getattr(recorder, name)(*args)


def replay_quota(events: list[Event], destinations: list[Destination]) -> int:
    """Charge the quota windows of ``destinations`` (an in-memory ledger, fresh) with the journaled calls
    that were answered, each at the run time it was sent, in time order, with the tokens it used — so a
    resumed run starts with the windows its first part filled, not empty (a provider counts them still).
    Returns the calls charged. Calls of interviews still running at the stop are not journaled, and a
    call the fresh ledger would refuse now (another account took it then) is left out: a lower bound."""
    calls: list[tuple[float, int, int, int]] = []  # (sent at, destination, tokens in, tokens out)
    sent: tuple[float, int] | None = None
    for e in events:
        if e[0] == "call_sent":
            sent = (float(e[1]), int(e[2]))
        elif e[0] in ("call_done", "call_failed"):
            if e[0] == "call_done" and sent is not None and sent[1] == int(e[1]):
                calls.append((sent[0], sent[1], int(e[2]), int(e[3])))
            sent = None
    accounts = [a for d in destinations if d.quota is not None for a in d.quota.accounts]
    observers = [a.observer for a in accounts]
    for a in accounts:  # the recorder has the first part's figures already (replay_events): tell it nothing
        a.observer = NULL_OBSERVER
    charged = 0
    try:
        for at, index, tokens_in, tokens_out in sorted(calls):
            quota = destinations[index].quota
            if quota is None:  # a GPU pool: no quota
                continue
            admission = quota.try_admit(at, tokens_in, tokens_out)
            if not isinstance(admission, float):
                quota.settle(at, admission, tokens_in, tokens_out)
                charged += 1
    finally:
        for a, observer in zip(accounts, observers, strict=True):
            a.observer = observer
    return charged


def _typed(events: list[Event], destinations: list[Destination]) -> Iterator[list[Any]]:
    for e in events:
        name = e[0]
        if name == "call_sent":
            yield [name, e[1], destinations[e[2]]]
        elif name in ("call_done", "call_failed", "prompt_cache_read"):
            yield [name, destinations[e[1]], *e[2:]]
        elif name == "turn":
            yield [name, e[1], Served(e[2]), *e[3:]]
        elif name == "interview_ended":
            yield [name, e[1], Outcome(e[2]), *e[3:]]
        else:
            yield list(e)
