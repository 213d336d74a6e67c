"""The chat messages of a live call: synthetic text of the sampled length.

A live rehearsal sends real chat requests, so each call needs messages. They are synthetic —
a system prompt, a resume, the conversation so far and the stage's instruction, made of
plain words — and sized to the prompt tokens the script sampled, counting one token per
whitespace-separated word (the provider emulator counts the same way; a real provider's
tokenizer differs by some tens of percent, and its reported ``usage`` is what the ledger
settles with). The text is deterministic in (candidate, stage, length).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["chat_messages", "words"]

_VOCABULARY: tuple[str, ...] = (
    "project", "team", "design", "system", "data", "model", "customer", "latency", "service", "deploy",
    "review", "test", "python", "api", "cache", "queue", "scale", "budget", "deadline", "lead", "mentor",
    "incident", "metric", "product", "feature", "migrate", "refactor", "analyse", "plan", "deliver",
    "improve", "measure", "learn", "build", "ship",
)  # fmt: skip

_TABLE_WORDS = 1 << 16
_TABLE: list[str] = np.array(_VOCABULARY)[
    np.random.default_rng(20251006).integers(0, len(_VOCABULARY), _TABLE_WORDS)
].tolist()
"""65,536 words of filler drawn once; a text is a run of them (no generator per request)."""

_INSTRUCTIONS = {
    "resume_analysis": "Summarise the candidate's resume against the job description.",
    "question": "Ask the next interview question.",
    "evaluate": "Evaluate the candidate's last answer and ask a follow-up.",
    "final_scoring": "Score the interview on each competency and justify each score.",
}


def words(n: int, seed: str) -> str:
    """``n`` words of filler, deterministic in ``seed``: the run of :data:`_TABLE` starting where
    the seed's hash points, wrapping round (a 5,000-word resume is a slice and a join: tens of
    microseconds on the request's hot path, where a generator per request cost more)."""
    if n <= 0:
        return ""
    start = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=8).digest(), "big") % _TABLE_WORDS
    if start + n <= _TABLE_WORDS:
        return " ".join(_TABLE[start : start + n])
    picked: list[str] = []
    while n > 0:
        take = min(n, _TABLE_WORDS - start)
        picked += _TABLE[start : start + take]
        n, start = n - take, 0
    return " ".join(picked)


def chat_messages(stage: str, candidate: int, prompt_tokens: int) -> list[dict[str, str]]:
    """A system and a user message of ``prompt_tokens`` words in all, for ``stage`` of ``candidate``."""
    instruction = _INSTRUCTIONS.get(stage, f"Carry out the interview stage {stage}.")
    head = f"You are an interviewer. Stage: {stage}. {instruction}"
    head_words = len(head.split())
    if prompt_tokens <= head_words:
        return [{"role": "user", "content": " ".join(head.split()[: max(prompt_tokens, 1)])}]
    body = words(prompt_tokens - head_words, f"{candidate}:{stage}:{prompt_tokens}")
    return [{"role": "system", "content": head}, {"role": "user", "content": body}]
