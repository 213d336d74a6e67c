"""Live mode: the policy core on the wall clock against real OpenAI-compatible endpoints.

:mod:`capacity.live.ratelimits` reads what providers say about their quotas (rate-limit
headers, ``Retry-After``, burst or exhausted 429s); :mod:`capacity.live.transport` is the one
HTTP seam the live driver calls (httpx, streaming, pooled connections), with its data in
:mod:`capacity.live.chat` (endpoints, requests, outcomes).
"""

__all__ = ["chat", "ratelimits", "transport"]
