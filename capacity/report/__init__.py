"""Reports: results rendered for people (Rich tables, Markdown) and machines (JSON, frames).

Each module renders one kind of result; heavy libraries (pandas, matplotlib) are imported
inside the functions that need them, never when this package is imported.
"""

from capacity.report.gpu_tables import profile_json, render_calibration, render_pairs, render_profile, row_json
from capacity.report.plan_tables import render_plan
from capacity.report.providers_table import limits_text, providers_json, render_providers
from capacity.report.run_tables import render_run, summary_json
from capacity.report.verdict import Verdict, judge

__all__ = [
    "Verdict",
    "judge",
    "limits_text",
    "profile_json",
    "providers_json",
    "render_calibration",
    "render_pairs",
    "render_plan",
    "render_profile",
    "render_providers",
    "render_run",
    "row_json",
    "summary_json",
]
