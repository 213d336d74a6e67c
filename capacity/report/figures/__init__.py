"""The report's figures: PNGs drawn with matplotlib (Agg) from a RunResult, one module each.

- :mod:`.demand` — demand over a day, and interviews in flight against the capacity line;
- :mod:`.quota` — each destination's quota use, destinations × hours (and × days);
- :mod:`.latency` — turn-latency CDF with the SLA, and p50/p95 over the day;
- :mod:`.requests` — where each turn and API call went, as stacked bars;
- :mod:`.cost` — cost per month and per interview by destination, billed and at list price;
- :mod:`.curve` — the capacity curve (offered against carried and p95 latency) and its knee;
- :mod:`.audit` — the seed audit's figures;
- :mod:`.compare` — comparisons and TCO lines (extension point for ``capacity compare``).

Every figure has a title, axes labelled with units and a legend, and is the same file, bit
for bit, for the same data (:mod:`._style`). matplotlib is imported inside the drawing
functions, never when this package is imported.
"""

from capacity.report.figures.audit import monthly_figure, providers_figure
from capacity.report.figures.cost import cost_figure
from capacity.report.figures.demand import demand_figure
from capacity.report.figures.latency import latency_figure
from capacity.report.figures.quota import quota_figure
from capacity.report.figures.requests import requests_figure

__all__ = [
    "cost_figure",
    "demand_figure",
    "latency_figure",
    "monthly_figure",
    "providers_figure",
    "quota_figure",
    "requests_figure",
]
