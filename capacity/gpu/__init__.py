"""Self-hosted GPU serving: the roofline of one server, continuous batching, calibration.

Pure Python and numpy: no simulation engine, no I/O, no clock. ``capacity.sim`` drives a
:class:`~capacity.gpu.server.BatchingServer` (:class:`~capacity.gpu.analytic.AnalyticServer`
in production, :class:`~capacity.gpu.stepped.SteppedServer` as the reference) from SimPy.
"""

from capacity.gpu.analytic import AnalyticServer
from capacity.gpu.pool import make_servers, pool_deployment, pool_settings
from capacity.gpu.roofline import Deployment, deployment
from capacity.gpu.server import BatchingServer, Completion, ServerSettings
from capacity.gpu.stepped import SteppedServer

__all__ = [
    "AnalyticServer",
    "BatchingServer",
    "Completion",
    "Deployment",
    "ServerSettings",
    "SteppedServer",
    "deployment",
    "make_servers",
    "pool_deployment",
    "pool_settings",
]
