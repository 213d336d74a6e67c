"""Question banks: a stage answered from variants written once per role.

A stage with a ``bank:`` (:class:`capacity.config.levers.Bank`) sends no request during the
interviews. Before the first interview, ``variants`` answers are written for each of the
scenario's roles (``candidates.roles``; candidate *i* applies for role *i* mod roles), one
request each; every interview then takes one of its role's variants. Which one is the bank's
``policy``: ``random`` (uniform, from a seeded stream) or ``least_used`` (the variant used least
so far, the lowest index on a tie), which spreads exposure evenly — how often one variant is
reused is what a team would watch, since candidates may share questions.

The bank's one-off requests are written before the run starts and are not charged to the run's
quota windows; their count and price are reported apart (:func:`bank_cost_usd`).
"""

from __future__ import annotations

import numpy as np

from capacity.config.levers import Bank
from capacity.config.providers import Prices
from capacity.units import MTOK

__all__ = ["QuestionBank", "bank_cost_usd"]


class QuestionBank:
    """One stage's bank: ``variants`` per role, and how often each has been used."""

    def __init__(self, bank: Bank, roles: int, rng: np.random.Generator | None) -> None:
        self.bank = bank
        self.roles = roles
        self.uses = np.zeros((roles, bank.variants), dtype=np.int64)
        self.rng = rng
        if bank.policy == "random" and rng is None:
            raise ValueError("a random bank needs a random stream")

    @property
    def requests(self) -> int:
        """Requests that write the bank, once: variants × roles."""
        return self.bank.variants * self.roles

    def draw(self, candidate: int) -> int:
        """The variant ``candidate``'s interview takes (its index within the role's bank)."""
        row = self.uses[candidate % self.roles]
        if self.bank.policy == "least_used":
            variant = int(np.argmin(row))
        else:
            assert self.rng is not None
            variant = int(self.rng.integers(self.bank.variants))
        row[variant] += 1
        return variant

    @property
    def max_uses(self) -> int:
        """The most interviews any one variant served."""
        return int(self.uses.max()) if self.uses.size else 0


def bank_cost_usd(requests: int, tokens_in: float, tokens_out: float, prices: Prices | None, factor: float) -> float:
    """The one-off price of writing a bank, $: ``requests`` × (input, output tokens each) at the
    list ``prices`` × ``factor`` (the batch price factor, or 1 off-peak); 0 with no prices (a free tier)."""
    if prices is None:
        return 0.0
    return requests * (tokens_in * prices.usd_per_mtok_in + tokens_out * prices.usd_per_mtok_out) / MTOK * factor
