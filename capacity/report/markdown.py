"""Markdown building blocks for the report pages: tables, lists, images, escaping.

GitHub-flavoured Markdown, written deterministically (no dates, no wall times), so that a
page is the same file for the same inputs and its diff shows what changed in the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

Align = str
"""``l``, ``r`` or ``c``."""


def esc(text: object) -> str:
    """Text safe inside a table cell or a line: pipes escaped, newlines folded."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column (``l``, ``r``, ``c``; default left)."""
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    spec = align or "l" * len(headers)
    lines = [
        "| " + " | ".join(esc(h) for h in headers) + " |",
        "| " + " | ".join(marks[a] for a in spec) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(esc(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def bullets(items: Iterable[str]) -> str:
    """A bulleted list (one item per line)."""
    return "".join(f"- {item}\n" for item in items)


def image(alt: str, path: str) -> str:
    """An image line, the path relative to the page."""
    return f"![{esc(alt)}]({path})\n"


def heading(level: int, text: str) -> str:
    """``## text``."""
    return f"{'#' * level} {text}\n"


def count(x: float) -> str:
    """A whole number with thousands separators (rounded); ``unbounded`` for ∞; ``–`` for NaN."""
    if math.isnan(x):
        return "–"
    return "unbounded" if math.isinf(x) else f"{x:,.0f}"


def floor_count(x: float) -> str:
    """A capacity in whole units, rounded down (part of an interview is not carried)."""
    return "unbounded" if math.isinf(x) else f"{math.floor(x + 1e-9):,}"


def money(x: float | None) -> str:
    """US dollars: ``$1,234``, ``$12.30``, ``$0.0042``, ``$0.000028`` (two significant digits below a
    tenth of a cent, never an exponent); ``?`` when unknown."""
    if x is None:
        return "?"
    if x == 0:
        return "$0"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 0.001:
        return f"${x:,.2f}" if abs(x) >= 0.1 else f"${x:,.4f}"
    return f"${x:.{1 - math.floor(math.log10(abs(x)))}f}"


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage."""
    return f"{100 * x:.{digits}f}%"


def seconds(x: float) -> str:
    """Seconds with two decimals."""
    return f"{x:.2f} s"


def tidy(text: str) -> str:
    """At most one blank line between blocks; one newline at the end."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
