"""Variants of a configuration a study simulates: a resized GPU pool, a pool taking every request.

Each returns a new :class:`~capacity.config.loader.Configuration`; the original is frozen and
untouched. Demand is varied by :func:`capacity.studies.demand.scale_demand`.
"""

from __future__ import annotations

import dataclasses

from capacity.config.gpus import GpuPool
from capacity.config.groups import Destination
from capacity.config.loader import Configuration
from capacity.errors import UsageError


def sized_pool(config: Configuration, name: str | None = None) -> GpuPool:
    """The GPU pool to size: ``name``, or the scenario's only pool.

    Raises UsageError when there is no such pool, no pool at all, or several and no name.
    """
    pools = config.scenario.gpu_pools
    if name is not None:
        for pool in pools:
            if pool.name == name:
                return pool
        known = ", ".join(p.name for p in pools) or "none"
        raise UsageError(f"scenario {config.scenario.name} has no gpu pool {name!r} (gpu_pools: {known})")
    if not pools:
        raise UsageError(
            f"scenario {config.scenario.name} has no gpu_pools to size; name a GPU and model "
            "(--gpu, --model) or use a scenario with one (B-gpu)"
        )
    if len(pools) > 1:
        raise UsageError(
            f"scenario {config.scenario.name} has {len(pools)} gpu pools; choose one with --pool "
            f"({', '.join(p.name for p in pools)})"
        )
    return pools[0]


def with_servers(config: Configuration, pool_name: str, servers: int) -> Configuration:
    """``config`` with pool ``pool_name`` resized to ``servers`` servers (UsageError below one)."""
    if servers < 1:
        raise UsageError(f"a pool needs at least one server, got {servers}")
    sc = config.scenario
    pools = [p.model_copy(update={"servers": servers}) if p.name == pool_name else p for p in sc.gpu_pools]
    return dataclasses.replace(config, scenario=sc.model_copy(update={"gpu_pools": pools}))


def with_pool_only(config: Configuration, pool: GpuPool) -> Configuration:
    """``config`` with ``pool`` as its only GPU pool and only destination (every request to it)."""
    sc = config.scenario
    routing = sc.routing.model_copy(update={"destinations": [Destination(pool=pool.name)]})
    return dataclasses.replace(config, scenario=sc.model_copy(update={"gpu_pools": [pool], "routing": routing}))


def with_precision(config: Configuration, pool_name: str, precision: str) -> Configuration:
    """``config`` with pool ``pool_name`` running its model in weight format ``precision``."""
    sc = config.scenario
    pools = [p.model_copy(update={"precision": precision}) if p.name == pool_name else p for p in sc.gpu_pools]
    return dataclasses.replace(config, scenario=sc.model_copy(update={"gpu_pools": pools}))


def one_card(config: Configuration, *, model: str, precision: str = "fp16") -> Configuration:
    """``config``'s first pool as one server running ``model`` in ``precision`` (every pool re-modelled)."""
    pool = config.scenario.gpu_pools[0]
    resized = with_servers(config, pool.name, 1)
    sc = resized.scenario
    pools = [p.model_copy(update={"model": model, "precision": precision}) for p in sc.gpu_pools]
    return dataclasses.replace(resized, scenario=sc.model_copy(update={"gpu_pools": pools}))
