"""The interview script compiled into turns, and its expected token use.

A *turn* is one logical request of an interview (greeting, question 3, …). Its prompt is
the system prompt + the stage's own instructions + the resume (if the stage reads it) +
the conversation so far (if it reads the history). The history grows by every candidate
answer (after the candidate speaks) and by the output of each stage that ``adds_to_history``,
so later turns carry longer prompts: this is why tokens per interview grow faster than the
number of turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from capacity.config.levers import Bank, Deferral
from capacity.config.scenario import Script, StageCache
from capacity.workload.distributions import Sampler, sampler


@dataclass(frozen=True, slots=True)
class Turn:
    """One logical request of the script, with what does not change between interviews."""

    index: int
    stage: str
    template: bool
    candidate_speaks_before: bool
    fixed_input_tokens: int  # system prompt + stage instructions + resume, if read
    reads_history: bool
    adds_to_history: bool
    max_output_tokens: int
    output_tokens: Sampler
    cache: StageCache
    candidate_waits: bool  # its latency counts against the service level
    deferral: Deferral | None = None  # made between booking and interview (config.levers)
    bank: Bank | None = None  # answered from a bank of variants per role (config.levers)

    @property
    def ahead(self) -> bool:
        """Its request is made before the interview (deferred or banked)."""
        return self.deferral is not None or self.bank is not None


@dataclass(frozen=True)
class TurnTokens:
    """Expected tokens of one turn (means)."""

    stage: str
    template: bool
    input_tokens: float
    output_tokens: float
    reserved_tokens: float  # input + max output: what token quotas are charged at admission


@dataclass(frozen=True)
class CompiledScript:
    """An interview script as a sequence of turns plus the candidate's behaviour."""

    turns: tuple[Turn, ...]
    answer_tokens: Sampler
    think_time_s: Sampler

    @property
    def requests_per_interview(self) -> int:
        """Logical requests, templates included (the seed's 26)."""
        return len(self.turns)

    @property
    def api_turns(self) -> tuple[Turn, ...]:
        """Turns that need a model (not served by a template)."""
        return tuple(t for t in self.turns if not t.template)

    def expected_tokens(self) -> list[TurnTokens]:
        """Mean input/output tokens of each turn, with the context growth of a mean interview."""
        history = 0.0
        out: list[TurnTokens] = []
        for turn in self.turns:
            if turn.candidate_speaks_before:
                history += self.answer_tokens.mean
            tokens_in = turn.fixed_input_tokens + (history if turn.reads_history else 0.0)
            tokens_out = min(turn.output_tokens.mean, float(turn.max_output_tokens))
            out.append(
                TurnTokens(
                    turn.stage, turn.template, tokens_in, tokens_out, tokens_in + turn.max_output_tokens
                )
            )
            if turn.adds_to_history:
                history += tokens_out
        return out

    def expected_api_tokens_per_interview(self) -> tuple[float, float]:
        """Mean (input, output) tokens per interview over the turns that call a model."""
        rows = [t for t in self.expected_tokens() if not t.template]
        return sum(t.input_tokens for t in rows), sum(t.output_tokens for t in rows)

    def expected_interview_duration_s(self) -> float:
        """Mean length of an interview from the candidate's speaking time alone (latency excluded), s."""
        speaks = sum(1 for t in self.turns if t.candidate_speaks_before)
        return speaks * self.think_time_s.mean


def compile_script(script: Script) -> CompiledScript:
    """Expand opening / rounds / closing into turns."""
    turns = []
    for index, name in enumerate(script.sequence()):
        stage = script.stages[name]
        fixed = script.system_prompt_tokens + stage.input.extra_tokens
        if stage.input.resume:
            fixed += script.resume_tokens
        turns.append(
            Turn(
                index=index,
                stage=name,
                template=stage.template,
                candidate_speaks_before=stage.candidate_speaks_before,
                fixed_input_tokens=fixed,
                reads_history=stage.input.history,
                adds_to_history=stage.adds_to_history,
                max_output_tokens=stage.max_output_tokens,
                output_tokens=sampler(stage.output_tokens),
                cache=stage.cache,
                candidate_waits=stage.candidate_waits,
                deferral=stage.deferral,
                bank=stage.bank,
            )
        )
    return CompiledScript(tuple(turns), sampler(script.answer_tokens), sampler(script.think_time_s))
