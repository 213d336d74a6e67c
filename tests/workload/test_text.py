"""Token counting without a tokenizer, and text written to that measure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.workload.text import count_tokens, synthetic_text


def test_a_token_is_a_whitespace_separated_word() -> None:
    assert count_tokens("") == 0
    assert count_tokens("  \n\t ") == 0
    assert count_tokens("Tell me about a project you led.") == 7
    assert count_tokens("one\ntwo\tthree  four") == 4


@given(st.integers(0, 5000), st.integers(0, 100))
def test_synthetic_text_has_exactly_the_tokens_asked_for(tokens: int, start: int) -> None:
    assert count_tokens(synthetic_text(tokens, start)) == tokens


def test_pieces_of_synthetic_text_continue_one_another() -> None:
    whole = synthetic_text(50)
    assert synthetic_text(20) + " " + synthetic_text(30, start=20) == whole


def test_a_negative_length_is_refused() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        synthetic_text(-1)
