"""Live mode: the policy core on the wall clock against real OpenAI-compatible endpoints.

This room holds the I/O: HTTP (httpx, Starlette, uvicorn) and Redis live here and nowhere
else. :mod:`~capacity.live.runtime` is the asyncio driver of the policy core,
:mod:`~capacity.live.load` the load driver that replays a scenario's interviews and
:mod:`~capacity.live.journal` its crash-safe journal; :mod:`capacity.live.emulator` is the
quota-faithful provider emulator (``capacity emulate``); :mod:`capacity.live.headers` reads
and writes the providers' rate-limit headers.
"""

__all__ = ["emulator", "headers", "journal", "load", "runtime"]
