"""Fault modes of a misbehaving provider, injected on purpose to test a router's handling.

Besides each model's configured ``error_rate`` (a 5xx after the time to first token, as the
simulator models it) and a scenario's scheduled outages, the emulator can answer a request in
any of these ways — chosen per request with the ``x-emulator-fault: KIND`` header (tests), or
at random at a configured rate (``capacity emulate --fault groq:reset=0.01``):

=====================  =====================================================================
kind                   what the client sees
=====================  =====================================================================
``server_error``       HTTP 500 after the time to first token (the request is charged)
``rate_limit_bare``    HTTP 429 without ``retry-after`` or any rate-limit header (not charged)
``rate_limit_absurd``  HTTP 429 with ``retry-after: 1000000000`` (not charged)
``invalid_json``       200, but the body (or one server-sent event) is not valid JSON
``missing_usage``      200, but no ``usage`` (nor a usage chunk when a stream asked for one)
``truncated``          200, but the body or stream ends half-way (no ``[DONE]``), cleanly
``reset``              200, then the connection is dropped half-way through the body
``slow``               200, with the body sent one byte per wall-clock second
``hang``               200 headers, then nothing until the client gives up (at most an hour)
=====================  =====================================================================

A fault other than the two 429s happens after admission, so the request is charged like a
real one (its unused output is refunded, if the provider refunds).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["FaultKind", "FaultRates", "parse_fault_rate"]


class FaultKind(StrEnum):
    """How a misbehaving provider answers (see the module docstring)."""

    SERVER_ERROR = "server_error"
    RATE_LIMIT_BARE = "rate_limit_bare"
    RATE_LIMIT_ABSURD = "rate_limit_absurd"
    INVALID_JSON = "invalid_json"
    MISSING_USAGE = "missing_usage"
    TRUNCATED = "truncated"
    RESET = "reset"
    SLOW = "slow"
    HANG = "hang"


ABSURD_RETRY_AFTER_S = 1_000_000_000
"""The ``retry-after`` of ``rate_limit_absurd``: about 32 years."""


class FaultRates:
    """Per-provider probabilities of each fault kind; ``*`` applies to every provider."""

    def __init__(self, rates: Mapping[str, Mapping[FaultKind, float]] | None = None) -> None:
        self._rates = {p: dict(r) for p, r in (rates or {}).items()}
        for provider, kinds in self._rates.items():
            total = sum(kinds.values())
            if total > 1:
                raise ValueError(f"fault rates of {provider} add up to {total:g} > 1")

    def of(self, provider: str) -> list[tuple[FaultKind, float]]:
        """The (kind, rate) pairs in force for ``provider``, its own entries over ``*``'s."""
        merged = {**self._rates.get("*", {}), **self._rates.get(provider, {})}
        return sorted(merged.items())

    def pick(self, provider: str, u: float) -> FaultKind | None:
        """The fault drawn by a uniform ``u`` in [0, 1) for ``provider``, or None."""
        for kind, rate in self.of(provider):
            if u < rate:
                return kind
            u -= rate
        return None


def parse_fault_rate(text: str) -> tuple[str, FaultKind, float]:
    """``[PROVIDER:]KIND=RATE`` → (provider or ``*``, kind, rate). Raises ``ValueError`` with a
    message naming what is wrong."""
    target, sep, rate_text = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected [PROVIDER:]KIND=RATE")
    provider, _, kind_text = target.rpartition(":")
    try:
        kind = FaultKind(kind_text)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"{text!r}: unknown fault {kind_text!r} (known: {known})") from None
    try:
        rate = float(rate_text)
    except ValueError:
        raise ValueError(f"{text!r}: rate {rate_text!r} is not a number") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"{text!r}: rate must be between 0 and 1")
    return provider or "*", kind, rate
