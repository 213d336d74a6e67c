"""``capacity live``: replay a scenario's first interviews against real endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.app import app
from capacity.cli.common import (
    MAX_WORKERS,
    FailIfShortOption,
    InterviewsOption,
    JsonOption,
    ProvidersOption,
    ScenarioOption,
    SeedOption,
    SetOption,
    check_output_file,
    console,
    err_console,
    json_text,
    load,
    print_json,
    progress_bar,
    show_progress,
    user_errors,
)
from capacity.config.loader import Configuration
from capacity.errors import UsageError
from capacity.live.fleet import router_journal, run_fleet
from capacity.live.journal import JournalWriteError, interviews_ended
from capacity.live.load import LiveRun, plan_live
from capacity.live.performer import (
    HttpPerformer,
    emulator_clock_warning,
    emulator_run_start,
    parse_endpoint_options,
    resolve_routes,
)
from capacity.live.redis_ledger import LossPolicy
from capacity.live.runtime import CallPerformer
from capacity.live.serve.driving import ROUTER_PROVIDER, through_router
from capacity.live.transport import ChatTransport
from capacity.policy.build import Core
from capacity.report.run_tables import render_run, summary_json
from capacity.report.verdict import judge
from capacity.result import RunResult
from capacity.units import ErrorKind
from capacity.workload.calendar import run_start

MAX_TIME_SCALE = 100_000
"""The fastest --time-scale: a month of run time in under half a minute; beyond it nothing can keep up."""

EndpointOption = Annotated[
    list[str] | None,
    typer.Option(
        "--endpoint", metavar="NAME=URL",
        help="NAME=URL: send provider NAME's requests to URL (an OpenAI-compatible `.../v1`: a local vLLM, "
        "llama.cpp or Ollama server), or GPU pool NAME's to URL[,URL…] (one per server); repeatable.",
    ),
]


@app.command()
def live(
    scenario: ScenarioOption = "A",
    providers: ProvidersOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    interviews: InterviewsOption = 20,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale", metavar="FACTOR",
            min=0.001,
            max=MAX_TIME_SCALE,
            help="Run time per wall second: 60 runs a 30-minute interview in 30 s (think times and "
            "quota windows alike; only an emulator running at the same scale can keep up). 1 against real providers.",
        ),
    ] = 1.0,
    emulator: Annotated[
        str | None,
        typer.Option(
            "--emulator", metavar="URL",
                help="Send every provider's requests to this `capacity emulate` (http://host:port)."
        ),
    ] = None,
    endpoint: EndpointOption = None,
    seed: SeedOption = None,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", metavar="FILE",
            help="Journal file (JSON lines; default: capacity-live-SCENARIO-TIME.jsonl here)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run of --journal, skipping its finished interviews.")
    ] = False,
    routers: Annotated[
        int,
        typer.Option(
            "--routers",
            min=1,
            max=MAX_WORKERS,
            metavar="N",
            help="Router processes carrying the run (each every N-th candidate), sharing the quotas through "
            "Redis: --redis, or a private redis-server on a free loopback port when N > 1.",
        ),
    ] = 1,
    redis: Annotated[
        str | None,
        typer.Option(
            "--redis",
            metavar="URL",
            help="Keep the quota ledger in this Redis (redis://host:port/db), shared by every router of the run.",
        ),
    ] = None,
    on_redis_loss: Annotated[
        str,
        typer.Option(
            "--on-redis-loss",
            metavar="POLICY",
            help="While Redis is unreachable: fail_closed (admit nothing) or local (each router waits until "
            "what Redis counted has left every window, then admits from 1/N of each quota).",
        ),
    ] = "fail_closed",
    router: Annotated[
        str | None,
        typer.Option(
            "--router",
            metavar="URL",
            help="Drive a running `capacity serve` at URL (http://host:port): every turn goes to its model "
            "group, which routes, counts quotas and caches (bearer token from CAPACITY_ROUTER_TOKEN, if set).",
        ),
    ] = None,
    group: Annotated[
        str, typer.Option("--group", metavar="NAME", help="The model group to ask, with --router.")
    ] = "interview",
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE",
        help="Also write the full RunResult as JSON.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    fail_if_short: FailIfShortOption = False,
) -> None:
    """Drive the router live: the scenario's first interviews, with the simulator's candidates,
    arrivals and behaviour for the same seed, through the same policy core, against real
    OpenAI-compatible endpoints (the providers of providers.yaml with keys from the environment
    variables it names, local servers, or the provider emulator). Every finished interview is
    journaled; Ctrl-C loses nothing and `--resume` continues.

    Examples:

        capacity live -s A -n 200 --time-scale 60 --emulator http://127.0.0.1:8400

        capacity live -s A-groq -n 20 --endpoint groq=http://127.0.0.1:8000/v1

        capacity live -s A -n 50 --router http://127.0.0.1:4000

    Exit status: 0 the run finished (whether or not it carried the interviews: the verdict
    says), 1 with --fail-if-short when it fell short, a router process failed or the journal
    could not be written (a full disk: it keeps what was done), 2 bad input,
    130 interrupted (the journal keeps what was done).
    """
    with user_errors():
        config = load(scenario, providers, set_)
        if resume and journal is None:
            raise UsageError("--resume needs --journal PATH (the journal of the run to continue)")
        if journal is None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            journal = Path(f"capacity-live-{config.scenario.name}-{stamp}.jsonl")
        if not resume and journal.exists():
            raise UsageError(f"--journal {journal}: exists; pass --resume to continue that run, or another path")
        if not journal.parent.is_dir():
            raise UsageError(f"--journal {journal}: no directory {journal.parent}")
        check_output_file(journal, "--journal")
        check_output_file(out)
        if on_redis_loss not in ("fail_closed", "local"):
            raise UsageError(f"--on-redis-loss {on_redis_loss!r}: expected fail_closed or local")
        loss: LossPolicy = "local" if on_redis_loss == "local" else "fail_closed"
        overrides = parse_endpoint_options(endpoint or [])
        if router is not None:
            if emulator is not None or overrides or redis is not None or routers > 1:
                raise UsageError("--router drives a running capacity serve, which routes: "
                                 "leave out --emulator, --endpoint, --redis and --routers")
            config = through_router(config, router, group)
            overrides = {ROUTER_PROVIDER: [config.provider(ROUTER_PROVIDER).base_url]}
        routes = resolve_routes(config, emulator=emulator, overrides=overrides)
        plan = plan_live(config, interviews, seed)
        journals = [router_journal(journal, k) for k in range(routers)] if routers > 1 else [journal]
        if resume:
            kept = interviews_ended(journals)
            err_console.print(
                f"--resume: {kept:,} of {plan.interviews:,} interviews already ended; "
                f"running {max(0, plan.interviews - kept):,}",
                highlight=False,
            )
    if emulator is not None and (emulator_start := emulator_run_start(emulator)) is not None:
        line = emulator_clock_warning(emulator_start, run_start(config.scenario.calendar), scenario)
        if line is not None:
            err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)
    continue_with = resume_command(sys.argv[1:], journal, scenario, interviews, routers)
    if routers > 1:
        names = f"{journals[0]} … {journals[-1].name}"
        err_console.print(f"{routers} routers sharing Redis; journals: {names}", highlight=False)
        with progress_bar(show_progress(progress, as_json), counted=True) as bar:
            task = bar.add_task(f"live {config.scenario.name}", total=plan.interviews, detail="interviews")
            try:
                with user_errors():
                    result = run_fleet(
                        config,
                        plan,
                        routers=routers,
                        journal=journal,
                        resume=resume,
                        redis_url=redis,
                        time_scale=time_scale,
                        emulator=emulator,
                        endpoints=overrides,
                        on_redis_loss=loss,
                        progress=lambda done, total: bar.update(task, completed=done),
                    )
            except KeyboardInterrupt:
                _stopped(journals, plan.interviews, continue_with)
                raise typer.Exit(130) from None
            except RuntimeError as exc:  # a router process failed or died: its journal keeps what it did
                err_console.print(f"[red]error:[/red] {exc}; continue with: {continue_with}", highlight=False)
                raise typer.Exit(1) from None
        _finish(result, config, out, as_json, fail_if_short)
        return

    transport = ChatTransport()

    def performer(core: Core) -> CallPerformer:
        return HttpPerformer(core, routes, transport, time_scale, sessions=router is not None)

    show = show_progress(progress, as_json)
    err_console.print(f"journal: {journal}", highlight=False)
    with progress_bar(show, counted=True) as bar:
        task = bar.add_task(f"live {config.scenario.name}", total=plan.interviews, detail="interviews")

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done)

        run = LiveRun(config, plan, performer, time_scale, journal, resume, update, redis_url=redis, on_redis_loss=loss)

        async def main() -> RunResult:
            try:
                return await run.run_async()
            finally:
                await transport.aclose()

        try:
            with user_errors():
                result = asyncio.run(main())
        except KeyboardInterrupt:
            _stopped(journals, plan.interviews, continue_with)
            raise typer.Exit(130) from None
        except JournalWriteError as exc:  # a full disk: the journal keeps what was done
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    _finish(result, config, out, as_json, fail_if_short)


_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")
"""A URL's password (``redis://user:secret@host``): never printed."""


def resume_command(argv: Sequence[str], journal: Path, scenario: str, interviews: int, routers: int) -> str:
    """The command that continues this run: ``capacity`` and its arguments ``argv`` (as typed,
    after the program's name) with ``--journal`` (the one the run chose, when none was typed) and
    ``--resume`` added, a URL's password masked (keys come from the environment, never from the
    command line). When ``argv`` is not a ``live`` command line (the command called from Python),
    the run's essentials are spelt out from ``scenario``, ``interviews`` and ``routers``."""
    args = list(argv)
    if args[:1] != ["live"]:
        args = ["live", "-s", scenario, "-n", str(interviews)] + (["--routers", str(routers)] if routers > 1 else [])
    if not any(a == "--journal" or a.startswith("--journal=") for a in args):
        args += ["--journal", str(journal)]
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(["capacity", *(_PASSWORD.sub(r"\1***@", a) for a in args)])


def _stopped(journals: list[Path], interviews: int, continue_with: str) -> None:
    """Say, after Ctrl-C, how many interviews ended (the journals keep them) and how to go on."""
    ended: int | str = "?"
    with contextlib.suppress(UsageError, OSError):  # a journal torn beyond reading: say what can be said
        ended = interviews_ended(journals)
    err_console.print(
        f"stopped: {ended:,} of {interviews:,} interviews ended (journaled); continue with: {continue_with}"
        if isinstance(ended, int)
        else f"stopped; continue with: {continue_with}",
        highlight=False,
        soft_wrap=True,
    )


def unreachable(result: RunResult) -> list[str]:
    """Destinations that failed to connect on every call, or refused calls outright (4xx: a bad
    key, an account taken by another key, an unknown or withdrawn model, a request too long),
    each with what the endpoint said first (its status and message)."""
    out = []
    for d in result.destinations:
        calls = sum(d.errors.values()) + d.completed
        if calls and d.completed == 0 and d.errors.get(ErrorKind.CONNECTION, 0) == calls:
            said = d.error_reasons.get(ErrorKind.CONNECTION, "")
            out.append(f"{d.name}: every call ({calls:,}) could not be reached" + (f" ({said})" if said else ""))
        refused = d.errors.get(ErrorKind.CLIENT_ERROR, 0)
        if refused:
            what = f"every call ({calls:,})" if refused == calls else f"{refused:,} of {calls:,} calls"
            said = d.error_reasons.get(ErrorKind.CLIENT_ERROR, "")
            out.append(f"{d.name}: {what} refused" + (f" ({said})" if said else ""))
    return out


def _finish(
    result: RunResult, config: Configuration, out: Path | None, as_json: bool, fail_if_short: bool
) -> None:
    """Write ``--out`` (the ``--json`` document), render the run and its verdict; say which
    endpoints never answered; exit 1 if it falls short and ``fail_if_short``."""
    verdict = judge(result, config)
    document = summary_json(result, verdict, None)
    if out is not None:
        out.write_text(json_text(document, indent=1) + "\n")
    if as_json:
        print_json(document)
    else:
        render_run(result, verdict, console, None)
    for line in unreachable(result):  # the verdict judges quotas; a dead endpoint is said here
        err_console.print(
            f"[red]warning:[/red] {line} (see the journal for each call's error)", highlight=False, soft_wrap=True
        )
    if fail_if_short and not verdict.carries:
        raise typer.Exit(1)
