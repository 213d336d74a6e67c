"""Measurement shared by the simulator and the live runtime: streaming histograms and the
recorder that turns what happened into a :class:`~capacity.result.RunResult`.

Memory is bounded by the horizon (per-minute series, fixed histogram buckets), never by the
number of requests.
"""

from capacity.metrics.histogram import LogHistogram
from capacity.metrics.recorder import Recorder

__all__ = ["LogHistogram", "Recorder"]
