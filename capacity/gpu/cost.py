"""What a GPU pool costs: owned hardware amortised, or rented by the GPU-hour.

Owned: (GPUs × purchase price + servers × server price) ÷ amortisation months, plus
electricity (board power of every GPU, drawn whenever the pool is on — an upper bound, as
idle cards draw less) and hosting per server. Rented: GPU-hours × price, for the hours the
pool is up: 24 a day (``always_on``) or the scenario's active business hours on interviewing
days (``business_hours``, an autoscaling schedule). A month is 30 days; business-hours pools
run on about 22 interviewing days of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from capacity.config.gpus import GpuCatalog, GpuPool
from capacity.units import DAYS_PER_MONTH


@dataclass(frozen=True)
class PoolCost:
    """Monthly cost of one pool, USD, and how it splits."""

    hardware_usd_per_month: float  # amortised purchase (owned) or rent (rented)
    electricity_usd_per_month: float
    hosting_usd_per_month: float
    purchase_usd: float  # up-front outlay (owned), 0 when rented
    gpu_hours_per_month: float

    @property
    def usd_per_month(self) -> float:
        """Total per month."""
        return self.hardware_usd_per_month + self.electricity_usd_per_month + self.hosting_usd_per_month

    @property
    def running_usd_per_month(self) -> float:
        """What a month costs once owned hardware is paid for (electricity + hosting, or rent)."""
        if self.purchase_usd > 0:
            return self.electricity_usd_per_month + self.hosting_usd_per_month
        return self.usd_per_month


def pool_cost(
    catalog: GpuCatalog,
    pool: GpuPool,
    *,
    active_hours_per_day: float,
    interviewing_days_per_month: float = 22.0,
) -> PoolCost:
    """Monthly cost of ``pool`` (raises UsageError for a GPU with no price where one is needed)."""
    from capacity.errors import UsageError

    gpu = catalog.gpu(pool.gpu)
    gpus = pool.servers * pool.gpus_per_server
    if pool.schedule == "business_hours":
        hours = active_hours_per_day * interviewing_days_per_month
    else:
        hours = 24.0 * DAYS_PER_MONTH
    gpu_hours = gpus * hours
    if pool.ownership == "rented":
        rate = pool.rent_usd_per_gpu_hour if pool.rent_usd_per_gpu_hour is not None else gpu.rent_usd_per_hour
        if rate is None:
            raise UsageError(
                f"gpu pool {pool.name!r}: no rental price for {pool.gpu}; set rent_usd_per_gpu_hour"
            )
        return PoolCost(gpu_hours * rate, 0.0, 0.0, 0.0, gpu_hours)
    price = pool.purchase_usd_per_gpu if pool.purchase_usd_per_gpu is not None else gpu.purchase_usd
    if price is None:
        raise UsageError(
            f"gpu pool {pool.name!r}: no purchase price for {pool.gpu}; set purchase_usd_per_gpu"
        )
    purchase = gpus * price + pool.servers * pool.server_usd
    # owned hardware is on around the clock unless scheduled; electricity only while on
    kwh = gpus * gpu.board_power_w / 1000.0 * hours
    return PoolCost(
        purchase / pool.amortisation_months,
        kwh * pool.electricity_usd_per_kwh,
        pool.servers * pool.hosting_usd_per_month,
        purchase,
        gpu_hours,
    )
