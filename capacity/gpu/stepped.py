"""The reference server: one batching step at a time, every sequence tracked by hand.

Slow (a Python loop over the batch per decode step) and plain on purpose: it is the
specification :class:`~capacity.gpu.analytic.AnalyticServer` is tested against. The
scheduling rules are those of :mod:`capacity.gpu.server`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable

from capacity.errors import ModelError
from capacity.gpu.prefix_cache import PrefixCache
from capacity.gpu.roofline import Deployment, causal_pairs, check_startup
from capacity.gpu.server import Completion, ServerSettings, check_request


class _Sequence:
    """A request inside the server."""

    __slots__ = (
        "base",
        "cached",
        "conversation",
        "first_token_s",
        "generated",
        "held",
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
        self.prompt = prompt  # original prompt tokens
        self.output = output  # output tokens wanted
        self.generated = 0  # output tokens produced so far
        self.base = 0  # prompt tokens found in the prefix cache at this admission
        self.cached = 0  # prompt tokens the admission that emitted the first token reused from the cache
        self.target = 0  # tokens this admission prefills (prompt + output to recompute − base)
        self.prefilled = 0  # of which done
        self.held = 0  # KV tokens held (reserved at admission, +1 per decode step)
        self.reserved = 0  # KV tokens counted against the cache (full reservation: prompt + output)
        self.first_token_s = math.nan

    @property
    def to_prefill(self) -> int:
        """Tokens an admission now would prefill: the prompt plus any output to recompute."""
        return self.prompt + self.generated

    @property
    def decoding(self) -> bool:
        """Admitted and prefill done: the sequence emits one token per step."""
        return self.held > 0 and self.prefilled == self.target


class SteppedServer:
    """Continuous batching executed step by step (the slow reference).

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
        self._waiting: deque[_Sequence] = deque()
        self._running: list[_Sequence] = []  # in admission order
        self._used = 0  # KV tokens counted against the cache by running sequences
        self._step_end = math.inf
        self._step_decoders: list[_Sequence] = []
        self._step_chunks: list[tuple[_Sequence, int]] = []
        self._done: list[Completion] = []
        self.steps = 0  # steps executed (for tests and benchmarks)
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
    def prefix_cache(self) -> PrefixCache | None:
        """Idle conversations' cached prefixes (None when prefix caching is off)."""
        return self._cache

    def submit(
        self,
        now: float,
        request_id: int,
        prompt_tokens: int,
        output_tokens: int,
        conversation: Hashable | None = None,
    ) -> None:
        """A request arrives at ``now``; it joins the queue and is admitted at the next boundary."""
        total = prompt_tokens + output_tokens
        if prompt_tokens < 1 or output_tokens < 1 or total > self._capacity or total > self._max_len:
            check_request(self._deployment, prompt_tokens, output_tokens, self._capacity, self._max_len)
        self._run_until(now)
        self._waiting.append(_Sequence(request_id, now, prompt_tokens, output_tokens, conversation))
        if self._step_end == math.inf:
            self._start_step(now)

    def next_event_time(self) -> float:
        """End of the step in progress; inf when idle."""
        return self._step_end

    def advance(self, now: float) -> list[Completion]:
        """Execute every step that ends by ``now``; the requests finished by then."""
        self._run_until(now)
        done, self._done = self._done, []
        return done

    def _run_until(self, now: float) -> None:
        while self._step_end <= now and self._step_end != math.inf:
            boundary = self._step_end
            self._finish_step(boundary)
            self._start_step(boundary)

    def _evict(self) -> None:
        if self._cache is not None:
            self._cache.evict_to(self._capacity - self._used)

    def _finish_step(self, now: float) -> None:
        for seq in self._step_decoders:
            seq.generated += 1
            seq.held += 1
        if not self._full:
            self._used += len(self._step_decoders)
        self._evict()
        for seq, chunk in self._step_chunks:
            seq.prefilled += chunk
            if seq.prefilled == seq.target:
                seq.generated += 1  # the step that completes a prompt samples the next token
                if math.isnan(seq.first_token_s):
                    seq.first_token_s = now
                    seq.cached = seq.base
        self.steps += 1
        still: list[_Sequence] = []
        for seq in self._running:
            if seq.generated == seq.output:
                self._used -= seq.reserved if self._full else seq.held
                if self._cache is not None and seq.conversation is not None:
                    self._cache.put(seq.conversation, seq.prompt + seq.output - 1)
                self._done.append(Completion(seq.request_id, seq.submitted_s, seq.first_token_s, now, seq.cached))
            else:
                still.append(seq)
        self._running = still

    def _preempt_newest(self) -> None:
        victim = self._running.pop()
        self._used -= victim.reserved if self._full else victim.held
        victim.held = 0
        victim.reserved = 0
        victim.prefilled = 0
        victim.base = 0
        self._waiting.appendleft(victim)
        self.preemptions += 1

    def _need(self, seq: _Sequence) -> int:
        """KV tokens admitting ``seq`` adds to the used count."""
        return seq.prompt + seq.output if self._full else seq.to_prefill + 1

    def _growth(self, decoders: int) -> int:
        return 0 if self._full else decoders

    def _admit_head(self) -> _Sequence:
        seq = self._waiting.popleft()
        hit = 0
        if self._cache is not None and seq.conversation is not None and seq.generated == 0:
            hit = self._cache.take(seq.conversation, seq.prompt)
        seq.base = hit
        seq.target = seq.to_prefill - hit
        seq.held = seq.to_prefill + 1  # the prompt and the token its prefill emits
        seq.reserved = seq.prompt + seq.output
        self._used += self._need(seq)
        self._running.append(seq)
        self._evict()
        return seq

    def _start_step(self, now: float) -> None:
        settings = self._settings
        decoders: list[_Sequence] = []
        chunks: list[tuple[_Sequence, int]] = []
        if settings.chunked_prefill:
            preempted = False
            while self._used + self._growth(sum(1 for s in self._running if s.decoding)) > self._capacity:
                self._preempt_newest()
                preempted = True
            decoders = [s for s in self._running if s.decoding]
            budget = self._budget - len(decoders)
            for seq in self._running:
                if not seq.decoding and budget > 0:
                    chunk = min(seq.target - seq.prefilled, budget)
                    chunks.append((seq, chunk))
                    budget -= chunk
            while (
                not preempted
                and self._waiting
                and budget > 0
                and len(self._running) < settings.max_batch
                and self._used + self._growth(len(decoders)) + self._need(self._waiting[0]) <= self._capacity
            ):
                seq = self._admit_head()
                chunk = min(seq.target, budget)
                chunks.append((seq, chunk))
                budget -= chunk
        else:
            tokens = 0
            while (
                self._waiting
                and len(self._running) < settings.max_batch
                and self._used + self._need(self._waiting[0]) <= self._capacity
                and (not chunks or tokens + self._waiting[0].to_prefill <= self._budget)
            ):
                seq = self._admit_head()
                chunks.append((seq, seq.target))
                tokens += seq.target
            if not chunks:
                while self._used + self._growth(len(self._running)) > self._capacity:
                    self._preempt_newest()
                decoders = list(self._running)
        self._step_decoders = decoders
        self._step_chunks = chunks
        if not decoders and not chunks:
            if self._waiting:
                raise ModelError("requests wait but nothing can run: the scheduler is stuck")
            self._step_end = math.inf
            return
        new = len(decoders) + sum(c for _, c in chunks)
        read = float(sum(s.held for s in decoders))
        pairs = read
        for seq, chunk in chunks:
            before = seq.base + seq.prefilled
            read += before
            pairs += causal_pairs(before, chunk)
        sequences = len(decoders) + len(chunks)
        self._step_end = now + self._deployment.step_time_s(new, read, pairs, sequences)
