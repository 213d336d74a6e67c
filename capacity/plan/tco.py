"""Total cost of ownership over months: owned GPUs, rented GPUs and paid APIs; break-even.

Cash basis, in US dollars. An **owned** GPU pool is paid for up front (its cards and servers)
and then costs its running expenses every month: electricity at board power for every hour
the pool is on, and hosting. A **rented** pool costs its rent every month (GPU-hours × price
per GPU-hour, for the hours it is up: 24 a day, or the interviewing hours of the interviewing
days on a business-hours schedule). A **paid API** costs its list price per interview (input
and output tokens × $ per million) × interviews a month. Free tiers cost nothing but carry
little; they appear only where they carry the same volume.

Cumulative cost after *m* whole months = up-front + *m* × monthly, for m = 0 … horizon. The
**break-even month** of an owned option against an alternative is the first whole month at
which the owned option has cost no more, in all, than the alternative (0: cheaper from the
start; ``None``: not within the horizon). The **payback** is the same in fractional months,
up-front ÷ (the alternative's monthly − the owned option's monthly); 0 when owning costs no
more up front; ``None`` when it never catches up (the alternative costs no more a month than
running the cards).

Options are compared at one volume (interviews a month) that each of them must carry: a
comparison says which volume it uses (the demand, or what the GPUs carried in simulation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from capacity.config.gpus import GpuCatalog, GpuPool
from capacity.config.providers import Prices
from capacity.gpu.cost import pool_cost
from capacity.units import MTOK

HORIZON_MONTHS = 36
"""Months a TCO series runs to (the usual amortisation of owned hardware)."""

REPORT_MONTHS = (12, 24, 36)
"""Months at which tables report the cumulative cost."""

TOLERANCE_USD = 1e-9
"""Cost differences below this are ties (floating-point rounding)."""

OptionKind = Literal["owned_gpu", "rented_gpu", "paid_api", "free_tier", "mixed"]


@dataclass(frozen=True)
class TcoOption:
    """One way of carrying a volume of interviews, as cash over time."""

    label: str
    kind: OptionKind
    upfront_usd: float
    """Paid once, at month 0 (cards and servers of an owned pool), USD."""
    monthly_usd: float
    """Paid every month (electricity and hosting, rent, or API bills), USD/month."""
    interviews_per_month: float
    """The volume this option is costed for, interviews a month."""
    note: str = ""
    """Where the figures come from (shown beside the option)."""

    def cumulative_usd(self, month: int) -> float:
        """All cash paid by the end of ``month`` whole months, USD."""
        return self.upfront_usd + month * self.monthly_usd

    def usd_per_interview(self, months: int) -> float:
        """Cash per interview over ``months`` months (up-front spread over them), USD; inf with no volume."""
        interviews = self.interviews_per_month * months
        return self.cumulative_usd(months) / interviews if interviews > 0 else math.inf


@dataclass(frozen=True)
class TcoSeries:
    """Cumulative cost of each option, month by month (what a figure plots)."""

    months: tuple[int, ...]
    """0, 1, …, horizon."""
    cumulative_usd: dict[str, tuple[float, ...]]
    """Per option label: USD paid by the end of each month of ``months``."""
    interviews_per_month: float
    """The common volume the options are costed for."""
    volume_basis: str
    """Which volume that is, in words (the demand, or what a plan carried in simulation)."""

    def at(self, label: str, month: int) -> float:
        """Cumulative USD of option ``label`` after ``month`` months."""
        return self.cumulative_usd[label][self.months.index(month)]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "months": list(self.months),
            "cumulative_usd": {k: list(v) for k, v in self.cumulative_usd.items()},
            "interviews_per_month": self.interviews_per_month,
            "volume_basis": self.volume_basis,
        }


def tco_series(
    options: Sequence[TcoOption], *, horizon_months: int = HORIZON_MONTHS, volume_basis: str = ""
) -> TcoSeries:
    """Cumulative cost of every option for months 0 … ``horizon_months`` (labels must differ)."""
    labels = [o.label for o in options]
    if len(set(labels)) != len(labels):
        raise ValueError(f"TCO option labels must differ: {labels}")
    months = tuple(range(horizon_months + 1))
    volume = options[0].interviews_per_month if options else 0.0
    return TcoSeries(
        months=months,
        cumulative_usd={o.label: tuple(o.cumulative_usd(m) for m in months) for o in options},
        interviews_per_month=volume,
        volume_basis=volume_basis,
    )


def break_even_month(owned: TcoOption, other: TcoOption, horizon_months: int = HORIZON_MONTHS) -> int | None:
    """First whole month m ≤ horizon with owned.cumulative(m) ≤ other.cumulative(m); None if none."""
    for month in range(horizon_months + 1):
        if owned.cumulative_usd(month) <= other.cumulative_usd(month) + TOLERANCE_USD:
            return month
    return None


def payback_months(owned: TcoOption, other: TcoOption) -> float | None:
    """Fractional months until ``owned`` has cost no more than ``other``; None if it never does."""
    extra = owned.upfront_usd - other.upfront_usd
    if extra <= TOLERANCE_USD:
        return 0.0  # no dearer at the start (as break_even_month's month 0)
    saving = other.monthly_usd - owned.monthly_usd
    return extra / saving if saving > 0 else None


def api_usd_per_interview(prices: Prices, input_tokens: float, output_tokens: float) -> float:
    """List price of one interview's API tokens (input and output per interview), USD."""
    return (input_tokens * prices.usd_per_mtok_in + output_tokens * prices.usd_per_mtok_out) / MTOK


def api_option(
    label: str,
    prices: Prices,
    *,
    input_tokens: float,
    output_tokens: float,
    interviews_per_month: float,
    note: str = "",
) -> TcoOption:
    """A paid API carrying ``interviews_per_month``: no up-front cost, the token bill monthly."""
    per = api_usd_per_interview(prices, input_tokens, output_tokens)
    return TcoOption(label, "paid_api", 0.0, per * interviews_per_month, interviews_per_month, note)


def pool_option(
    catalog: GpuCatalog,
    pool: GpuPool,
    *,
    active_hours_per_day: float,
    interviewing_days_per_month: float,
    interviews_per_month: float,
    label: str | None = None,
    note: str = "",
) -> TcoOption:
    """A GPU pool as cash: owned (purchase up front, electricity + hosting monthly) or rented (rent)."""
    cost = pool_cost(
        catalog,
        pool,
        active_hours_per_day=active_hours_per_day,
        interviewing_days_per_month=interviewing_days_per_month,
    )
    cards = f"{pool.servers * pool.gpus_per_server}× {catalog.gpu(pool.gpu).name}"
    if pool.ownership == "owned":
        name = label or f"own {cards}"
        return TcoOption(name, "owned_gpu", cost.purchase_usd, cost.running_usd_per_month, interviews_per_month, note)
    hours = "business hours" if pool.schedule == "business_hours" else "24/7"
    name = label or f"rent {cards} ({hours})"
    return TcoOption(name, "rented_gpu", 0.0, cost.usd_per_month, interviews_per_month, note)


def rented_twin(pool: GpuPool, *, schedule: Literal["always_on", "business_hours"]) -> GpuPool:
    """The same servers rented by the GPU-hour (at the catalogue's price) on ``schedule``."""
    return pool.model_copy(update={"ownership": "rented", "schedule": schedule, "rent_usd_per_gpu_hour": None})


def owned_twin(pool: GpuPool) -> GpuPool:
    """The same servers bought (at the pool's or the catalogue's price), on 24/7."""
    return pool.model_copy(update={"ownership": "owned", "schedule": "always_on"})
