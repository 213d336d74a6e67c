"""``capacity serve``: the router as an OpenAI-compatible service in front of a scenario's providers.

:mod:`.gateway` runs the policy core on each client request (no HTTP), :mod:`.app` is its
Starlette face, :mod:`.limits` the model group's rate-limit headers, :mod:`.telemetry` the
optimisation statistics and Prometheus metrics, :mod:`.server` the uvicorn server.
"""

from capacity.live.serve.gateway import Gateway
from capacity.live.serve.server import DEFAULT_GROUP, ServeSettings, ServeThread, serve_forever, service_app

__all__ = ["DEFAULT_GROUP", "Gateway", "ServeSettings", "ServeThread", "serve_forever", "service_app"]
