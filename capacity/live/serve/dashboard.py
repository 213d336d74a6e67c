"""The service's dashboard: a self-contained page and the JSON it refreshes from.

``GET /`` serves ``dashboard.html`` (shipped with the package: HTML, CSS and a little
JavaScript, nothing fetched from elsewhere), which every few seconds reads
``/api/optimization_stats`` and ``/api/dashboard`` (:func:`dashboard_document`) and shows, per
provider, its requests in the last minute against its per-minute limit, what is left of its day
and when that resets, its 429s and errors and whether it is cooling down; the cache,
template and de-duplication savings; the service's p50 and p95 latency.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from importlib import resources
from typing import Any

from capacity.live.serve.gateway import SERVE_EPOCH, Gateway
from capacity.live.serve.limits import SharedUse
from capacity.units import Measure, Period

__all__ = ["dashboard_document", "dashboard_page"]


def dashboard_page() -> str:
    """The dashboard's HTML (with its CSS and JavaScript inline)."""
    return resources.files("capacity.live.serve").joinpath("dashboard.html").read_text(encoding="utf-8")


def _window_sum(
    gateway: Gateway, index: int, measure: Measure, period: Period, now: float, use: SharedUse | None
) -> dict[str, Any] | None:
    """A destination's ``measure`` window of ``period`` summed over its accounts (the model's own
    limit): limit, used and seconds until whole; None if it states none. With the Redis ledger
    the counts are ``use`` (Redis's, every instance's requests; None: Redis out of reach, and
    ``used`` and ``reset_s`` are None)."""
    dest = gateway.destinations[index]
    if dest.quota is None:
        return None
    dest.quota.limits_in_force(now)
    limit = used = 0.0
    full_at = now
    for k, account in enumerate(dest.quota.accounts):
        for w in account.windows[: dest.quota.own_windows]:
            if w.measure is measure and w.name in _FIELDS[period]:
                limit += w.limit
                if gateway.shared is None:
                    u = w.used(now)
                    whole_at = w.free_at(now, w.limit) if u > 0 else now
                elif use is not None:
                    counted = next(c for c in use[index][k] if c.name == w.name and not c.pooled)
                    u, whole_at = counted.used, counted.whole_at
                else:
                    continue
                used += u
                full_at = max(full_at, whole_at)
    if limit == 0:
        return None
    if gateway.shared is not None and use is None:
        return {"limit": limit, "used": None, "reset_s": None}
    reset = (full_at - now) / gateway.time_scale if math.isfinite(full_at) else None
    return {"limit": limit, "used": used, "reset_s": reset}


_FIELDS = {Period.MINUTE: {"rpm"}, Period.DAY: {"rpd"}}


def dashboard_document(gateway: Gateway, shared: tuple[float, SharedUse] | None = None) -> dict[str, Any]:
    """What the dashboard shows besides the optimisation statistics.

    ``providers``: per destination its ``name``, ``last_minute`` (requests sent in the last 60
    wall s), ``minute`` and ``day`` (the request windows: ``limit``, ``used``, ``reset_s``; None
    when it states none; with the Redis ledger the counts are ``shared`` — Redis's run time and
    :meth:`Gateway.shared_use`'s counts — and ``used`` is None without them), ``cooling_down_s``
    (wall s left, 0 if not), ``requests``, ``answered``, ``rate_limited`` and ``errors``. ``latency_s``: the
    service's p50 and p95 (s). ``at``: the instant, ISO UTC.
    """
    now, use = shared if shared is not None else (gateway.now(), None)
    telemetry = gateway.telemetry
    rows = []
    for dest in gateway.destinations:
        tally: Mapping[str, int] = telemetry.by_provider.get(dest.name, {})
        errors = sum(v for k, v in tally.items() if k not in ("requests", "answered", "429"))
        rows.append({
            "name": dest.name,
            "last_minute": telemetry.last_minute(dest.name),
            "minute": _window_sum(gateway, dest.index, Measure.REQUESTS, Period.MINUTE, now, use),
            "day": _window_sum(gateway, dest.index, Measure.REQUESTS, Period.DAY, now, use),
            "cooling_down_s": max(0.0, dest.cooldown_until - gateway.now()) / gateway.time_scale,
            "requests": tally.get("requests", 0),
            "answered": tally.get("answered", 0),
            "rate_limited": tally.get("429", 0),
            "errors": errors,
        })
    hist = telemetry.durations
    at = SERVE_EPOCH + dt.timedelta(seconds=now)
    return {
        "at": at.isoformat(timespec="seconds"),
        "group": gateway.group,
        "providers": rows,
        "latency_s": {"p50": hist.quantile(0.5), "p95": hist.quantile(0.95), "count": hist.count},
    }
