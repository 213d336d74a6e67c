"""What ``capacity serve`` counts: the optimisation statistics and the Prometheus metrics.

Every client request is counted once by where its answer came from — the response cache, an
identical request already in flight (de-duplicated), or an upstream call — or as refused (no
quota: the client got a 429), failed (every attempt failed upstream, or a streamed answer broke
off after its first text) or abandoned (the client left while its answer was streaming). A
streamed request is counted when its stream ends. API calls are the
upstream requests actually sent, retries included. *Savings* are the requests answered without
an upstream call (cache + de-duplicated), as a count and a share of all requests. Template
hits are counted for the seed's dashboard but are always zero here: a template turn is answered
by the interview application from its own text and never reaches the router.

The Prometheus metrics (``prometheus_client``, one registry per service so several live in one
process) follow its naming conventions — base units (seconds), ``_total`` counters:

* ``capacity_serve_requests_total{outcome}`` — client requests by outcome;
* ``capacity_serve_request_duration_seconds`` — time from a request's arrival to its answer;
* ``capacity_serve_upstream_ttft_seconds{provider}`` — upstream time to first token;
* ``capacity_serve_upstream_requests_total{provider}``, ``..._rate_limited_total{provider}``
  (upstream 429s), ``..._upstream_errors_total{provider,kind}``;
* ``capacity_serve_cache_hits_total``;
* ``capacity_serve_quota_used_ratio{destination,window}`` — use ÷ limit of each quota window,
  set at each scrape from the ledger that admits: the in-memory one, or what the Redis ledger
  counts for every instance sharing it (the fullest account's, each window).
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from capacity.live.chat import ChatOutcome
from capacity.metrics.histogram import LogHistogram

__all__ = ["OUTCOMES", "Telemetry"]

OUTCOMES = ("api", "cache", "deduplicated", "refused", "failed", "abandoned")
"""Where a client request's answer came from, or why there was none."""

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Telemetry:
    """The counters behind ``/api/optimization_stats`` and ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.outcomes: Tally[str] = Tally()
        self.api_calls = 0
        self.affinity_hits = 0
        self.by_provider: dict[str, Tally[str]] = {}
        self.durations = LogHistogram()
        """Every answered or refused request's time in the service, s (p50/p95 for the dashboard)."""
        self._recent: dict[str, deque[float]] = {}  # per provider, when (monotonic s) each request was sent
        r = self.registry
        self._requests = Counter("capacity_serve_requests", "Client requests by outcome.", ["outcome"], registry=r)
        self._duration = Histogram(
            "capacity_serve_request_duration_seconds", "Time from a client request's arrival to its answer, s.",
            buckets=_SECONDS, registry=r,
        )
        self._ttft = Histogram(
            "capacity_serve_upstream_ttft_seconds", "Upstream time to first token, s.", ["provider"],
            buckets=_SECONDS, registry=r,
        )
        self._upstream = Counter(
            "capacity_serve_upstream_requests", "Requests sent upstream.", ["provider"], registry=r
        )
        self._limited = Counter(
            "capacity_serve_upstream_rate_limited", "Upstream 429 answers.", ["provider"], registry=r
        )
        self._errors = Counter(
            "capacity_serve_upstream_errors", "Upstream failures by kind.", ["provider", "kind"], registry=r
        )
        self._cache = Counter("capacity_serve_cache_hits", "Requests answered from the response cache.", registry=r)
        self.quota_used = Gauge(
            "capacity_serve_quota_used_ratio", "Use of each quota window over its limit (0–1).",
            ["destination", "window"], registry=r,
        )

    def answered_from(self, source: str) -> None:
        """A client request was answered from ``source`` (``api``, ``cache`` or ``deduplicated``)."""
        self._count(source)
        if source == "cache":
            self._cache.inc()

    def refused(self) -> None:
        """A client request got a 429: no destination had quota."""
        self._count("refused")

    def failed(self) -> None:
        """A client request failed: every upstream attempt did."""
        self._count("failed")

    def abandoned(self) -> None:
        """A client left while its answer was streaming (the upstream call was cancelled)."""
        self._count("abandoned")

    def affinity_kept(self) -> None:
        """A request went to its session's provider."""
        self.affinity_hits += 1

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        self._requests.labels(outcome).inc()

    def sent(self, provider: str) -> None:
        """One request was sent upstream to ``provider``."""
        self.api_calls += 1
        self._upstream.labels(provider).inc()
        self.by_provider.setdefault(provider, Tally())["requests"] += 1
        recent = self._recent.setdefault(provider, deque())
        now = time.monotonic()
        recent.append(now)
        while recent[0] <= now - 60.0:
            recent.popleft()

    def last_minute(self, provider: str) -> int:
        """Requests sent to ``provider`` in the last 60 wall seconds."""
        recent = self._recent.get(provider)
        if not recent:
            return 0
        now = time.monotonic()
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        return len(recent)

    def upstream(self, provider: str, outcome: ChatOutcome) -> None:
        """What the upstream call to ``provider`` came to."""
        tally = self.by_provider.setdefault(provider, Tally())
        if outcome.ok:
            tally["answered"] += 1
            self._ttft.labels(provider).observe(outcome.ttft_s)
            return
        kind = str(outcome.failure)
        tally[kind] += 1
        if kind == "429":
            self._limited.labels(provider).inc()
        else:
            self._errors.labels(provider, kind).inc()

    def took(self, seconds: float) -> None:
        """A client request was answered (or refused) ``seconds`` after it arrived (a streamed
        answer: when its stream ended)."""
        self._duration.observe(seconds)
        self.durations.add(seconds)

    def optimization_stats(self) -> dict[str, Any]:
        """The seed's dashboard figures: each as a count and a rate over all requests (0 before any)."""
        total = sum(self.outcomes.values())

        def figure(count: int) -> dict[str, float | int]:
            return {"count": count, "rate": count / total if total else 0.0}

        saved = self.outcomes["cache"] + self.outcomes["deduplicated"]
        return {
            "total_requests": total,
            "cache_hits": figure(self.outcomes["cache"]),
            "template_hits": figure(0),
            "deduplicated": figure(self.outcomes["deduplicated"]),
            "api_calls": figure(self.api_calls),
            "refused": figure(self.outcomes["refused"]),
            "failed": figure(self.outcomes["failed"]),
            "abandoned": figure(self.outcomes["abandoned"]),
            "savings": {"api_calls_saved": saved, "rate": saved / total if total else 0.0},
            "session_affinity_kept": self.affinity_hits,
            "providers": {name: dict(tally) for name, tally in sorted(self.by_provider.items())},
        }

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)
