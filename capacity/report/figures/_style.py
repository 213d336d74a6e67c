"""One look for every figure, and byte-for-byte reproducible PNGs.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas (never
pyplot: no global figure state, no display needed). A PNG is the same file, bit for bit, for
the same data: fixed fonts (DejaVu Sans, which ships with matplotlib), fixed size and dpi,
a fixed hash salt, and no ``Software`` or date metadata written into the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
"""Dots per inch of every PNG (a 10-inch-wide figure is 1,100 pixels)."""

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "text.parse_math": False,  # "$" in labels is money, not TeX
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": "capacity",
    "path.simplify": True,
    "figure.constrained_layout.use": True,
}
"""Fixed rcParams: the same on every machine, whatever the user's matplotlibrc says."""

COLORS = {
    "demand": "#4C72B0",
    "carried": "#55A868",
    "capacity": "#C44E52",
    "queue": "#DD8452",
    "p50": "#4C72B0",
    "p95": "#C44E52",
    "sla": "#333333",
    "template": "#8C8C8C",
    "cache": "#64B5CD",
    "deduplicated": "#8172B3",
    "degraded": "#CCB974",
    "failed": "#C44E52",
}
"""Colours with a fixed meaning across figures."""


@contextmanager
def style() -> Iterator[None]:
    """Draw inside this: the fixed rcParams, restored afterwards."""
    import matplotlib

    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on the Agg canvas (call inside :func:`style`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG without metadata that varies (software version, dates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return path


def palette(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours for destinations (tab20 without its reds and greys, which mean
    failure and templates here), in a fixed order."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    order = [0, 2, 4, 8, 10, 12, 16, 18, 1, 3, 5, 9, 11, 13, 17, 19]
    return [tuple(cmap(order[i % len(order)] / 20 + 0.025)) for i in range(n)]  # type: ignore[misc]


def short_name(destination: str, width: int = 38) -> str:
    """``cloudflare/@cf/meta/llama-3.1-8b-instruct-fp8-fast`` → ``cloudflare/llama-3.1-8b-instruct-fp8-fast``.

    A destination is ``provider/model``; the model keeps its last path segment only, and a
    one-letter model name (the seed's ``m``) is dropped.
    """
    provider, _, model = destination.partition("/")
    model = model.rsplit("/", 1)[-1]
    text = provider if len(model) <= 1 else f"{provider}/{model}"
    return text if len(text) <= width else text[: width - 1] + "…"


SECOND_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600)
"""Tick marks of a log-scale axis in seconds: round numbers a reader can read off."""


def seconds_axis(axis: Any) -> None:
    """Plain-number ticks (0.5, 1, 2, 5, 10 …) on a log-scale axis of seconds."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_major_locator(FixedLocator(SECOND_TICKS))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def usd_tick(x: float) -> str:
    """A money axis's tick: ``$1,500``, ``$20``, ``$0.5``, ``$0.002`` (no trailing zeros, no exponent)."""
    if abs(x) >= 10:
        return f"${x:,.0f}"
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return f"${text}"
