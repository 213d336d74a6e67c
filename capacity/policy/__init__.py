"""The policy core shared by the simulator and the live router, sans-I/O.

Quota windows and ledgers, routing strategies, the whole turn pipeline (template → response
cache → in-flight de-duplication → route → send → retry with backoff → cool-down → deadline →
queue / degrade / fail, gated admission, the quota-wait queue, server choice in a GPU pool,
router replicas with shared or local ledgers),
written once as plain code that is *handed* the current time (``now``, s) and the outcome of
what it asked for: it never sleeps, never does I/O and never reads a clock. The simulator
(:mod:`capacity.sim`) maps its actions onto SimPy events; the live runtime
(:mod:`capacity.live`) onto asyncio and HTTP. So what the simulator predicts is what the live
router does. :func:`build_core` wires a configuration into these objects.
"""

from capacity.policy.actions import Action, ArmTimer, Call, Park, Resolve, Sleep, Ticket
from capacity.policy.build import Core, Streams, build_core, seed_streams
from capacity.policy.fleet import RouterFleet
from capacity.policy.ledger import DestinationQuota, build_windows
from capacity.policy.observer import NULL_OBSERVER, PolicyObserver
from capacity.policy.pipeline import TurnPipeline

__all__ = [
    "NULL_OBSERVER",
    "Action",
    "ArmTimer",
    "Call",
    "Core",
    "DestinationQuota",
    "Park",
    "PolicyObserver",
    "Resolve",
    "RouterFleet",
    "Sleep",
    "Streams",
    "Ticket",
    "TurnPipeline",
    "build_core",
    "build_windows",
    "seed_streams",
]
