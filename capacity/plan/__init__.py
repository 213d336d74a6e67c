"""Closed forms: per-limit capacity, savings, the seed's arithmetic and its correction.

:func:`~capacity.plan.planner.plan` turns a loaded configuration into a
:class:`~capacity.plan.result.PlanResult`: requests a day per provider under whichever limit
binds first, interviews a day after templates and cache hits, the total against the need,
the monthly cost, and for the seed document's scenario its own figures side by side with
the corrected ones.
"""

from capacity.plan.planner import plan
from capacity.plan.result import PlanResult

__all__ = ["PlanResult", "plan"]
