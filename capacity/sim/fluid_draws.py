"""An interview's token counts in the fluid fast mode (:mod:`capacity.sim.fluid`), drawn as it starts.

The exact engine draws each turn's output and the candidate's answer as the turn happens; the
fluid engine draws a whole interview at once, per session, from the same distributions of the
compiled script: each turn's output (rounded, capped at the turn's ``max_tokens``) and each
answer the candidate speaks before a turn. A turn's prompt is then its fixed part plus, if it
reads the conversation, the answers up to it and the outputs before it that join the history —
as the exact engine builds it — so that small requests get through a token budget where large
ones do not.
"""

from __future__ import annotations

import numpy as np

from capacity.sim.fluid_quota import FloatArray
from capacity.workload.script import CompiledScript


class InterviewDraws:
    """The script's per-turn shape and the draws of whole interviews (:meth:`draw`), tokens."""

    def __init__(self, script: CompiledScript, token_rng: np.random.Generator, answer_rng: np.random.Generator) -> None:
        turns = script.turns
        self.script = script
        self.token_rng = token_rng
        self.answer_rng = answer_rng
        self.max_out = np.array([t.max_output_tokens for t in turns], dtype=np.int64)
        """Each turn's ``max_tokens``: its output cap, tokens."""
        self.fixed_in = np.array([t.fixed_input_tokens for t in turns], dtype=float)
        """Each turn's prompt without the conversation, tokens."""
        self.reads = np.array([t.reads_history for t in turns])
        """Whether each turn's prompt carries the conversation so far."""
        self.adds = np.array([t.adds_to_history for t in turns])
        """Whether each turn's output joins the conversation."""
        self.speaks = np.array([t.candidate_speaks_before for t in turns])
        """Whether the candidate answers before each turn (a think time, then an answer)."""

    def draw(self, interviews: int) -> tuple[FloatArray, FloatArray]:
        """Draw ``interviews`` whole interviews: (prompt tokens, output tokens), each of shape
        (interviews, turns). Output tokens are drawn from ``token_rng``, turn by turn; the candidate's
        answers from ``answer_rng``, after them."""
        k = interviews
        out = np.empty((k, len(self.max_out)))
        if not k:
            return out, out.copy()
        for t, turn in enumerate(self.script.turns):
            out[:, t] = np.minimum(np.round(turn.output_tokens.sample_block(self.token_rng, k)), self.max_out[t])
        answers = np.zeros_like(out)
        speaking = np.flatnonzero(self.speaks)
        if len(speaking):
            answers[:, speaking] = self.script.answer_tokens.sample_block(self.answer_rng, k * len(speaking)).reshape(
                k, -1
            )
        added = out * self.adds
        history = np.cumsum(answers, axis=1) + np.cumsum(added, axis=1) - added
        return self.fixed_in + np.where(self.reads, np.round(history), 0.0), out
