"""capacity — capacity planner and load simulator for AI-led job interviews.

Three ways to answer one question (can this plan carry this many interviews, at what
latency and cost, and where does it break?): static arithmetic (:mod:`capacity.plan`),
a discrete-event simulation (:mod:`capacity.sim`) and, later, a live router driving real
endpoints. See ``shared/design.md`` for the architecture.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
