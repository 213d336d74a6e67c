"""What the turn pipeline asks of its driver, and what the driver answers.

The pipeline (:mod:`capacity.policy.pipeline`) is a plain generator. It *yields* one of the
actions below and is *resumed* with the current run time (``now``, s). It never sleeps, never
does I/O and never reads a clock: a driver does what it asks — the SimPy driver with events
on the simulated clock, the live driver with asyncio and HTTP on the wall clock — and writes
what happened into the action before resuming it (the result fields of :class:`Call`, the
``value`` of a :class:`Ticket`).

Blocking actions (the pipeline is resumed when they are done):

* :class:`Sleep` — resume after ``seconds`` (think time, a retry's backoff, the gap between
  a candidate's interviews).
* :class:`Call` — send one request to a destination (a provider model, or one server of a GPU
  pool) and resume when its last token arrives or it fails.
* :class:`Park` — resume when the ticket is resolved (a turn waiting for quota in the
  :class:`~capacity.policy.waitqueue.QuotaWaitQueue`, or for an identical request in flight).

Immediate actions (the driver does them and resumes the pipeline at once, at the same time):

* :class:`Resolve` — resume these parked tickets (their ``value`` is already set).
* :class:`ArmTimer` — at run time ``at``, call the quota-wait queue's
  :meth:`~capacity.policy.waitqueue.QuotaWaitQueue.on_timer` with ``version``.

Quota actions (the router's admission and settlement are I/O where the ledger is shared):

* :class:`Admit` — admit a request on a destination with quota room, writing the answer (a
  :class:`~capacity.policy.destination.Routed`, or the earliest run time one may take it) into the
  action. The simulator and a live run on the in-memory ledger answer at once with
  :meth:`Router.route <capacity.policy.router.Router.route>`, at the same instant; a live run
  sharing a Redis ledger across router processes answers after one atomic round trip.
* :class:`Settle` — reconcile an admission with the tokens the response really used and free
  its slot (:meth:`Router.settle <capacity.policy.router.Router.settle>`, or the Redis ledger's);
  the driver says whether that may make room for a turn waiting for quota (``freed``).

Response-cache actions (only where the cache is shared by router processes, in Redis — the
simulator and a single router look their in-memory cache up at once, without yielding):

* :class:`Lookup` — is an answer to ``key`` cached? The driver writes ``hit``.
* :class:`Store` — keep the answer to ``key`` (a provider just gave it).

Immediate actions are yielded, not performed by a callback, so that the driver performs them
exactly where the pipeline is: the order of events at one instant — and with it every number
of a seeded run — is the pipeline's, whichever driver runs it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from capacity.policy.destination import Routed
    from capacity.policy.prompt_cache import PrefixHint
    from capacity.workload.keyed import CallKey

__all__ = ["Action", "Admit", "ArmTimer", "Call", "Lookup", "Park", "Resolve", "Settle", "Sleep", "Store", "Ticket"]


class Sleep:
    """Resume after ``seconds`` (≥ 0)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Sleep({self.seconds!r})"


class Call:
    """Send one request and resume when it ends.

    The pipeline fills the request: ``routed`` (the destination and the quota admission),
    ``tokens_in`` prompt tokens, ``max_tokens`` (the output cap sent with the request, as the
    quota reserved it), ``tokens_out`` output tokens to generate (≤ ``max_tokens``),
    ``server`` (the server of a GPU pool, −1 for a provider), and what a live driver needs to
    write the chat messages: the ``stage`` of the interview script and the ``candidate`` it
    is for; and ``conversation``, the interview's number in the run (an engine's prefix cache
    keeps a conversation's history resident between its turns); ``cached_tokens`` of the prompt
    are read from the provider's prompt cache (as admitted), which shortens its prefill; ``key``
    is the call's identity in the run — (candidate, the candidate's interview number, the
    turn's index in the script, the attempt), all from 0 — the same in every run of the seed
    whatever the order of events (:mod:`capacity.workload.keyed` draws a call's fate from it
    when a simulation is validated against a live run).

    The driver fills the result: ``failure`` (``None`` if it answered, else an
    :class:`~capacity.units.ErrorKind` value); ``ttft_s`` and ``latency_s`` (time to first
    token and to the last token from the send, s of run time); ``tokens_out`` (the tokens
    really generated, where the endpoint reports usage); ``retry_after_s`` (how long the
    provider asked us to wait, s, if it did); ``status`` (the HTTP status of a live endpoint's
    answer, None where there was none — the simulator's calls, a connection that failed);
    ``detail`` (what a failure was, in one line: the status and the provider's own words, cut
    short, never a key; empty when it answered); and ``payload`` (the response, live only).
    """

    __slots__ = (
        "cached_tokens",
        "candidate",
        "conversation",
        "detail",
        "failure",
        "key",
        "latency_s",
        "max_tokens",
        "payload",
        "retry_after_s",
        "routed",
        "server",
        "stage",
        "status",
        "tokens_in",
        "tokens_out",
        "ttft_s",
    )

    def __init__(
        self,
        routed: Routed,
        tokens_in: int,
        tokens_out: int,
        max_tokens: int,
        server: int = -1,
        stage: str = "",
        candidate: int = -1,
        conversation: int = -1,
        key: CallKey = (0, 0, 0, 0),
    ) -> None:
        self.routed = routed
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.max_tokens = max_tokens
        self.server = server
        self.stage = stage
        self.candidate = candidate
        self.conversation = conversation
        self.key = key
        self.cached_tokens = routed.admission.cached_tokens
        self.failure: str | None = None
        self.ttft_s = 0.0
        self.latency_s = 0.0
        self.retry_after_s: float | None = None
        self.status: int | None = None
        self.detail = ""
        self.payload: Any = None

    def __repr__(self) -> str:
        return (
            f"Call({self.routed.destination.name!r}, in={self.tokens_in}, out={self.tokens_out}, "
            f"server={self.server}, failure={self.failure!r})"
        )


class Ticket:
    """A parked turn's claim: resolved with a ``value`` (a :class:`Routed`, ``None``, a bool).

    ``handle`` belongs to the driver (a SimPy event, an asyncio future); the policy never reads it.
    """

    __slots__ = ("handle", "value")

    def __init__(self) -> None:
        self.handle: Any = None
        self.value: Any = None


class Park:
    """Resume when ``ticket`` is resolved."""

    __slots__ = ("ticket",)

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket


class Resolve:
    """Resume the pipelines parked on ``tickets`` (values already set), in this order."""

    __slots__ = ("tickets",)

    def __init__(self, tickets: list[Ticket]) -> None:
        self.tickets = tickets


class ArmTimer:
    """At run time ``at`` (s), call the quota-wait queue's ``on_timer(now, version)``."""

    __slots__ = ("at", "version")

    def __init__(self, at: float, version: int) -> None:
        self.at = at
        self.version = version

    def __repr__(self) -> str:
        return f"ArmTimer(at={self.at!r}, version={self.version})"


class Admit:
    """Admit a request of ``tokens_in`` prompt tokens and at most ``max_output_tokens`` output
    tokens; the driver writes ``answer``: the :class:`~capacity.policy.destination.Routed` admission,
    or a lower bound of the run time (s) any destination may take it (``inf``: only a freed slot
    can help). ``prefix`` says where the conversation's prompt was last sent (prompt caching and
    session affinity: :meth:`Router.route <capacity.policy.router.Router.route>`); a ledger
    shared across router processes ignores it and charges the whole prompt, the safe reading.
    ``group`` is the model group (its index in the router's groups) whose destinations may take it."""

    __slots__ = ("answer", "group", "max_output_tokens", "prefix", "tokens_in")

    def __init__(
        self, tokens_in: int, max_output_tokens: int, prefix: PrefixHint | None = None, group: int = 0
    ) -> None:
        self.tokens_in = tokens_in
        self.max_output_tokens = max_output_tokens
        self.prefix = prefix
        self.group = group
        self.answer: Routed | float = math.inf

    def __repr__(self) -> str:
        return f"Admit(in={self.tokens_in}, max_out={self.max_output_tokens}, answer={self.answer!r})"


class Settle:
    """A response ended: reconcile ``routed``'s admission with ``tokens_in`` + ``tokens_out``
    tokens really used, free its slot, and learn ``latency_s`` (s; ``None`` if the call failed).
    The driver may write ``freed``: False when the ledger knows this cannot make room for a turn
    waiting for quota (:meth:`Router.settle <capacity.policy.router.Router.settle>`), so the
    quota-wait queue is not woken for nothing; it stays True (wake it) where the ledger cannot tell."""

    __slots__ = ("freed", "latency_s", "routed", "tokens_in", "tokens_out")

    def __init__(self, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None) -> None:
        self.routed = routed
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.latency_s = latency_s
        self.freed = True


class Lookup:
    """Look ``key`` (a turn's response-cache key) up in the shared response cache; the driver
    writes ``hit`` (True: a live entry answers the turn)."""

    __slots__ = ("hit", "key")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.hit = False


class Store:
    """Keep the answer to ``key`` in the shared response cache (it lives the cache's TTL)."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key


Action: TypeAlias = Sleep | Call | Park | Resolve | ArmTimer | Admit | Settle | Lookup | Store
"""Anything the pipeline yields."""
