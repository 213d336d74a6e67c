"""From a scenario's GPU pool to the servers the simulation drives."""

from __future__ import annotations

from capacity.config.gpus import GpuCatalog, GpuPool
from capacity.errors import UsageError
from capacity.gpu.analytic import AnalyticServer
from capacity.gpu.roofline import Deployment, check_startup, deployment
from capacity.gpu.server import BatchingServer, ServerSettings
from capacity.gpu.stepped import SteppedServer


def pool_settings(pool: GpuPool) -> ServerSettings:
    """The pool's scheduler limits and engine memory settings."""
    return ServerSettings(
        max_batch=pool.max_batch,
        max_num_batched_tokens=pool.max_num_batched_tokens,
        chunked_prefill=pool.chunked_prefill,
        gpu_memory_utilization=pool.gpu_memory_utilization,
        max_model_len=pool.max_model_len,
        block_size=pool.block_size,
        prefix_caching=pool.prefix_caching,
    )


def pool_deployment(catalog: GpuCatalog, pool: GpuPool) -> Deployment:
    """What one server of the pool runs, with the pool's settings (unknown catalogue keys raise UsageError)."""
    return deployment(
        catalog,
        pool.gpu,
        pool.model,
        precision=pool.precision,
        engine=pool.engine,
        gpus=pool.gpus_per_server,
        settings=pool_settings(pool),
    )


def make_servers(catalog: GpuCatalog, pool: GpuPool, *, reference: bool = False) -> list[BatchingServer]:
    """One server object per server of the pool: AnalyticServer, or SteppedServer if ``reference``.

    Raises UsageError, naming the pool and the reason, if the engine would not start.
    """

    dep = pool_deployment(catalog, pool)
    try:
        check_startup(dep, dep.settings)
    except UsageError as error:
        raise UsageError(f"gpu pool {pool.name!r}: {error}") from None
    kind = SteppedServer if reference else AnalyticServer
    return [kind(dep) for _ in range(pool.servers)]
