"""capacity — capacity planner and load simulator for AI-led job interviews.

Three ways to answer one question (can this plan carry this many interviews, at what
latency and cost, and where does it break?): static arithmetic (:mod:`capacity.plan`),
a discrete-event simulation (:mod:`capacity.sim`) and a live router driving real endpoints
(:mod:`capacity.live`). From Python, use :mod:`capacity.api` (``from capacity import api``):
``api.load``, ``api.plan``, ``api.simulate``. The architecture is in ``docs/architecture.md``.
"""

from capacity._engine import ENGINE  # first: it decides whether compiled modules may load

__version__ = "0.1.0"

__all__ = ["ENGINE", "__version__"]
