"""The router as a service: one client request through the policy core to an upstream and back.

:class:`Gateway` is the part of ``capacity serve`` that knows no HTTP. A client's chat
completion names a *model group* (:mod:`.groups`); the gateway answers it the way the turn
pipeline answers a turn — response cache → in-flight de-duplication → admit on the quota
ledger → send → settle → on a failure, hold or cool the destination down and retry elsewhere
(a 4xx refusing the destination — 401, 403, 404, 410 — takes it out of rotation and is retried
elsewhere at once, uncounted; one refusing the request — 400, 413, 422 … — is answered as it is) —
with the same policy objects (:func:`~capacity.policy.build.build_core`): the scenario's
ledger, strategy, cool-downs, retry count and cache. Admission is the router's in-memory
ledger (one instance), or the Redis ledger shared by every instance
(:class:`~capacity.live.shared.SharedLedgers`); with Redis the response cache is Redis's too
(:class:`~capacity.live.redis_cache.RedisResponseCache`, the scenario's TTL and size, keyed by
:meth:`ClientRequest.cache_key` under the namespace), so an answer cached by one instance is a
hit on every other; a Redis out of reach is a miss, and an answer it cannot store is not kept.
In-flight de-duplication spans the instances too (:mod:`.flights`): an identical request on
another instance waits for the first one's answer through Redis, or calls itself if that one
fails. A hold (a provider's ``Retry-After``) or a cool-down one instance starts holds every
instance (:mod:`capacity.live.redis_holds`).

Session affinity: a request carrying a session id (the ``x-session-id`` header or OpenAI's
``user`` field) is first offered to the destination that answered that session last, so one
interview's turns stay on one provider — and its prompt cache stays warm — while that
provider has quota; otherwise it goes where the strategy says. The table is in memory, or in
Redis (one key per session, expiring after :data:`AFFINITY_TTL_S`) when instances share one.

A streamed request is passed on as it arrives (:mod:`.relay`): each upstream call runs as its
own task that settles the ledger and counts the call once, however it ends; the request is
handed over as :class:`Streaming` when the call's first text comes, so until then a failure is
retried elsewhere as for any request, and after it the failure is final (the client has text
from that provider). A streamed request is counted, cached and released to the identical
requests waiting for it when its call ends; if the client leaves first, the call is cancelled
and settled with the prompt and the words passed on.

When no destination can take a request, it waits for the earliest admission the ledger names
if that comes within ``max_wait_s`` (wall s); otherwise the gateway answers
:class:`Exhausted` at once with the wait — the service's 429 with ``Retry-After`` — rather
than holding the client.

Time: run seconds are wall seconds since the service's ``run_start`` (a fixed UTC instant,
:data:`SERVE_EPOCH`, so every instance sharing a Redis lays its windows and daily resets on
the same grid); the Redis ledger reads Redis's ``TIME`` instead, so instance clocks never skew.
A rehearsal against the emulator may compress time (``time_scale`` run seconds per wall second,
one instance, in-memory ledger): windows, cool-downs and holds count run time, ``Retry-After``
and the headers' resets wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.chat import ChatOutcome, ChatRequest, Endpoint
from capacity.live.performer import Routes
from capacity.live.redis_cache import RedisResponseCache
from capacity.live.redis_ledger import REDIS_DOWN
from capacity.live.redis_usage import read_use
from capacity.live.serve.flights import SharedFlights
from capacity.live.serve.limits import GroupLimits, SharedUse
from capacity.live.serve.outcomes import (
    Answer,
    ClientRequest,
    Exhausted,
    Failed,
    Outcome,
    Streaming,
    decoded,
    encoded,
)
from capacity.live.serve.relay import Relay, relaying
from capacity.live.serve.telemetry import Telemetry
from capacity.live.shared import SharedLedgers, shared_ledgers
from capacity.live.transport import ChatTransport
from capacity.policy.build import Core, build_core, seed_streams
from capacity.policy.dedup import InFlight
from capacity.policy.ledger import Admission
from capacity.policy.observer import NULL_OBSERVER
from capacity.policy.pipeline import refuses_destination
from capacity.policy.router import Destination, Routed
from capacity.units import ErrorKind

__all__ = [
    "AFFINITY_TTL_S",
    "DEFAULT_MAX_TOKENS",
    "SERVE_EPOCH",
    "Gateway",
]

SERVE_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
"""Run time 0 of every ``capacity serve``: a fixed instant, so instances started at different
times share one grid of windows (a Monday, 00:00 UTC)."""

AFFINITY_TTL_S = 3600.0
"""How long a session's provider is remembered after its last request, s (an interview's length)."""

DEFAULT_MAX_TOKENS = 1024
"""``max_tokens`` of a request that names none: what the ledger reserves until the answer's real
length settles it."""

MAX_AFFINITY_ENTRIES = 100_000
"""Sessions remembered in memory (least recently used forgotten first)."""

ONE_WAY_S = 0.05
"""A request's one-way trip to an upstream, s: rolling windows hold each request that much longer
(as ``capacity live`` does), so the router never frees a slot before the provider does."""


async def _put(cache: RedisResponseCache, key: str, outcome: ChatOutcome) -> None:
    """Store an answer in the shared cache; a Redis out of reach keeps nothing."""
    with contextlib.suppress(*REDIS_DOWN):
        await cache.put(key, encoded(outcome))


@dataclass
class _Flight:
    """A request in flight that identical ones wait for."""

    done: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Gateway:
    """The policy core of ``config`` serving client requests over ``transport`` to ``routes``.

    Args:
        config: the scenario (its routing is the model groups) and the providers.
        routes: each destination's endpoints (:func:`~capacity.live.performer.resolve_routes`).
        transport: the shared HTTP client to the upstreams.
        group: the name clients send as ``model`` for the scenario's group ``default``
            (``routing.destinations``); its other model groups (``routing.groups``) keep their names.
        redis: a connected client when instances share quotas, the affinity table and the
            response cache under the namespace ``namespace``; None for the in-memory ledger.
        max_wait_s: the longest wall time a request waits for quota before a 429, s.
        telemetry: the counters and metrics every answer updates.
    Raises:
        UsageError: the scenario routes to a GPU pool (served by ``capacity live``, not here), or
            ``group`` is also the name of one of its other model groups.
    """

    def __init__(
        self,
        config: Configuration,
        routes: Routes,
        transport: ChatTransport,
        *,
        group: str,
        telemetry: Telemetry,
        redis: aioredis.Redis | None = None,
        namespace: str = "capacity:serve",
        max_wait_s: float = 0.0,
        seed: int = 0,
        time_scale: float = 1.0,
    ) -> None:
        if config.scenario.gpu_pools:
            raise UsageError("capacity serve routes to API providers only; this scenario has GPU pools")
        if group in config.scenario.routing.groups:
            raise UsageError(f"--group {group}: the scenario has a model group of that name; give routing's another")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise UsageError(f"--time-scale {time_scale}: must be a finite number > 0")
        if redis is not None and time_scale != 1.0:
            raise UsageError("--time-scale: instances sharing Redis run on Redis's clock; leave it at 1")
        self.time_scale = time_scale
        self.config = config
        self.routes = routes
        self.transport = transport
        self.group = group
        self.telemetry = telemetry
        self.retired: dict[str, str] = {}
        """Each destination taken out of rotation (a 401, 403, 404 or 410): its name → the endpoint's answer."""
        self.redis = redis
        self.namespace = namespace
        self.max_wait_s = max_wait_s
        margin = ONE_WAY_S * time_scale
        self.core: Core = build_core(config, SERVE_EPOCH, seed_streams(seed), NULL_OBSERVER, rolling_margin_s=margin)
        self.shared: SharedLedgers | None = None
        if redis is not None:
            self.shared = shared_ledgers(
                config, self.core.router, SERVE_EPOCH, client=redis, namespace=namespace,
                clock=None, rolling_margin_s=margin, local_now=self.now,
            )
        self.redis_cache: RedisResponseCache | None = None
        if redis is not None and self.core.cache is not None:
            settings = config.scenario.cache
            self.redis_cache = RedisResponseCache(
                redis, group, settings.ttl_s, settings.max_entries, namespace=namespace
            )
        self._storing: set[asyncio.Task[None]] = set()
        members = config.scenario.routing.group_members.values()
        self.groups: dict[str, int] = {name: g for g, name in enumerate((group, *self.core.groups[1:]))}
        """Each model group clients may name as ``model``, and its index in the router's groups."""
        self.group_limits = [
            GroupLimits([self.core.destinations[i] for i in m], shared=redis is not None, time_scale=time_scale)
            for m in members
        ]
        self.flights = SharedFlights(redis, namespace) if redis is not None and self.core.cache is not None else None
        self._affinity: OrderedDict[str, int] = OrderedDict()
        self._in_flight: InFlight[_Flight] = InFlight()
        self._flights: dict[str, _Flight] = {}
        self._mono0 = time.monotonic()
        self._run0 = time.time() - SERVE_EPOCH.timestamp()

    @property
    def destinations(self) -> list[Destination]:
        """The group's destinations, in priority order."""
        return self.core.destinations

    def now(self) -> float:
        """Run time, s since :data:`SERVE_EPOCH`: the wall time at the start, then ``time_scale``
        run seconds per second of the monotonic clock."""
        return self._run0 + (time.monotonic() - self._mono0) * self.time_scale

    async def complete(self, request: ClientRequest, *, stream: bool = False) -> Outcome | Streaming:
        """Answer ``request``: from the cache, from an identical request in flight, or upstream.

        With ``stream`` an upstream answer is passed on as it arrives: :class:`Streaming` once
        its first text has come (before that, a failure is still retried elsewhere); an answer
        that ended before any text came is an :class:`Answer` as without ``stream``."""
        cache = self.core.cache if not request.options else None  # a tool call is not replayed
        dedup = cache is not None and self.config.scenario.cache.deduplicate_in_flight
        key = request.cache_key() if cache is not None or dedup else ""
        if cache is not None:
            hit = await self._cached(key)
            if hit is not None:
                self.telemetry.answered_from("cache")
                return Answer(hit, None, "cache")
        if dedup:
            if not self._in_flight.lead(key):
                flight = self._flights[key]
                self._in_flight.follow(key, flight)
                outcome = await asyncio.shield(flight.done)
                if isinstance(outcome, Answer):
                    self.telemetry.answered_from("deduplicated")
                    return Answer(outcome.outcome, None, "deduplicated")
                return outcome
            self._flights[key] = _Flight()
        leading = False  # this instance asks for every instance sharing Redis (and tells them)

        def finish(outcome: Outcome | None, store: bool = True) -> asyncio.Task[None] | None:
            """The request's answer is known (None: its leader was abandoned): release the
            identical requests waiting for it, here and on other instances, and keep an answer
            in the cache (the task storing it in Redis, when shared)."""
            if dedup:
                self._in_flight.finish(key)
                abandoned = Failed(ErrorKind.CONNECTION, None, "the identical request it waited for was abandoned")
                self._flights.pop(key).done.set_result(outcome if outcome is not None else abandoned)
            if leading and self.flights is not None:
                self._background(self.flights.land(key, outcome.outcome if isinstance(outcome, Answer) else None))
            if store and isinstance(outcome, Answer) and cache is not None:
                return self._store(key, outcome.outcome)
            return None

        try:
            if dedup and self.flights is not None:
                leading = await self.flights.lead(key)
                if not leading and (remote := await self.flights.follow(key)) is not None:
                    self.telemetry.answered_from("deduplicated")  # another instance's answer
                    answered = Answer(remote, None, "deduplicated")
                    finish(answered, store=False)  # the leader keeps it in the shared cache
                    return answered
            got = await self._upstream(request, stream)
        except BaseException:
            finish(None)  # the leader was abandoned: its followers get a failure, not a hang
            raise
        if isinstance(got, Streaming):
            destination = got.destination
            got.call.add_done_callback(lambda call: finish(self._streamed(destination, call)))
        elif (storing := finish(got)) is not None:
            await storing  # answered once the shared cache holds it: the next instance asked finds it
        return got

    async def _cached(self, key: str) -> ChatOutcome | None:
        """The cached answer of ``key`` (None: a miss): from Redis when instances share it (a
        Redis out of reach is a miss), else from this instance's cache."""
        if self.redis_cache is None:
            hit = self.core.cache.get(key, self.now()) if self.core.cache is not None else None
            return hit if isinstance(hit, ChatOutcome) else None
        try:
            payload = await self.redis_cache.get(key)
        except REDIS_DOWN:
            return None
        return decoded(payload) if payload is not None else None

    def _store(self, key: str, outcome: ChatOutcome) -> asyncio.Task[None] | None:
        """Keep an answer in the cache: in this instance's at once, or in Redis by a task of its
        own, returned (a streamed answer's ends in a callback, which cannot wait for it; a Redis
        out of reach keeps nothing)."""
        if self.redis_cache is None:
            if self.core.cache is not None:
                self.core.cache.put(key, self.now(), outcome)
            return None
        return self._background(_put(self.redis_cache, key, outcome))

    def _background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` (a write to Redis) in a task of its own, kept until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)
        return task

    def _streamed(self, destination: str, call: asyncio.Task[ChatOutcome]) -> Answer | Failed | None:
        """Count a streamed request once, when its upstream call has ended: answered, failed
        after its first text (too late to retry), or abandoned (None: the client left)."""
        if call.cancelled():
            self.telemetry.abandoned()
            return None
        if (error := call.exception()) is not None:  # its settlement failed (the answer had come)
            self.telemetry.failed()
            return Failed(ErrorKind.SERVER_ERROR, None, f"the router failed settling the call: {type(error).__name__}")
        outcome = call.result()
        if outcome.ok:
            self.telemetry.answered_from("api")
            return Answer(outcome, destination, "api")
        self.telemetry.failed()
        return Failed(outcome.failure or ErrorKind.SERVER_ERROR, outcome.status, outcome.detail)

    async def _upstream(self, request: ClientRequest, stream: bool) -> Outcome | Streaming:
        """Admit, send and settle, retrying elsewhere after a failure (``routing.max_retries``);
        with ``stream``, hand the call over as :class:`Streaming` at its first text."""
        tokens_in = request.tokens_in
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        group = self.groups.get(request.group, 0)
        deadline = time.monotonic() + self.max_wait_s
        last: Failed | None = None
        attempt = 0
        while True:
            preferred = await self._preferred(request.session)
            answer = await self._admit(preferred, tokens_in, max_tokens, group)
            if not isinstance(answer, Routed):
                wait_s = (answer - self.now()) / self.time_scale  # wall s
                if math.isfinite(answer) and time.monotonic() + wait_s <= deadline:
                    await asyncio.sleep(max(0.0, wait_s))
                    continue
                if last is not None:
                    self.telemetry.failed()
                    return last
                if not math.isfinite(answer) and self.core.router.out_of_rotation(group):
                    # not out of quota: every destination of the group refused us itself (a bad key…)
                    self.telemetry.failed()
                    causes = "; ".join(f"{name}: {detail}" for name, detail in self.retired.items())
                    return Failed(ErrorKind.CLIENT_ERROR, None, f"every provider of the model group refused "
                                  f"this service and was taken out of rotation ({causes})")
                self.telemetry.refused()
                return Exhausted(max(1.0, math.ceil(wait_s)) if math.isfinite(answer) else 1.0)
            dest = answer.destination
            assert dest.quota is not None
            accounts = self.routes.endpoints[dest.index]
            endpoint = accounts[answer.admission.account % len(accounts)]
            sent = ChatRequest(
                request.messages, max_tokens=dest.quota.output_cap(max_tokens), output_tokens=request.output_tokens,
                options=request.options,
            )
            self.telemetry.sent(dest.name)
            relay = Relay()
            call = asyncio.create_task(
                self._call(endpoint, sent, answer, tokens_in, request.session, relay, stream, group)
            )
            try:
                if stream and (first := await relay.queue.get()) is not None:  # its first text has come
                    return Streaming(dest.name, relay, call, first)
                outcome = await asyncio.shield(call)
            except BaseException:  # cancelled (the server stopping): the call gives its reservation back
                if relay.sending:
                    call.cancel()
                raise
            if outcome.ok:
                self.telemetry.answered_from("api")
                return Answer(outcome, dest.name, "api")
            last = Failed(outcome.failure or ErrorKind.SERVER_ERROR, outcome.status, outcome.detail)
            if refuses_destination(outcome.failure, outcome.status):
                continue  # that destination is out of rotation: the next one, at once, not counted
            attempt += 1
            if outcome.failure is ErrorKind.CLIENT_ERROR or attempt > self.config.scenario.routing.max_retries:
                self.telemetry.failed()
                return last

    async def _call(
        self, endpoint: Endpoint, sent: ChatRequest, routed: Routed, tokens_in: int, session: str | None,
        relay: Relay, stream: bool, group: int = 0,
    ) -> ChatOutcome:
        """One upstream call, its own task: send (with ``stream``, passing its text on to
        ``relay`` as it comes), then settle the ledger and count the call once — with its answer,
        or on cancellation (the client left, the server stops) with the prompt and the words
        passed on so far."""
        dest = routed.destination
        if stream:
            relaying(relay)
        try:
            outcome = await self.transport.send(endpoint, sent)
        except BaseException:
            await self._settle(self.now(), routed, tokens_in, relay.words_out, None)
            raise
        finally:
            relay.close()
        now = self.now()
        used_in = outcome.prompt_tokens if outcome.usage_reported else tokens_in
        latency = outcome.latency_s * self.time_scale if outcome.ok else None
        await self._settle(now, routed, used_in, outcome.completion_tokens, latency)
        self.telemetry.upstream(dest.name, outcome)
        if outcome.ok:
            await self._remember(session, dest.index)
        elif refuses_destination(outcome.failure, outcome.status):
            self.core.router.retire(dest)
            self.retired[dest.name] = outcome.detail
        elif outcome.failure is ErrorKind.RATE_LIMITED:
            wait = outcome.throttle.wait_s if outcome.throttle is not None else None
            wait = wait if wait is not None else outcome.retry_after_s
            held = wait * self.time_scale if wait is not None else self.config.scenario.routing.cooldown_s  # run s
            self.core.router.hold(dest, now + held)
        else:
            self.core.router.cool_down(now, routed, self.config.scenario.routing.cooldown_s, group)
        return outcome

    async def _admit(self, preferred: int | None, tokens_in: int, max_tokens: int, group: int = 0) -> Routed | float:
        """Admit on the session's destination if it is in model group ``group`` and has room,
        else where the group's strategy says; or the earliest run time one may admit (``inf``:
        only a freed slot can help)."""
        if self.shared is not None and self.shared.holds is not None:
            await self.shared.holds.sync()  # what another instance was told to wait holds here too
        now = self.now()
        members = self.core.router.groups[group][0]
        if preferred is not None and preferred < len(self.destinations) and self.destinations[preferred] in members:
            dest = self.destinations[preferred]
            if dest.cooldown_until <= now and dest.quota is not None and tokens_in <= dest.quota.max_input_cap:
                ledger = self.shared.ledgers[dest.index] if self.shared is not None else None
                if ledger is None:
                    got = dest.quota.try_admit(now, tokens_in, max_tokens)
                else:
                    got = await ledger.try_admit(tokens_in, max_tokens)
                if isinstance(got, Admission):
                    self.telemetry.affinity_kept()
                    return Routed(dest, got)
        if self.shared is None:
            return self.core.router.route(now, tokens_in, max_tokens, group=group)
        return await self.shared.admit(now, tokens_in, max_tokens, group, read_holds=False)

    async def _settle(self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency: float | None) -> None:
        if self.shared is None:
            self.core.router.settle(now, routed, tokens_in, tokens_out, latency)
        else:
            await self.shared.settle(now, routed, tokens_in, tokens_out, latency)

    def _affinity_key(self, session: str) -> str:
        return f"{self.namespace}:affinity:{hashlib.sha256(session.encode()).hexdigest()[:32]}"

    async def _preferred(self, session: str | None) -> int | None:
        """The destination that last answered ``session`` (None: none remembered)."""
        if session is None:
            return None
        if self.redis is None:
            index = self._affinity.get(session)
            if index is not None:
                self._affinity.move_to_end(session)
            return index
        raw = await self.redis.get(self._affinity_key(session))
        return int(raw) if raw is not None else None

    async def _remember(self, session: str | None, index: int) -> None:
        if session is None:
            return
        if self.redis is None:
            self._affinity[session] = index
            self._affinity.move_to_end(session)
            while len(self._affinity) > MAX_AFFINITY_ENTRIES:
                self._affinity.popitem(last=False)
            return
        await self.redis.set(self._affinity_key(session), str(index), ex=int(AFFINITY_TTL_S))

    def retry_after_s(self, group: str | None = None) -> float:
        """Wall seconds until the first destination of model group ``group`` (None: the default
        group) is out of its hold or cool-down (0: one already is)."""
        now = self.now()
        members = self.core.router.groups[self.groups.get(group, 0) if group is not None else 0][0]
        return max(0.0, min((d.cooldown_until for d in members), default=now) - now) / self.time_scale

    async def shared_use(self) -> tuple[float, SharedUse] | None:
        """With the Redis ledger, Redis's run time now (s) and what it counts in every window of
        every destination (all instances' requests; one round trip per destination, together);
        None with the in-memory ledger, or when Redis is out of reach."""
        if self.shared is None:
            return None
        indexed = [(i, ledger) for i, ledger in enumerate(self.shared.ledgers) if ledger is not None]
        try:
            read = await asyncio.gather(*(read_use(ledger) for _, ledger in indexed))
        except REDIS_DOWN:
            return None
        now = max((r[0] for r in read), default=self.now())
        return now, {i: accounts for (i, _), (_, accounts) in zip(indexed, read, strict=True)}

    async def rate_limit_headers(self, group: str | None = None) -> dict[str, str]:
        """Model group ``group``'s ``x-ratelimit-*`` headers now (:class:`~.limits.GroupLimits`;
        None: the default group's): from the in-memory ledger, or from what Redis counts for every instance."""
        limits = self.group_limits[self.groups.get(group, 0) if group is not None else 0]
        if self.shared is None:
            return limits.headers(self.now())
        read = await self.shared_use()
        return limits.headers(self.now(), None) if read is None else limits.headers(*read)

    async def export_quota_use(self) -> None:
        """Set the quota-use gauges: use ÷ limit of each window, the fullest account's — from the
        in-memory ledger, or from what Redis counts (left as they were when Redis is out of reach)."""
        worst: dict[tuple[str, str], float] = {}
        if self.shared is None:
            now = self.now()
            for dest in self.destinations:
                if dest.quota is not None:
                    dest.quota.limits_in_force(now)
                for account in dest.quota.accounts if dest.quota is not None else []:
                    for window in account.windows:
                        use = window.used(now) / window.limit if window.limit > 0 else 1.0
                        worst[dest.name, window.name] = max(worst.get((dest.name, window.name), 0.0), use)
        else:
            read = await self.shared_use()
            if read is None:
                return
            for index, accounts in read[1].items():
                name = self.destinations[index].name
                for windows in accounts:
                    for w in windows:
                        use = w.used / w.limit if w.limit > 0 else 1.0
                        worst[name, w.name] = max(worst.get((name, w.name), 0.0), use)
        for (name, window_name), use in worst.items():
            self.telemetry.quota_used.labels(name, window_name).set(use)
