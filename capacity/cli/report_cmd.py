"""``capacity report``: Markdown pages with figures, for one scenario or every shipped one."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    DEFAULT_JOBS,
    MAX_DAYS,
    JsonOption,
    ProvidersOption,
    SeedOption,
    SetOption,
    check_output_folder,
    err_console,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.errors import UsageError

if TYPE_CHECKING:  # the studies are imported when a report runs, not when the CLI starts
    from capacity.studies.runner import Task, TasksDone

REPORTS_DIR = Path("reports")
"""Where the shipped reports live, relative to the current directory."""


SHIPPED_COMPARISONS = ("free-vs-gpu",)
"""Comparisons whose pages ``--all`` regenerates (reports/<name>/)."""

SHIPPED_LEVERS = (("A", "A-levers"),)
"""(base, levers scenario) whose ``compare levers`` page ``--all`` regenerates (reports/levers-<base>/)."""


def _all_pages(
    providers: Path | None, root: Path, jobs: int, tell: Callable[[str], None], done: TasksDone
) -> list[Path]:
    """Every shipped page under ``root``: the scenarios' (and the index and the seed audit), the
    shipped comparisons' and the levers of A.

    All their simulations go into one pool of ``jobs`` processes, longest first, so that no
    study waits for the tail of another's, and a run two studies share — B's day on its page and
    in free-vs-gpu, A's first five days in free-vs-gpu and as the levers' "none" row — is made
    once (:func:`~capacity.studies.runner.run_tasks`).
    """
    from capacity.config.loader import Configuration
    from capacity.report import pages
    from capacity.report.compare_page import write_comparison_page
    from capacity.report.levers_tables import write_levers_page
    from capacity.studies.compare import plan_comparison
    from capacity.studies.levers import plan_levers
    from capacity.studies.runner import distinct_runs, run_tasks
    from capacity.studies.runs import RunRequest, plan_runs


    cache: dict[str, Configuration] = {}

    def loader(name: str) -> Configuration:
        if name not in cache:
            cache[name] = load(name, providers, None)
        return cache[name]

    began = time.perf_counter()
    names = pages.ALL_SCENARIOS
    scenario_runs = plan_runs([RunRequest(loader(name)) for name in names])
    comparisons = [plan_comparison([name], loader) for name in SHIPPED_COMPARISONS]
    levers = [plan_levers(loader(base), loader(full)) for base, full in SHIPPED_LEVERS]
    parts = [scenario_runs.tasks, *(c.tasks for c in comparisons), *(lv.tasks for lv in levers)]
    tasks: list[Task[Any]] = [task for part in parts for task in part]
    studied = ", ".join([*SHIPPED_COMPARISONS, *(f"levers of {base}" for base, _ in SHIPPED_LEVERS)])
    tell(f"simulating {distinct_runs(tasks)} runs (pages of {', '.join(names)} with their capacity curves; {studied}) "
         f"in {jobs} process(es)")
    results = run_tasks(tasks, jobs, done=done)
    ends = list(itertools.accumulate(len(part) for part in parts))
    chunks = [results[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    elapsed = time.perf_counter() - began
    studies = [
        ("free-vs-gpu", "Strategies side by side: 2025 free tiers against self-hosted RTX 4090s, with TCO"),
        *((f"levers-{base}", f"What each lever of {full} is worth over {base}, alone and together")
          for base, full in SHIPPED_LEVERS),
    ]
    runs = scenario_runs.finish(chunks[0])
    written = pages.write_all(dict(zip(names, runs, strict=True)), root, progress=tell, studies=studies)
    compared = chunks[1 : 1 + len(comparisons)]
    for name, planned, chunk in zip(SHIPPED_COMPARISONS, comparisons, compared, strict=True):
        written += write_comparison_page(planned.finish(chunk, elapsed), root / name)
    for (base, _), lever_plan, chunk in zip(SHIPPED_LEVERS, levers, chunks[1 + len(comparisons) :], strict=True):
        written += write_levers_page(lever_plan.finish(chunk, elapsed), root / f"levers-{base}")
    return written


def default_jobs() -> int:
    """Worker processes for the simulations: the machine's cores, at most 4 (:data:`DEFAULT_JOBS`)."""
    return DEFAULT_JOBS


def variant_folder(name: str, days: int | None, seed: int | None, overridden: bool) -> str:
    """The default folder name of scenario ``name``'s page: ``name`` itself for the scenario as shipped;
    for a variant — its first ``days`` only, another ``seed``, fields ``overridden`` with ``--set`` —
    ``name`` and what differs (``A-2-days``, ``A-seed-7``, ``A-custom``), so that a quick look never
    overwrites the shipped page of the whole horizon."""
    parts = [name]
    if days is not None:
        parts.append(f"{days}-day" if days == 1 else f"{days}-days")
    if seed is not None:
        parts.append(f"seed-{seed}")
    if overridden:
        parts.append("custom")
    return "-".join(parts)


@app.command()
def report(
    *,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            "-s", metavar="NAME|FILE",
            help="Scenario name or path (A, B, seed-claims …), or seed-audit: the audit of the planning document.",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Regenerate every shipped report under --out (default reports/).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR",
            help="Folder to write (default reports/NAME/ for scenario NAME as shipped; a run with --days, --seed or "
            "--set goes to reports/NAME-2-days/, NAME-seed-7/, NAME-custom/…, never over the shipped page; "
            "with --all: reports/)."),
    ] = None,
    providers: ProvidersOption = None,
    set_: SetOption = None,
    days: Annotated[int | None, typer.Option("--days", metavar="DAYS", min=1, max=MAX_DAYS,
        help="Simulate only the first N days of demand.")] = None,
    seed: SeedOption = None,
    curve: Annotated[
        bool,
        typer.Option("--curve/--no-curve", help="Run the capacity curve (a sweep of short runs at scaled demand)."),
    ] = True,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", metavar="N", min=0,
            help="Worker processes for the simulations (0: the cores, at most 4)."),
    ] = 0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Write a report: README.md (verdict, tables, figures, assumptions with sources) and PNG figures.

    `--all` regenerates reports/A, reports/B, reports/seed-claims, reports/A-levers,
    reports/seed-audit (the planning document's claims, line by line), reports/free-vs-gpu
    (`capacity compare`), reports/levers-A (`capacity compare levers -s A`) and
    reports/README.md; the same inputs give the
    same files, bit for bit. The numbers come from seeded simulations; the figures are drawn
    with matplotlib (Agg), without dates or version metadata.

    Examples:

        capacity report -s A

        capacity report -s my.yaml --days 5 --out my-report

        capacity report -s seed-audit

    With --json, prints one JSON document instead of the file list: the files written and, for a
    scenario's page, the run (as `simulate --json` prints it, verdict included) and its plan.

    Exit status: 0 written, 2 bad input.
    """
    from capacity.report import pages
    from capacity.report.audit import write_seed_audit
    from capacity.report.run_tables import summary_json
    from capacity.studies.runs import RunRequest, run_scenarios

    workers = jobs or default_jobs()
    started = time.perf_counter()
    document: dict[str, Any] | None = None

    with user_errors(), progress_bar(show_progress(progress, as_json), counted=True) as bar:
        task = bar.add_task("simulating", total=None, detail="")

        def tell(message: str) -> None:
            bar.console.print(f"[dim]{message}[/dim]", highlight=False)

        def done(finished: int, total: int, label: str) -> None:
            bar.update(task, completed=finished, total=total, detail=label)

        if all_ == (scenario is not None):
            raise UsageError("give either --scenario NAME or --all")
        if all_ and (days is not None or seed is not None or set_):
            raise UsageError("--all regenerates the shipped reports as committed: no --days, --seed or --set")
        if all_:
            check_output_folder(out or REPORTS_DIR)
            written = _all_pages(providers, out or REPORTS_DIR, workers, tell, done)
        elif scenario == pages.SEED_AUDIT:
            if days is not None or seed is not None or set_:
                raise UsageError("the seed audit runs the shipped scenarios as they are: no --days, --seed or --set")
            check_output_folder(out or REPORTS_DIR / pages.SEED_AUDIT)
            requests = [RunRequest(load(name, providers, None), curve=False) for name in pages.AUDIT_SCENARIOS]
            seed_run, real, per_day, levers = run_scenarios(requests, workers, tell, done=done)  # no curves
            written = write_seed_audit(seed_run, real, per_day, out or REPORTS_DIR / pages.SEED_AUDIT, levers)
        else:
            assert scenario is not None
            config = load(scenario, providers, set_)
            demand = config.scenario.demand
            if days is not None and demand.kind == "total" and days > demand.days:
                raise UsageError(f"--days {days}: scenario {config.scenario.name} has {demand.days} days")
            folder = out or REPORTS_DIR / variant_folder(config.scenario.name, days, seed, bool(set_))
            check_output_folder(folder)
            (run,) = run_scenarios(
                [RunRequest(config, days=days, seed=seed, curve=curve)], workers, tell, done=done
            )
            written = pages.write_scenario_page(run, folder)
            if as_json:
                document = {
                    "files": [str(p) for p in written],
                    "run": summary_json(
                        run.result,
                        pages.verdict_of(run),
                        providers_file=config.providers_file,
                        wall_time_s=time.perf_counter() - started,
                    ),
                    "plan": run.plan.to_json(),
                }
    if as_json:
        print_json(document or {"files": [str(p) for p in written]})
        return
    for path in written:
        typer.echo(str(path))
    err_console.print(f"[dim]{len(written)} files in {time.perf_counter() - started:.0f} s[/dim]", highlight=False)
