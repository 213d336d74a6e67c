"""The policy core shared by the simulator and the live router.

Quota windows and ledgers, routing strategies, retries, the response cache and in-flight
de-duplication, written once as plain code that is *handed* the current time (``now``, s):
it never sleeps, never does I/O and never reads a clock. The simulator passes SimPy's
``env.now``; the live runtime passes the wall clock. So what the simulator predicts is what
the live router does.
"""

from capacity.policy.ledger import DestinationQuota, build_windows

__all__ = ["DestinationQuota", "build_windows"]
