"""The fast server: the same scheduler as the reference, advanced event to event.

Between two *events* — an arrival that can be admitted, a prompt finishing its prefill, a
sequence finishing, the KV cache filling up — the batch does not change: every step
decodes one token for the same n sequences and every context grows by one token. The
duration of those steps is linear in the step number (:mod:`capacity.gpu.decode_run`), so
the server jumps from event to event in closed form instead of stepping.

Bookkeeping is O(1) or O(log n) per event, never O(batch):

* a global decode-step counter D; a decoding sequence that started decoding at D₀ with g₀
  tokens and h₀ cached tokens has g₀ + (D − D₀) tokens and h₀ + (D − D₀) cached now;
* the total cached tokens of all decoders is kept as Σ(h₀ − D₀) + n·D;
* decoders sit in a heap keyed by the D at which they finish;
* steps that carry prefill work are executed one at a time, as the reference does.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable

from capacity.errors import ModelError
from capacity.gpu.decode_run import DecodeRun
from capacity.gpu.prefix_cache import PrefixCache
from capacity.gpu.roofline import Deployment, causal_pairs, check_startup
from capacity.gpu.server import Completion, ServerSettings, check_request

_IDLE, _PREFILL_STEP, _DECODE_RUN = 0, 1, 2


class _Sequence:
    """A request inside the server (decoder fields are valid while it decodes)."""

    __slots__ = (
        "base",
        "cached",
        "conversation",
        "decoding",
        "entry_d",
        "entry_generated",
        "entry_held",
        "first_token_s",
        "generated",
        "held",
        "order",
        "output",
        "prefilled",
        "prompt",
        "request_id",
        "reserved",
        "submitted_s",
        "target",
    )

    def __init__(
        self, request_id: int, submitted_s: float, prompt: int, output: int, conversation: Hashable | None
    ) -> None:
        self.request_id = request_id
        self.conversation = conversation
        self.submitted_s = submitted_s
        self.prompt = prompt
        self.output = output
        self.generated = 0  # output tokens produced (for decoders: at entry, see entry_generated)
        self.base = 0  # prompt tokens found in the prefix cache at admission (not prefilled)
        self.cached = 0  # of which the admission that emitted the first token reused (reported on completion)
        self.target = 0  # tokens this admission prefills
        self.prefilled = 0
        self.held = 0  # KV tokens held while prefilling (context + the slot of the next token)
        self.reserved = 0  # KV tokens counted against the cache with full reservation
        self.first_token_s = math.nan
        self.order = -1  # admission number; -1 when not running
        self.decoding = False
        self.entry_d = 0
        self.entry_generated = 0
        self.entry_held = 0


class AnalyticServer:
    """Continuous batching advanced analytically between events (the fast implementation).

    Raises UsageError at construction if the engine would not start with these settings.
    """

    def __init__(self, deployment: Deployment, settings: ServerSettings | None = None) -> None:
        self._deployment = deployment
        settings = (settings or deployment.settings).resolved(deployment.engine)
        self._settings = settings
        budget = check_startup(deployment, settings)
        self._capacity = budget.kv_tokens
        self._max_len = budget.max_model_len
        self._budget = settings.step_token_budget
        self._full = settings.kv_reservation == "full"
        self._cache = PrefixCache(settings.block_size) if settings.prefix_caching else None
        # step-time coefficients (see Deployment.step_time_s)
        d = deployment
        self._bw = d.effective_bandwidth
        self._flops = d.effective_flops
        self._kvb = d.kv_bytes_per_token
        self._weights = d.weight_bytes
        self._two_params = 2.0 * d.params
        self._attn = 4.0 * d.model.layers * d.model.d_model
        self._speedup = d.speedup
        self._overhead = d.overhead_s
        self._overhead_seq = d.overhead_per_sequence_s

        self._waiting: deque[_Sequence] = deque()
        self._running: dict[int, _Sequence] = {}  # by admission number, oldest first
        self._prefilling: list[_Sequence] = []  # admission order
        self._prefill_held = 0
        self._reserved = 0  # Σ reserved over running sequences (full reservation)
        self._heap: list[tuple[int, int, _Sequence]] = []  # (finish D, admission number, sequence)
        self._n_dec = 0
        self._held_base = 0  # Σ (entry_held − entry_d) over decoders
        self._admitted = 0

        self._t = 0.0  # time of the last boundary reached
        self._d = 0  # decode steps taken by then
        self._mode = _IDLE
        self._next = math.inf
        self._step_chunks: list[tuple[_Sequence, int]] = []
        self._step_decodes = False
        self._run: DecodeRun | None = None
        self._run_steps = 0  # the decode run ends at its `_run_steps`-th boundary
        self._done: list[Completion] = []
        self.events = 0  # boundaries processed (for tests and benchmarks)
        self.preemptions = 0

    @property
    def queued(self) -> int:
        """Requests waiting for admission."""
        return len(self._waiting)

    @property
    def running(self) -> int:
        """Requests admitted and not finished."""
        return len(self._running)

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens the KV cache holds (whole blocks)."""
        return self._capacity

    @property
    def prefix_cache(self) -> PrefixCache | None:
        """Idle conversations' cached prefixes (None when prefix caching is off)."""
        return self._cache

    def next_event_time(self) -> float:
        """Time of the next boundary at which something changes; inf when idle."""
        return self._next

    def advance(self, now: float) -> list[Completion]:
        """Process every event up to ``now``; the requests finished by then."""
        if now >= self._next:
            self._run_until(now)
        if not self._done:
            return []
        done, self._done = self._done, []
        return done

    def submit(
        self,
        now: float,
        request_id: int,
        prompt_tokens: int,
        output_tokens: int,
        conversation: Hashable | None = None,
    ) -> None:
        """A request arrives at ``now``; it is considered at the first step boundary after ``now``.

        ``conversation``: reuse that conversation's prefix if it is still cached (None: no reuse).
        """
        total = prompt_tokens + output_tokens
        if prompt_tokens < 1 or output_tokens < 1 or total > self._capacity or total > self._max_len:
            check_request(self._deployment, prompt_tokens, output_tokens, self._capacity, self._max_len)
        if now >= self._next:
            self._run_until(now)
        self._waiting.append(_Sequence(request_id, now, prompt_tokens, output_tokens, conversation))
        if self._mode == _IDLE:
            self._t = now
            self._schedule()
        elif self._mode == _DECODE_RUN and len(self._waiting) == 1:
            run = self._run
            assert run is not None
            boundary = run.steps_within(now - self._t) + 1
            if boundary < self._run_steps and self._head_fits_after(boundary):
                self._run_steps = boundary
                self._next = self._t + run.duration(boundary)

    # -- state -------------------------------------------------------------------------

    def _used(self) -> int:
        if self._full:
            return self._reserved
        return self._prefill_held + self._held_base + self._n_dec * self._d

    def _growth(self) -> int:
        """KV tokens the next step's decoders add to the used count (none when reserved up front)."""
        return 0 if self._full else self._n_dec

    def _decoder_held(self) -> int:
        return self._held_base + self._n_dec * self._d

    def _evict(self) -> None:
        if self._cache is not None:
            self._cache.evict_to(self._capacity - self._used())

    def _run_until(self, now: float) -> None:
        while self._next <= now and self._mode != _IDLE:
            self._reach_boundary()
            self._schedule()

    def _reach_boundary(self) -> None:
        """Bring the state to the boundary at ``self._next``: apply the step(s) that end there."""
        now = self._next
        self.events += 1
        finished: list[_Sequence] = []
        if self._mode == _PREFILL_STEP:
            if self._step_decodes:
                self._d += 1
        else:
            self._d += self._run_steps
        self._evict()  # the cache at its fullest, before anything leaves
        if self._mode == _PREFILL_STEP:
            for seq, chunk in self._step_chunks:
                seq.prefilled += chunk
                if seq.prefilled == seq.target:
                    seq.generated += 1
                    if math.isnan(seq.first_token_s):
                        seq.first_token_s = now
                        seq.cached = seq.base
                    self._prefilling.remove(seq)
                    self._prefill_held -= seq.held
                    if seq.generated == seq.output:
                        finished.append(seq)
                    else:
                        self._start_decoding(seq)
        self._t = now
        heap = self._heap
        while heap and heap[0][0] <= self._d:
            _, order, seq = heapq.heappop(heap)
            if seq.order != order or not seq.decoding:
                continue  # preempted since it was pushed
            self._stop_decoding(seq)
            finished.append(seq)
        if len(finished) > 1:
            finished.sort(key=lambda s: s.order)
        cache = self._cache
        for seq in finished:
            del self._running[seq.order]
            seq.order = -1
            self._reserved -= seq.reserved
            if cache is not None and seq.conversation is not None:
                cache.put(seq.conversation, seq.prompt + seq.output - 1)
            self._done.append(Completion(seq.request_id, seq.submitted_s, seq.first_token_s, now, seq.cached))

    def _start_decoding(self, seq: _Sequence) -> None:
        seq.decoding = True
        seq.entry_d = self._d
        seq.entry_generated = seq.generated
        seq.entry_held = seq.held
        self._n_dec += 1
        self._held_base += seq.held - self._d
        heapq.heappush(self._heap, (self._d + seq.output - seq.generated, seq.order, seq))

    def _stop_decoding(self, seq: _Sequence) -> None:
        """Remove a decoder from the aggregates, bringing its own counters up to date."""
        steps = self._d - seq.entry_d
        seq.generated = seq.entry_generated + steps
        seq.held = seq.entry_held + steps
        seq.decoding = False
        self._n_dec -= 1
        self._held_base -= seq.entry_held - seq.entry_d

    def _preempt_newest(self) -> None:
        order = next(reversed(self._running))
        victim = self._running.pop(order)
        if victim.decoding:
            self._stop_decoding(victim)
        else:
            self._prefilling.remove(victim)
            self._prefill_held -= victim.held
        self._reserved -= victim.reserved
        victim.held = 0
        victim.reserved = 0
        victim.prefilled = 0
        victim.base = 0
        victim.order = -1
        self._waiting.appendleft(victim)
        self.preemptions += 1

    def _need(self, seq: _Sequence) -> int:
        """KV tokens admitting ``seq`` adds to the used count."""
        if self._full:
            return seq.prompt + seq.output
        return seq.prompt + seq.generated + 1

    def _admit_head(self) -> _Sequence:
        seq = self._waiting.popleft()
        cache = self._cache
        hit = 0
        if cache is not None and seq.conversation is not None and seq.generated == 0:
            hit = cache.take(seq.conversation, seq.prompt)
        seq.base = hit
        seq.target = seq.prompt + seq.generated - hit
        seq.prefilled = 0
        seq.held = seq.prompt + seq.generated + 1
        seq.order = self._admitted
        self._admitted += 1
        self._running[seq.order] = seq
        self._prefilling.append(seq)
        self._prefill_held += seq.held
        if self._full:
            seq.reserved = seq.prompt + seq.output
            self._reserved += seq.reserved
        self._evict()
        return seq

    def _head_fits_after(self, k: int) -> bool:
        """Would the head of the queue be admitted at the k-th boundary of the current decode run?"""
        head = self._waiting[0]
        if len(self._running) >= self._settings.max_batch:
            return False
        n = self._growth()
        used = self._used() + n * k
        if self._settings.chunked_prefill:
            return self._budget > self._n_dec and used + n + self._need(head) <= self._capacity
        return used + self._need(head) <= self._capacity

    # -- scheduling ----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Decide the next step at boundary ``self._t`` (the rules of capacity.gpu.server)."""
        settings = self._settings
        cap = self._capacity
        chunks: list[tuple[_Sequence, int]] = []
        decodes = False
        if settings.chunked_prefill:
            preempted = False
            while self._used() + self._growth() > cap:
                self._preempt_newest()
                preempted = True
            n = self._n_dec
            growth = self._growth()
            budget = self._budget - n
            for seq in self._prefilling:
                if budget <= 0:
                    break
                chunk = min(seq.target - seq.prefilled, budget)
                chunks.append((seq, chunk))
                budget -= chunk
            if not preempted:
                waiting = self._waiting
                while (
                    waiting
                    and budget > 0
                    and len(self._running) < settings.max_batch
                    and self._used() + growth + self._need(waiting[0]) <= cap
                ):
                    seq = self._admit_head()
                    chunk = min(seq.target, budget)
                    chunks.append((seq, chunk))
                    budget -= chunk
            decodes = n > 0
        else:
            tokens = 0
            waiting = self._waiting
            while (
                waiting
                and len(self._running) < settings.max_batch
                and self._used() + self._need(waiting[0]) <= cap
                and (not chunks or tokens + waiting[0].prompt + waiting[0].generated <= self._budget)
            ):
                seq = self._admit_head()
                chunks.append((seq, seq.target))
                tokens += seq.target
            if not chunks:
                while self._used() + self._growth() > cap:
                    self._preempt_newest()
        if chunks:
            self._start_prefill_step(chunks, decodes)
        elif self._n_dec > 0:
            self._start_decode_run()
        else:
            if self._waiting:
                raise ModelError("requests wait but nothing can run: the scheduler is stuck")
            self._mode = _IDLE
            self._next = math.inf

    def _start_prefill_step(self, chunks: list[tuple[_Sequence, int]], decodes: bool) -> None:
        n = self._n_dec if decodes else 0
        held = float(self._decoder_held()) if decodes else 0.0
        new = n
        read = held
        pairs = held
        for seq, chunk in chunks:
            before = seq.base + seq.prefilled
            new += chunk
            read += before
            pairs += causal_pairs(before, chunk)
        memory = (self._weights + self._kvb * read) / self._bw
        compute = (self._two_params * new + self._attn * pairs) / self._flops
        overhead = self._overhead + self._overhead_seq * (n + len(chunks))
        self._mode = _PREFILL_STEP
        self._step_chunks = chunks
        self._step_decodes = decodes
        self._run = None
        self._next = self._t + (memory + compute) / self._speedup + overhead

    def _start_decode_run(self) -> None:
        n = self._n_dec
        held = float(self._decoder_held())
        bw, flops = self._bw, self._flops
        # step j: (weights + KV of held + n·j tokens) ÷ bw + (linear + attention of held + n·j pairs) ÷ flops
        run = DecodeRun(
            (self._weights + self._kvb * held) / bw + (self._two_params * n + self._attn * held) / flops,
            self._kvb * n / bw + self._attn * n / flops,
            speedup=self._speedup,
            overhead=self._overhead + self._overhead_seq * n,
        )
        heap = self._heap
        while heap and (heap[0][2].order != heap[0][1] or not heap[0][2].decoding):
            heapq.heappop(heap)  # drop entries of preempted sequences
        steps = heap[0][0] - self._d
        if not self._full:
            # the KV cache overflows at the first boundary k where used + n·k + n > capacity
            room = self._capacity - self._used() - n
            steps = min(steps, room // n + 1)
        if self._waiting and self._head_fits_after(1):
            steps = 1
        self._mode = _DECODE_RUN
        self._run = run
        self._run_steps = steps
        self._next = self._t + run.duration(steps)
