"""Each destination's quota use over the day: a heatmap of destinations × hours.

A cell is the use of the destination's binding window in that hour — the window closest to
its limit, as a percentage of that limit, at the fullest admission of the hour; a cell at
100 % names the window that was full (``rpm``, ``tpd``, …). Each row's label names the
window that was full the longest share of the run (what binds). A cell where no request was
admitted is either *idle* (light grey: nothing was sent, and no window was full) or *exhausted*
(black: a window was full — it refused requests — and none could be admitted, so the router
went elsewhere): a monthly cap or a credit running out turns a row black for the rest of the
run. A second panel shows the same per day of the run: whether daily quotas refill and monthly
ones run dry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capacity.report.figures._day import HOURS_PER_DAY, DayWindow, day_window, hours
from capacity.report.figures._style import new_figure, save_png, short_name, style
from capacity.result import DestinationResult, RunResult
from capacity.units import LIMIT_KIND, limit_unit

FULL = 0.995
"""A window at or above this fraction of its limit is full."""


@dataclass(frozen=True)
class QuotaRow:
    """One destination's use of its quota windows, per hour of the run."""

    destination: str
    binding_window: str | None
    """The window full the longest share of the run (None: none was ever full)."""
    fraction: NDArray[np.float64]
    """Per hour: the highest use ÷ limit over its windows (0: nothing admitted)."""
    tightest: list[str]
    """Per hour: the name of the window with that highest use."""
    full: NDArray[np.float64]
    """Per hour: the largest share of the hour any of its windows was full, 0–1."""

    @property
    def exhausted(self) -> NDArray[np.bool_]:
        """Per hour: nothing admitted while a window was full (refusing requests)."""
        out: NDArray[np.bool_] = (self.fraction <= 0.0) & (self.full > 0.0)
        return out

    @property
    def label(self) -> str:
        """``cerebras/llama3.1-8b (tokens/day)``: the destination and its binding window."""
        bind = limit_unit(self.binding_window) if self.binding_window else "never full"
        return f"{short_name(self.destination, 60)} ({bind})"


def _tag(window: str) -> str:
    """The short tag a full cell shows for ``window`` (``tpd``, ``$``)."""
    kind = LIMIT_KIND.get(window)
    return window[:4] if kind is None else kind.tag


def quota_row(dest: DestinationResult) -> QuotaRow | None:
    """The destination's hourly use of its tightest window (None: no window with hourly data)."""
    windows = [w for w in dest.windows if any(w.hourly_peak_fraction) or any(w.hourly_full_share)]
    if not windows:
        return None
    hours_ = max(len(w.hourly_peak_fraction) for w in windows)
    grid = np.zeros((len(windows), hours_))
    full = np.zeros((len(windows), hours_))
    for i, w in enumerate(windows):
        grid[i, : len(w.hourly_peak_fraction)] = w.hourly_peak_fraction
        full[i, : len(w.hourly_full_share)] = w.hourly_full_share[:hours_]
    which = grid.argmax(axis=0)
    return QuotaRow(
        dest.name, dest.binding_window, grid.max(axis=0), [windows[i].name for i in which], full.max(axis=0)
    )


def quota_rows(result: RunResult) -> list[QuotaRow]:
    """One row per destination that has a window with hourly use, in routing order."""
    return [row for d in result.destinations if (row := quota_row(d)) is not None]


EXHAUSTED = -1.0
"""A grid value for an exhausted cell (drawn black), apart from idle (0, light grey) and use (0–100 %)."""


def _by_day(fractions: list[float], days: int) -> NDArray[np.float64]:
    a = np.zeros(days * HOURS_PER_DAY)
    part = np.asarray(fractions[: len(a)], dtype=float)
    a[: len(part)] = part
    out: NDArray[np.float64] = a.reshape(days, HOURS_PER_DAY).max(axis=1)
    return out


def day_grid(rows: list[QuotaRow], days: int) -> NDArray[np.float64]:
    """Destinations × days: the highest use in each day, % of the limit; :data:`EXHAUSTED` where
    nothing was admitted all day while a window was full."""
    use = np.array([_by_day(list(r.fraction), days) for r in rows]) * 100
    full = np.array([_by_day(list(r.full), days) for r in rows])
    out: NDArray[np.float64] = np.where((use <= 0) & (full > 0), EXHAUSTED, use)
    return out


def hour_grid(rows: list[QuotaRow], window: DayWindow) -> NDArray[np.float64]:
    """Destinations × the window's 24 hours: use in % of the limit; :data:`EXHAUSTED` where nothing
    was admitted while a window was full."""
    use = np.array([hours(list(r.fraction), window) for r in rows]) * 100
    full = np.array([hours(list(r.full), window) for r in rows])
    out: NDArray[np.float64] = np.where((use <= 0) & (full > 0), EXHAUSTED, use)
    return out


def _draw_grid(ax: Any, grid: NDArray[np.float64], cmap: Any) -> Any:
    """Use in colour, idle cells light grey, exhausted cells black; returns the colour image."""
    from matplotlib.colors import ListedColormap

    image = ax.imshow(
        np.ma.masked_less_equal(grid, 0.0), aspect="auto", cmap=cmap, vmin=0, vmax=100, interpolation="nearest"
    )
    ax.imshow(
        np.ma.masked_where(grid != EXHAUSTED, np.ones_like(grid)),
        aspect="auto",
        cmap=ListedColormap([EXHAUSTED_COLOR]),
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    return image


IDLE_COLOR = "#EDEDED"
EXHAUSTED_COLOR = "#1A1A1A"


def quota_figure(result: RunResult, path: Path, window: DayWindow | None = None) -> Path:
    """Write the quota-use heatmap of ``result`` to ``path`` (PNG)."""
    window = window or day_window(result)
    rows = quota_rows(result)
    run_days = max(1, int(np.ceil(len(result.timeseries.in_flight_interviews) / 60 / HOURS_PER_DAY)))
    days = day_grid(rows, run_days) if rows else None
    by_hour = hour_grid(rows, window) if rows else None
    with style():
        from matplotlib import colormaps
        from matplotlib.patches import Patch

        cmap = colormaps["YlOrRd"].with_extremes(bad=IDLE_COLOR)
        n = max(1, len(rows))
        show_days = run_days > 1
        height = 1.6 + 0.32 * n * (2 if show_days else 1) + (1.2 if show_days else 0.4)
        fig = new_figure(11.0, height)
        if by_hour is None or days is None:
            ax = fig.subplots()
            ax.text(0.5, 0.5, "no destination with quota windows", ha="center", va="center")
            ax.set_axis_off()
            return save_png(fig, path)
        axes = fig.subplots(2, 1, height_ratios=[1.0, 1.0]) if show_days else [fig.subplots()]
        labels = [r.label for r in rows]
        hour_ax = axes[0]
        image = _draw_grid(hour_ax, by_hour, cmap)
        hour_ax.set_yticks(range(n), labels)
        for i, row in enumerate(rows):
            for j in range(HOURS_PER_DAY):
                h = window.start_hour + j
                if h < len(row.fraction) and row.fraction[h] >= FULL:
                    hour_ax.text(
                        j,
                        i,
                        _tag(row.tightest[h]),
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white",
                    )
        hour_ax.set_xticks(range(0, HOURS_PER_DAY, 2), window.hour_labels()[::2])
        hour_ax.set_xlabel("hour of the day (UTC, start of hour)")
        hour_ax.set_title(f"By hour, {window.caption()}")
        hour_ax.grid(False)
        if show_days:
            day_ax = axes[1]
            _draw_grid(day_ax, days, cmap)
            day_ax.set_yticks(range(n), labels)
            step = 1 if run_days <= 16 else 2
            day_ax.set_xticks(range(0, run_days, step), [str(d + 1) for d in range(0, run_days, step)])
            day_ax.set_xlabel("day of the run (UTC days; the last is the drain of unfinished interviews)")
            day_ax.set_title("By day: the highest use in each day")
            day_ax.grid(False)
        bar = fig.colorbar(image, ax=list(axes), shrink=0.6, pad=0.01, aspect=30)
        bar.set_label("use of the tightest window, % of its limit")
        fig.legend(
            handles=[
                Patch(facecolor=IDLE_COLOR, edgecolor="#999999", label="idle: nothing sent, no window full"),
                Patch(facecolor=EXHAUSTED_COLOR, label="exhausted: a window full, nothing could be admitted"),
            ],
            loc="outside lower center",
            ncol=2,
        )
        fig.suptitle(
            f"Scenario {result.scenario}: quota use per destination\n"
            "cell: the tightest window's use, % of its limit (label in a full cell)"
        )
        return save_png(fig, path)
