"""Model groups: named sets of destinations, each with its own routing strategy.

A scenario's ``routing.destinations`` (with ``routing.strategy``) is the group ``default``;
``routing.groups`` adds more (``fast``, ``smart``), and each stage of the script names the
group that answers it (``group:``, default ``default``). A stage's requests are routed only
within its group — a follow-up question on a small, cheap model, the final scoring on a large
one — while the quota ledger stays shared: a model written in two groups is one destination
with one ledger, and two models of one provider account draw on the same account-wide windows.

The tool cannot judge answer quality: whether a small model asks good enough follow-up
questions is for the team to measure (:data:`QUALITY_NOTE`). The published routing results
are about chat benchmarks, not interviews: RouteLLM (Ong et al., arXiv:2406.18665) kept 95 % of
GPT-4's quality while sending 14 % of MT Bench queries to it (cost −85 % on MT Bench, −45 % on
MMLU, −35 % on GSM8K); Hybrid LLM (Ding et al., arXiv:2404.14618) made up to 40 % fewer calls to
the large model with no drop in quality. No study was found that measures a small (≈8B) model
against a large one on an interview's simple turns (../shared/facts/batch-and-tiers.md §3).

All destinations of all groups form one flat list, :func:`flatten` (the default group's in
order, then each group's not already listed): the index space of the router, the simulator's
stations and every per-destination report row. A scenario without groups has exactly its
``routing.destinations`` there, so its numbers do not move.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from capacity.config.base import Model

__all__ = ["DEFAULT_GROUP", "QUALITY_NOTE", "Destination", "ModelGroup", "StrategyName", "flatten"]

DEFAULT_GROUP = "default"
"""The group of ``routing.destinations`` and ``routing.strategy``; a stage's group unless it names one."""

QUALITY_NOTE = (
    "Model groups: the tool cannot judge answer quality; whether each stage's group answers well enough is for "
    "the team to measure. Published routing results come from chat benchmarks, not interviews: RouteLLM "
    "(arXiv:2406.18665) kept 95% of GPT-4's quality sending 14% of MT Bench queries to it; Hybrid LLM "
    "(arXiv:2404.14618) made up to 40% fewer calls to the large model with no drop in quality. No study of a "
    "small model on an interview's simple turns was found."
)
"""What every output that shows a group choice says about it."""

StrategyName = Literal["fill_first", "weighted", "most_headroom", "latency_aware", "cost_aware"]
"""A routing strategy (:mod:`capacity.policy.router`)."""


class Destination(Model):
    """Where the router may send requests: a provider model, or a self-hosted GPU pool."""

    provider: str | None = Field(
        default=None, description="A provider in providers.yaml (or extra_providers)."
    )
    model: str | None = Field(default=None, description="One of that provider's models.")
    pool: str | None = Field(default=None, description="Or: the name of one of the scenario's gpu_pools.")
    accounts: PositiveInt | None = Field(default=None, description="Override the provider's accounts.")
    weight: PositiveFloat = Field(default=1.0, description="Relative share for the weighted strategy.")

    @model_validator(mode="after")
    def _one_kind(self) -> Destination:
        api = self.provider is not None or self.model is not None
        if api and self.pool is not None:
            raise ValueError("a destination is either provider + model or pool, not both")
        if not api and self.pool is None:
            raise ValueError("a destination needs provider + model, or pool")
        if api and (self.provider is None or self.model is None):
            raise ValueError("an API destination needs both provider and model")
        return self

    @property
    def label(self) -> str:
        """``provider/model``, or ``gpu:pool``."""
        return f"gpu:{self.pool}" if self.pool is not None else f"{self.provider}/{self.model}"


class ModelGroup(Model):
    """A named model group: the destinations that answer the stages naming it, and in what order."""

    strategy: StrategyName = Field(default="fill_first", description="Order in which its destinations are tried.")
    destinations: list[Destination] = Field(
        min_length=1,
        description="In priority order; a destination also in another group (same provider and model, or same "
        "pool) is the same one, with one quota ledger, and must be written the same (accounts, weight).",
    )
    description: str = Field(default="", description="What the group is for (shown by `GET /v1/models`).")


def flatten(
    destinations: list[Destination], groups: dict[str, ModelGroup]
) -> tuple[list[Destination], dict[str, tuple[int, ...]]]:
    """Every destination once, and each group's members as indices into that list.

    Returns ``(flat, members)``: ``flat`` is ``destinations`` followed by each group's destinations
    (in the groups' order) whose label is not already in it; ``members`` maps ``default`` and each
    group name to its destinations' positions in ``flat``, in the group's priority order.
    """
    flat = list(destinations)
    position: dict[str, int] = {}
    for i, d in enumerate(flat):
        position.setdefault(d.label, i)
    members: dict[str, tuple[int, ...]] = {DEFAULT_GROUP: tuple(range(len(destinations)))}
    for name, group in groups.items():
        own: list[int] = []
        for d in group.destinations:
            if d.label not in position:
                position[d.label] = len(flat)
                flat.append(d)
            own.append(position[d.label])
        members[name] = tuple(own)
    return flat, members
