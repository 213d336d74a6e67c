"""Erlang B and C against textbook values and their closed forms."""

from __future__ import annotations

import math

import pytest

from capacity.plan.erlang import erlang_b, erlang_c, mean_wait_s


def _erlang_c_closed_form(c: int, a: float) -> float:
    """The textbook sum, for comparison with the recursion."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_textbook_values() -> None:
    # two servers at one erlang: C = 1/3 (e.g. Kleinrock vol. 1, M/M/2 with ρ = 1/2)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    # M/M/1: the probability of waiting is the utilisation ρ, and W_q = ρ / (μ − λ)
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)
    assert mean_wait_s(0.7, 1.0, 1) == pytest.approx(0.7 / 0.3, rel=1e-12)
    # Erlang B: 1 server at 1 erlang blocks half the arrivals; 2 servers at 1 erlang 1/5
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    # four servers at three erlangs: C = 13.5 / 26.5, W_q = C / (4 − 3) s for μ = 1
    assert erlang_c(4, 3.0) == pytest.approx(13.5 / 26.5, rel=1e-12)
    assert mean_wait_s(3.0, 1.0, 4) == pytest.approx(13.5 / 26.5, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1, 0.1), (3, 2.2), (10, 7.5), (25, 24.0), (60, 30.0)])
def test_recursion_matches_closed_form(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(_erlang_c_closed_form(c, a), rel=1e-10)


def test_limits() -> None:
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c(3, 3.0) == 1.0  # at or above saturation everyone waits
    assert erlang_c(3, 5.0) == 1.0
    assert mean_wait_s(3.0, 1.0, 3) == math.inf
    assert mean_wait_s(0.0, 2.0, 1) == 0.0
    # W_q scales with the service time: halve μ and λ, the wait doubles
    assert mean_wait_s(1.5, 0.5, 4) == pytest.approx(2 * mean_wait_s(3.0, 1.0, 4))
    with pytest.raises(ValueError, match="servers"):
        erlang_c(0, 1.0)
    with pytest.raises(ValueError, match="service_rate"):
        mean_wait_s(1.0, 0.0, 1)
