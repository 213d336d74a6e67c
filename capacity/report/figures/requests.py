"""Where each request went: one stacked bar of every turn, one of every API call.

A turn (a logical request: a point in the interview that needs a model's answer) is answered
by a template, by the response cache, by an identical request already in flight
(de-duplicated), by one of the destinations (provider models or GPU pools), by a fallback
template after the router gave up (degraded), or not at all (failed). The second bar splits
the API calls sent: answers that served an interview that went on, answers spent on an
interview that later failed (quota that carried nothing), and calls that failed (errors,
timeouts; retried while the deadline allowed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capacity.report.figures._style import COLORS, new_figure, palette, save_png, short_name, style
from capacity.result import RunResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar."""

    label: str
    count: int
    color: str | tuple[float, float, float, float]


def turn_segments(result: RunResult) -> list[Segment]:
    """Every turn by where it was answered (destinations in routing order)."""
    r = result.requests
    colors = palette(len(result.destinations))
    return [
        Segment("template", r.template, COLORS["template"]),
        Segment("cache", r.cache, COLORS["cache"]),
        Segment("de-duplicated", r.deduplicated, COLORS["deduplicated"]),
        *[
            Segment(short_name(d.name), d.completed, c)
            for d, c in zip(result.destinations, colors, strict=True)
        ],
        Segment("degraded (fallback template)", r.degraded, COLORS["degraded"]),
        Segment("failed (no answer by the deadline)", r.failed, COLORS["failed"]),
    ]


def call_segments(result: RunResult) -> list[Segment]:
    """Every API call by what it achieved."""
    r = result.requests
    wasted = min(result.wasted_api_calls, r.provider)
    return [
        Segment("answered, interview went on", r.provider - wasted, COLORS["carried"]),
        Segment("answered, interview failed later (wasted)", wasted, COLORS["queue"]),
        Segment("call failed (error, timeout)", max(0, r.api_calls - r.provider), COLORS["failed"]),
    ]


def _stack(ax: Axes, y: float, segments: list[Segment], total: int) -> None:
    left = 0.0
    for s in segments:
        if s.count <= 0:
            continue
        share = 100.0 * s.count / total
        ax.barh(
            y,
            share,
            left=left,
            color=s.color,
            edgecolor="white",
            linewidth=0.6,
            height=0.6,
            label=f"{s.label}: {s.count:,} ({share:.1f}%)",
        )
        if share >= 6:
            ax.text(
                left + share / 2,
                y,
                f"{share:.0f}%",
                ha="center",
                va="center",
                fontsize=8,
                color="white",
                fontweight="bold",
            )
        left += share


def requests_figure(result: RunResult, path: Path) -> Path:
    """Write the where-requests-went figure of ``result`` to ``path`` (PNG)."""
    turns = turn_segments(result)
    calls = call_segments(result)
    n_turns = sum(s.count for s in turns)
    n_calls = sum(s.count for s in calls)
    with style():
        turn_rows = (sum(1 for s in turns if s.count > 0) + 2) // 3
        call_rows = (sum(1 for s in calls if s.count > 0) + 2) // 3
        legend_in = 0.2
        fig = new_figure(11.0, 3.4 + legend_in * (turn_rows + call_rows))
        axes = fig.subplots(
            4, 1, height_ratios=[1.3, legend_in * turn_rows + 0.1, 1.3, legend_in * call_rows + 0.1]
        )
        for ax, key_ax, segments, total, what in (
            (axes[0], axes[1], turns, n_turns, f"Turns ({n_turns:,}): where each was answered"),
            (
                axes[2],
                axes[3],
                calls,
                n_calls,
                f"API calls sent ({n_calls:,}, retries included): what each achieved",
            ),
        ):
            if total:
                _stack(ax, 0, segments, total)
            ax.set_xlim(0, 100)
            ax.set_ylim(-0.5, 0.5)
            ax.set_yticks([])
            ax.set_xlabel("share of all, %", labelpad=1)
            ax.set_title(what, loc="left")
            ax.grid(False)
            key_ax.set_axis_off()
            handles, labels = ax.get_legend_handles_labels()
            if handles:
                key_ax.legend(
                    handles, labels, loc="upper left", fontsize=8, frameon=False, ncol=3, borderaxespad=0.0
                )
        fig.suptitle(f"Scenario {result.scenario}: where each request went")
        return save_png(fig, path)
