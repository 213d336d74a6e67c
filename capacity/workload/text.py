"""Token counting and synthetic text, without a tokenizer.

No tokenizer is downloaded or shipped (the tool runs offline), so the package counts tokens
with one documented approximation: **one token per whitespace-separated word**. Real BPE
tokenizers give about 1.3 tokens per English word (OpenAI's rule of thumb: 100 tokens ≈ 75
words), so against a real provider this measure *undercounts* by about a quarter; against the
provider emulator it is exact, because the emulator counts with the same function and the live
driver writes its synthetic prompts to this measure. A plan that needs real token counts must
be calibrated against a real endpoint.

:func:`synthetic_text` writes text of an exact token count under this measure: it is what the
emulator answers with and what a load driver sends as a candidate's answer.
"""

from __future__ import annotations

__all__ = ["count_tokens", "synthetic_text"]

_SENTENCE = (
    "the candidate described a project where latency mattered and explained how the team measured "
    "throughput under load then chose a queue with bounded memory before rolling the change out "
    "across regions while keeping the error budget within the agreed service level"
)
_WORDS = tuple(_SENTENCE.split())


def count_tokens(text: str) -> int:
    """Tokens in ``text`` under this package's measure: its whitespace-separated words.

    ``""`` and whitespace-only text count 0. Not a BPE count: see the module docstring.
    """
    return len(text.split())


def synthetic_text(tokens: int, start: int = 0) -> str:
    """``tokens`` words of plain English-like text (exactly ``tokens`` by :func:`count_tokens`).

    ``start`` offsets into the fixed word cycle, so consecutive pieces of one answer
    (streamed chunks) continue the same sentence. Raises ``ValueError`` if ``tokens < 0``.
    """
    if tokens < 0:
        raise ValueError(f"tokens must be ≥ 0, got {tokens}")
    n = len(_WORDS)
    return " ".join(_WORDS[(start + i) % n] for i in range(tokens))
