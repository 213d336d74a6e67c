"""What the policy core tells whoever watches it: one small observer interface.

The policy objects keep only the state their decisions need. Everything a report wants to
know — a quota window's use after each admission, each refusal and by which window, each call
sent, answered or failed, each turn and interview outcome, the length of the quota-wait queue —
is announced through :class:`PolicyObserver`. The simulator and the live runtime hand the core
the same recorder (:class:`capacity.metrics.recorder.Recorder`), so both produce the same
:class:`~capacity.result.RunResult`; tests hand it :class:`NullObserver` or a list-keeping spy.

Times are run time in seconds (s since the run's start instant), as everywhere in the core.
Windows are named by their ``id`` (numbered by :func:`capacity.policy.build.build_core`),
destinations by their index in the routing table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from capacity.units import Outcome, Served

if TYPE_CHECKING:  # the router's classes, named only for their types: they import this module
    from capacity.policy.destination import Destination, Routed

__all__ = ["NULL_OBSERVER", "NullObserver", "PolicyObserver"]


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class PolicyObserver:
    """The events of the policy core, in the order they happen; each method does nothing here.

    A base class to subclass, not a protocol: the core calls its observer a few dozen times a
    request, and in the compiled engine a call through a compiled base class is a direct call,
    where a call through a protocol is a Python method call (about 0.1 µs each: looked up by
    name, its numbers boxed)."""

    # quota -------------------------------------------------------------------------------
    def window_used(self, now: float, window_id: int, fraction: float) -> None:
        """A request was admitted, or a concurrency slot freed; the window (or slot) now holds
        ``fraction`` of its limit (0–1)."""
        return None

    def window_refused(self, now: float, window_id: int, until: float) -> None:
        """The window (or concurrency limit) had no room for a request at ``now``; it cannot admit
        that request before run time ``until``, s (``inf``: only a freed slot can help, or never)."""
        return None

    def destination_refused(self, destination: Destination) -> None:
        """The router asked ``destination`` for room and found none (quota or input cap): a check, not a
        lost request — a waiting turn is refused again at every check."""
        return None

    def over_input_cap(self, now: float, destination: Destination) -> None:
        """A request's input tokens exceed ``destination``'s per-request input cap
        (``max_input_tokens_per_request``, e.g. GitHub Models' 8,000): it can never be sent there.
        A check, like :meth:`destination_refused`: a waiting turn is checked again."""
        return None

    def queue_length(self, now: float, length: int) -> None:
        """Turns waiting for quota right now."""
        return None

    def request_admitted(self, now: float, routed: Routed, group: int, max_output_tokens: int) -> None:
        """The router admitted a request of model group ``group`` (reserving ``max_output_tokens``
        output tokens) at ``now``: ``routed`` names the destination and what was charged where."""
        return None

    def request_settled(
        self, now: float, routed: Routed, tokens_in: int, tokens_out: int, latency_s: float | None
    ) -> None:
        """The router settled ``routed``'s admission: the response used ``tokens_in`` +
        ``tokens_out`` tokens and took ``latency_s``, s (``None``: it failed)."""
        return None

    # calls -------------------------------------------------------------------------------
    def call_sent(self, now: float, destination: Destination) -> None:
        """A call left for ``destination``."""
        return None

    def call_done(
        self, destination: Destination, tokens_in: int, tokens_out: int, ttft_s: float, cost_usd: float
    ) -> None:
        """A call answered: its tokens, time to first token (s) and list price ($)."""
        return None

    def prompt_cache_read(self, destination: Destination, cached_tokens: int, saved_usd: float) -> None:
        """A call to ``destination``, which has a prompt cache, was answered: ``cached_tokens`` of its
        prompt were read from the cache (0 on a miss), and its list price was ``saved_usd`` below the
        price without prompt caching, $ (0 on a free tier; negative where a cache write costs more)."""
        return None

    def call_failed(self, destination: Destination, kind: str, detail: str = "") -> None:
        """A call failed with ``kind`` (``429``, ``5xx``, ``timeout``; see :class:`~capacity.units.ErrorKind`);
        ``detail`` says how in one line (a live endpoint's status and message; empty in a simulation)."""
        return None

    # turns and interviews ----------------------------------------------------------------
    def cache_lookup(self, hit: bool) -> None:
        """A cacheable turn looked in the response cache."""
        return None

    def turn(
        self, needed_at: float, served: Served, latency_s: float, wait_s: float = 0.0, candidate_waits: bool = True
    ) -> None:
        """A turn needed at ``needed_at`` ended after ``latency_s`` (``wait_s`` of it waiting for quota)."""
        return None

    def interview_started(self, now: float) -> None:
        """An interview began."""
        return None

    def interview_ended(self, now: float, outcome: Outcome, duration_s: float, api_tokens: int, api_calls: int) -> None:
        """An interview ended with ``outcome`` after ``duration_s``, s (``api_calls`` calls answered, of
        ``api_tokens`` tokens in all)."""
        return None

    def turned_away(self, now: float) -> None:
        """Gated admission did not start an interview (it counts as failed)."""
        return None


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class NullObserver(PolicyObserver):
    """An observer that keeps nothing (the default of policy objects built on their own): every
    event is the base class's own, empty, method."""


NULL_OBSERVER = NullObserver()
"""The shared do-nothing observer."""
