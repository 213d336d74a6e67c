"""In-flight de-duplication: identical requests already on their way wait for that one.

The first request for a key *leads* and is sent; later identical requests *follow* and are
answered when the leader's response arrives. Waiters are opaque to this module (SimPy events
in the simulator, futures in the live router).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

W = TypeVar("W")


class InFlight(Generic[W]):
    """Requests in flight by key, and who waits for each."""

    def __init__(self) -> None:
        self._waiting: dict[Hashable, list[W]] = {}
        self.followed = 0

    def lead(self, key: Hashable) -> bool:
        """Claim ``key``: True if no identical request is in flight (the caller sends it)."""
        if key in self._waiting:
            return False
        self._waiting[key] = []
        return True

    def follow(self, key: Hashable, waiter: W) -> None:
        """Wait for the request in flight for ``key``."""
        self._waiting[key].append(waiter)
        self.followed += 1

    def finish(self, key: Hashable) -> list[W]:
        """The leader's response arrived (or failed): release ``key``, return its waiters."""
        return self._waiting.pop(key, [])

    def __contains__(self, key: Hashable) -> bool:
        return key in self._waiting
