"""Live mode: the policy core on the wall clock against real OpenAI-compatible endpoints.

The asyncio driver (:mod:`~capacity.live.runtime`), the load driver that replays a
scenario's interviews (:mod:`~capacity.live.load`) and its crash-safe journal
(:mod:`~capacity.live.journal`). httpx and the HTTP server live in this room and nowhere else.
"""

__all__: list[str] = []
