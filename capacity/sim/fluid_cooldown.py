"""Cool-downs in the fluid fast mode (:mod:`capacity.sim.fluid`): a destination whose call just
failed takes no traffic for ``routing.cooldown_s``, as the exact router's
:meth:`~capacity.policy.router.Router.cool_down` keeps it — what arrives meanwhile goes on to the
next destination, and the paused seconds are lost to its windows of under a minute (a request per
second limit serves nobody while it is paused)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from capacity.sim.fluid_quota import FloatArray
from capacity.units import MINUTE_S


class CoolDowns:
    """The stretches of run time in which each destination takes no traffic because a call to it
    just failed: the exact router's cool-down (``routing.cooldown_s``), which sends what arrives
    meanwhile to the next destination — unless every other destination is cooling down at that
    instant (then there is nowhere better to go, and the failed one is not paused)."""

    def __init__(self, destinations: int, seconds: float) -> None:
        self.seconds = seconds
        self.spans: list[list[tuple[float, float]]] = [[] for _ in range(destinations)]
        """Per destination, its cool-downs (start, end), s, in the order they began."""

    def cooling(self, index: int, times: FloatArray) -> NDArray[np.bool_]:
        """Whether destination ``index`` is cooling down at each of ``times`` (s)."""
        mask = np.zeros(len(times), dtype=bool)
        for start, end in self.spans[index]:
            mask |= (times >= start) & (times < end)
        return mask

    def fail(self, index: int, at: float) -> bool:
        """A call to destination ``index`` failed at run time ``at`` (s): pause it for ``seconds`` unless
        every other destination is paused then. Returns whether it was paused."""
        if self.seconds <= 0:
            return False
        if not any(
            not any(start <= at < end for start, end in spans) for j, spans in enumerate(self.spans) if j != index
        ):
            return False
        self.spans[index].append((at, at + self.seconds))
        return True

    def open_share(self, index: int, now: float) -> float:
        """The share of the minute from run time ``now`` (s) in which destination ``index`` is not
        cooling down (by the cool-downs known so far)."""
        end = now + MINUTE_S
        closed, reached = 0.0, now
        for start, stop in sorted(self.spans[index]):
            lo, hi = max(start, reached), min(stop, end)
            if hi > lo:
                closed += hi - lo
                reached = hi
        return 1.0 - closed / MINUTE_S

    def pass_over(
        self, index: int, at: FloatArray, fails: NDArray[np.bool_], ttft_s: float, hold: bool
    ) -> NDArray[np.bool_]:
        """Requests admitted on destination ``index`` at instants ``at`` (s, non-decreasing), of which
        ``fails`` fail after ``ttft_s``: each failure pauses the destination (:meth:`fail`), and the
        requests admitted in the pause are passed over (they go on to the next destination) unless
        ``hold`` (turns waiting for quota, whose instant within the step is not known). Returns which
        of the requests stay admitted."""
        keep = np.ones(len(at), dtype=bool)
        for i in np.flatnonzero(fails).tolist():
            failed_at = float(at[i]) + ttft_s
            if keep[i] and self.fail(index, failed_at) and not hold:
                keep &= ~((at >= failed_at) & (at < failed_at + self.seconds))
        return keep

    def forget(self, now: float) -> None:
        """Drop the cool-downs over by run time ``now`` (s)."""
        for spans in self.spans:
            if spans and spans[0][1] <= now:
                spans[:] = [s for s in spans if s[1] > now]
