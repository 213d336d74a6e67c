"""From a scenario's GPU pool to the servers the simulation drives."""

from __future__ import annotations

from capacity.config.gpus import GpuCatalog, GpuPool
from capacity.gpu.analytic import AnalyticServer
from capacity.gpu.roofline import Deployment, deployment
from capacity.gpu.server import BatchingServer, ServerSettings
from capacity.gpu.stepped import SteppedServer


def pool_deployment(catalog: GpuCatalog, pool: GpuPool) -> Deployment:
    """What one server of the pool runs (unknown catalogue keys raise UsageError)."""
    return deployment(
        catalog, pool.gpu, pool.model, precision=pool.precision, engine=pool.engine, gpus=pool.gpus_per_server
    )


def pool_settings(pool: GpuPool) -> ServerSettings:
    """The pool's scheduler limits."""
    return ServerSettings(pool.max_batch, pool.max_num_batched_tokens, pool.chunked_prefill)


def make_servers(catalog: GpuCatalog, pool: GpuPool, *, reference: bool = False) -> list[BatchingServer]:
    """One server object per server of the pool: AnalyticServer, or SteppedServer if ``reference``."""
    dep = pool_deployment(catalog, pool)
    settings = pool_settings(pool)
    kind = SteppedServer if reference else AnalyticServer
    return [kind(dep, settings) for _ in range(pool.servers)]
