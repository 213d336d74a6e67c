"""The what-if grid's figure: a heatmap for two axes (the same PNG for the same numbers), a line
for one, none for three (the table holds every cell)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from capacity.report.figures.grid import grid_figure
from capacity.report.grid_tables import grid_frame, grid_markdown, separation_note
from capacity.studies.grid import METRICS, Axis, CellResult, GridResult


def result_of(axes: tuple[Axis, ...]) -> GridResult:
    """A grid whose cell i measured 100·i + 10·r of every headline number in replication r (r = 0, 1, 2)."""
    cells = tuple(
        CellResult(values, (1, 2, 3), tuple(dict.fromkeys(METRICS, 100.0 * i + 10 * r) for r in range(3)))
        for i, values in enumerate(itertools.product(*(a.values for a in axes)))
    )
    return GridResult("B", axes, cells, "carried_interviews_per_day", 3, 1, 7)


ACCOUNTS = Axis("providers.groq.accounts", ("1", "2", "4"))
TTL = Axis("cache.ttl_s", ("3600", "86400"))


def test_two_axes_draw_the_same_heatmap_for_the_same_numbers(tmp_path: Path) -> None:
    first, note = grid_figure(result_of((ACCOUNTS, TTL)), tmp_path / "a.png")
    second, _ = grid_figure(result_of((ACCOUNTS, TTL)), tmp_path / "b.png")
    assert first is not None and second is not None
    assert first.read_bytes() == second.read_bytes()
    assert note.startswith("Heatmap of interviews carried per day: providers.groq.accounts down, cache.ttl_s across")


def test_one_axis_draws_a_line_and_three_draw_nothing(tmp_path: Path) -> None:
    line, note = grid_figure(result_of((ACCOUNTS,)), tmp_path / "line.png")
    assert line is not None and line.stat().st_size > 0
    assert "95 % error bars" in note
    three = result_of((ACCOUNTS, TTL, Axis("script.rounds", ("8", "12"))))
    none, why = grid_figure(three, tmp_path / "none.png")
    assert none is None and not (tmp_path / "none.png").exists()
    assert why.startswith("No figure: the grid has 3 axes")
    assert why in grid_markdown(three, None, why)
    frame = grid_frame(three)
    assert len(frame) == 12  # every cell in the table
    # cell 5 carried 500, 510 and 520: mean 510, 95 % half-width t(0.975, 2) · 10 / √3 = 24.84
    assert frame.loc[5, "carried_interviews_per_day_mean"] == 510.0
    assert round(frame.loc[5, "carried_interviews_per_day_ci95_high"] - 510.0, 2) == 24.84


def test_one_replication_draws_no_error_bars_and_identical_cells_are_said_to_be_the_same(tmp_path: Path) -> None:
    """With one replication there is no interval, and the caption says so; where every cell measured
    the same, the note says the grid's values do not move the metric, not that it cannot tell them apart."""
    single = GridResult(
        "B", (ACCOUNTS,), tuple(CellResult((v,), (1,), (dict.fromkeys(METRICS, 50.0),)) for v in ACCOUNTS.values),
        "carried_interviews_per_day", 1, 1, 7,
    )
    _, note = grid_figure(single, tmp_path / "one.png")
    assert note.endswith("one replication: no error bars.")
    # one replication tells no cell apart, and the caption says so (a trial: -r 1 coloured noise unremarked)
    assert separation_note(single) == (
        "On interviews carried per day, one replication gives no interval: the cells' differences may be noise "
        "(run -r 2 or more to tell them apart)."
    )
    square = GridResult(
        "B", (ACCOUNTS, TTL),
        tuple(CellResult(v, (1,), (dict.fromkeys(METRICS, 50.0 + i),))
              for i, v in enumerate(itertools.product(ACCOUNTS.values, TTL.values))),
        "carried_interviews_per_day", 1, 1, 7,
    )
    _, heat = grid_figure(square, tmp_path / "square.png")
    assert heat.endswith("each cell its one replication's figure (no interval).")
    same = GridResult(
        "B", (TTL,), tuple(CellResult((v,), (1, 2), (dict.fromkeys(METRICS, 50.0),) * 2) for v in TTL.values),
        "cost_usd", 2, 1, 7,
    )
    assert separation_note(same) == (
        "On cost of the run, every cell has the same figures: the grid's values do not move it here."
    )
    assert "do not move" not in separation_note(result_of((ACCOUNTS,)))


def test_the_figure_says_when_its_contrast_is_noise_and_which_engine_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tried as a new user would: a 2×2 heatmap of B at 2 replications coloured 315 dark and 344 bright
    though every interval overlapped; the page said so, the PNG — the file that reaches a slide — did not,
    nor that a fluid grid was fluid."""
    drawn: list[Any] = []
    monkeypatch.setattr("capacity.report.figures.grid.save_png", lambda fig, path: drawn.append(fig) or path)
    noisy = GridResult(
        "B", (ACCOUNTS, TTL),
        tuple(CellResult(v, (1, 2), ({"carried_interviews_per_day": 300.0 + 5 * i},
                                     {"carried_interviews_per_day": 400.0 - 5 * i}))
              for i, v in enumerate(itertools.product(ACCOUNTS.values, TTL.values))),
        "carried_interviews_per_day", 2, 1, 7, "fluid",
    )
    caption = separation_note(noisy)
    assert "does not tell its cells apart" in caption
    grid_figure(noisy, tmp_path / "noisy.png", caption)
    (fig,) = drawn
    assert " ".join(fig.get_supxlabel().split()) == caption
    assert fig.get_suptitle().startswith("Scenario B (fluid mode): interviews carried per day")
