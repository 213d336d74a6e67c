"""The SimPy discrete-event simulation of interviews, turns and API requests.

One process per interview session (a candidate's run of interviews); turns flow through
templates, the response cache, in-flight de-duplication and the router of
:mod:`capacity.policy` to provider stations. Quota waits share one FIFO queue with a single
timer. See :func:`capacity.sim.run.simulate`.
"""

from capacity.sim.model import simulate

__all__ = ["simulate"]
