"""The SimPy driver of the policy core: simulated time, providers and GPU servers.

One process per interview session (a candidate's run of interviews) runs the policy core's
session generator (:meth:`capacity.policy.pipeline.TurnPipeline.session`); this room only turns the actions it
yields into SimPy events and draws the simulated providers' service times and failures.
See :func:`capacity.sim.model.simulate`.
"""

from capacity.sim.model import Simulation, simulate

__all__ = ["Simulation", "simulate"]
