"""Live mode: the policy core on the wall clock against real OpenAI-compatible endpoints.

This room holds the I/O: HTTP (httpx, Starlette, uvicorn) lives here and nowhere else.
:mod:`capacity.live.emulator` is the quota-faithful provider emulator (``capacity emulate``);
:mod:`capacity.live.headers` reads and writes the providers' rate-limit headers.
"""

__all__ = ["emulator", "headers"]
