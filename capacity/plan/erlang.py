"""Erlang C: waiting in a queue served by ``c`` identical servers (the M/M/c model).

Requests arrive as a Poisson process at rate λ (per s), each holds one of ``c`` servers (a
provider's concurrency slots, a GPU server's batch slots) for an exponential time of mean
1/μ s, and those that find every server busy wait in one first-come-first-served queue. The
*offered load* is A = λ/μ erlangs; the queue is stable when A < c. Then

* the probability that an arrival has to wait is Erlang's C formula::

      C(c, A) = (A^c / c!) · c/(c − A)  /  ( Σ_{k<c} A^k/k!  +  (A^c / c!) · c/(c − A) )

* and the mean wait in the queue, over *all* arrivals (those served at once wait 0), is
  W_q = C(c, A) / (c·μ − λ) s.

The simulator's turns meet exactly this queue at a provider whose only limit is
``concurrent_requests: c``, when turns arrive as a Poisson process and service times are
exponential; ``tests/sim`` checks the simulator against these formulas.
"""

from __future__ import annotations

import math


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: the blocking probability of ``servers`` servers without a queue at ``offered_load`` erlangs.

    Computed by the stable recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)).
    """
    if servers < 1:
        raise ValueError(f"servers must be at least 1, got {servers}")
    if offered_load < 0:
        raise ValueError(f"offered_load must not be negative, got {offered_load}")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: the probability that an arrival waits, for ``servers`` servers at ``offered_load`` erlangs.

    1.0 when the queue is unstable (``offered_load ≥ servers``): every arrival waits, in the
    end. From Erlang B: C = c·B / (c − A·(1 − B)).
    """
    b = erlang_b(servers, offered_load)
    if offered_load >= servers:
        return 1.0
    return servers * b / (servers - offered_load * (1.0 - b))


def mean_wait_s(arrival_rate_per_s: float, service_rate_per_s: float, servers: int) -> float:
    """Mean time in the queue over all arrivals, W_q = C(c, λ/μ) / (c·μ − λ), s (``inf`` if unstable).

    ``arrival_rate_per_s`` is λ, ``service_rate_per_s`` is μ (1 / mean service time) of one
    server, ``servers`` is c.
    """
    if service_rate_per_s <= 0:
        raise ValueError(f"service_rate_per_s must be positive, got {service_rate_per_s}")
    if arrival_rate_per_s < 0:
        raise ValueError(f"arrival_rate_per_s must not be negative, got {arrival_rate_per_s}")
    capacity = servers * service_rate_per_s
    if arrival_rate_per_s >= capacity:
        return math.inf
    return erlang_c(servers, arrival_rate_per_s / service_rate_per_s) / (capacity - arrival_rate_per_s)
