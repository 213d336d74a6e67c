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

from capacity.errors import ModelError
from capacity.gpu.decode_run import DecodeRun
from capacity.gpu.roofline import Deployment
from capacity.gpu.server import Completion, ServerSettings, check_request

_IDLE, _PREFILL_STEP, _DECODE_RUN = 0, 1, 2


class _Sequence:
    """A request inside the server (decoder fields are valid while it decodes)."""

    __slots__ = (
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
        "submitted_s",
        "target",
    )

    def __init__(self, request_id: int, submitted_s: float, prompt: int, output: int) -> None:
        self.request_id = request_id
        self.submitted_s = submitted_s
        self.prompt = prompt
        self.output = output
        self.generated = 0  # output tokens produced (for decoders: at entry, see entry_generated)
        self.target = 0  # tokens this admission prefills
        self.prefilled = 0
        self.held = 0  # KV tokens held while prefilling
        self.first_token_s = math.nan
        self.order = -1  # admission number; -1 when not running
        self.decoding = False
        self.entry_d = 0
        self.entry_generated = 0
        self.entry_held = 0


class AnalyticServer:
    """Continuous batching advanced analytically between events (the fast implementation)."""

    def __init__(self, deployment: Deployment, settings: ServerSettings | None = None) -> None:
        self._deployment = deployment
        self._settings = settings or ServerSettings()
        self._capacity = deployment.kv_capacity_tokens
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

        self._waiting: deque[_Sequence] = deque()
        self._running: dict[int, _Sequence] = {}  # by admission number, oldest first
        self._prefilling: list[_Sequence] = []  # admission order
        self._prefill_held = 0
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

    def submit(self, now: float, request_id: int, prompt_tokens: int, output_tokens: int) -> None:
        """A request arrives at ``now``; it is considered at the first step boundary after ``now``."""
        if prompt_tokens < 1 or output_tokens < 1 or prompt_tokens + output_tokens > self._capacity:
            check_request(self._deployment, prompt_tokens, output_tokens)  # raises, naming the problem
        if now >= self._next:
            self._run_until(now)
        self._waiting.append(_Sequence(request_id, now, prompt_tokens, output_tokens))
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
        return self._prefill_held + self._held_base + self._n_dec * self._d

    def _decoder_held(self) -> int:
        return self._held_base + self._n_dec * self._d

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
            for seq, chunk in self._step_chunks:
                seq.prefilled += chunk
                if seq.prefilled == seq.target:
                    seq.generated += 1
                    if math.isnan(seq.first_token_s):
                        seq.first_token_s = now
                    self._prefilling.remove(seq)
                    self._prefill_held -= seq.held
                    if seq.generated == seq.output:
                        finished.append(seq)
                    else:
                        self._start_decoding(seq)
        else:
            self._d += self._run_steps
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
        for seq in finished:
            del self._running[seq.order]
            seq.order = -1
            self._done.append(Completion(seq.request_id, seq.submitted_s, seq.first_token_s, now))

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
        victim.held = 0
        victim.prefilled = 0
        victim.order = -1
        self._waiting.appendleft(victim)
        self.preemptions += 1

    def _admit_head(self) -> _Sequence:
        seq = self._waiting.popleft()
        seq.target = seq.prompt + seq.generated
        seq.prefilled = 0
        seq.held = seq.target + 1
        seq.order = self._admitted
        self._admitted += 1
        self._running[seq.order] = seq
        self._prefilling.append(seq)
        self._prefill_held += seq.held
        return seq

    def _head_fits_after(self, k: int) -> bool:
        """Would the head of the queue be admitted at the k-th boundary of the current decode run?"""
        head = self._waiting[0]
        if len(self._running) >= self._settings.max_batch:
            return False
        n = self._n_dec
        used = self._used() + n * k
        if self._settings.chunked_prefill:
            return (
                self._settings.max_num_batched_tokens > n
                and used + n + head.prompt + head.generated + 1 <= self._capacity
            )
        return used + head.prompt + head.generated + 1 <= self._capacity

    # -- scheduling ----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Decide the next step at boundary ``self._t`` (the rules of capacity.gpu.server)."""
        settings = self._settings
        cap = self._capacity
        chunks: list[tuple[_Sequence, int]] = []
        decodes = False
        if settings.chunked_prefill:
            preempted = False
            while self._used() + self._n_dec > cap:
                self._preempt_newest()
                preempted = True
            n = self._n_dec
            budget = settings.max_num_batched_tokens - n
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
                    and self._used() + n + waiting[0].prompt + waiting[0].generated + 1 <= cap
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
                and self._used() + waiting[0].prompt + waiting[0].generated + 1 <= cap
                and (
                    not chunks
                    or tokens + waiting[0].prompt + waiting[0].generated <= settings.max_num_batched_tokens
                )
            ):
                seq = self._admit_head()
                chunks.append((seq, seq.target))
                tokens += seq.target
            if not chunks:
                while self._used() + self._n_dec > cap:
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
            new += chunk
            read += seq.prefilled
            pairs += chunk * (seq.prefilled + chunk)
        memory = (self._weights + self._kvb * read) / self._bw
        compute = (self._two_params * new + self._attn * pairs) / self._flops
        self._mode = _PREFILL_STEP
        self._step_chunks = chunks
        self._step_decodes = decodes
        self._run = None
        self._next = self._t + max(memory, compute) / self._speedup + self._overhead

    def _start_decode_run(self) -> None:
        n = self._n_dec
        held = float(self._decoder_held())
        bw, flops = self._bw, self._flops
        run = DecodeRun(
            (self._weights + self._kvb * held) / bw,
            self._kvb * n / bw,
            (self._two_params * n + self._attn * held) / flops,
            self._attn * n / flops,
            speedup=self._speedup,
            overhead=self._overhead,
        )
        heap = self._heap
        while heap and (heap[0][2].order != heap[0][1] or not heap[0][2].decoding):
            heapq.heappop(heap)  # drop entries of preempted sequences
        steps = heap[0][0] - self._d
        # the KV cache overflows at the first boundary k where used + n·k + n > capacity
        room = self._capacity - self._used() - n
        steps = min(steps, room // n + 1)
        if self._waiting and self._head_fits_after(1):
            steps = 1
        self._mode = _DECODE_RUN
        self._run = run
        self._run_steps = steps
        self._next = self._t + run.duration(steps)
