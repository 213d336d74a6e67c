"""Where a sweep's runs execute: a local process pool, or a Dask cluster of many machines.

Both take the same independent tasks (see :class:`~capacity.studies.runner.Task`) and return
their results in task order, so the numbers cannot depend on which one ran them, nor on how
many workers it had:

* ``process`` — a pool of ``workers`` spawned processes on this machine (one: run here, one
  after the other). Workers ignore Ctrl-C; the parent, told of it, terminates them at once
  rather than waiting for the runs in flight (which :func:`~capacity.studies.runner.run_tasks`
  would) and re-raises KeyboardInterrupt.
* ``dask`` — a Dask ``distributed`` cluster: a running scheduler's address
  (``tcp://HOST:8786``; its workers need this package installed, at the same version), or
  without one a ``LocalCluster`` of ``workers`` processes bound to 127.0.0.1. Dask is an
  optional extra (``pip install 'capacity[dask]'``), imported only here, only when asked for.
  On Ctrl-C the runs not yet finished are cancelled and the client closed.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

from capacity.errors import UsageError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

SimClock = Callable[[float, float], None]
"""Told (simulated time now, end of the run), s, as one simulation advances."""


Executor = Literal["process", "dask"]
"""The executors a sweep can run on."""

TasksDone = Callable[[int, int, str], None]
"""Told (tasks finished, tasks in all, label of the task that just finished)."""

EXECUTORS: tuple[Executor, ...] = ("process", "dask")

CONNECT_TIMEOUT_S = 20.0
"""How long to wait for a Dask scheduler to answer, s."""

__all__ = [
    "CONNECT_TIMEOUT_S",
    "EXECUTORS",
    "Executor",
    "SimClock",
    "Task",
    "TasksDone",
    "run_on",
    "run_on_dask",
    "run_on_processes",
]


class Task(Protocol[T_co]):
    """One independent piece of a study; picklable, so that a worker process can run it."""

    @property
    def label(self) -> str:
        """What the task is, in a few words (for progress)."""
        ...

    @property
    def weight(self) -> float:
        """Rough cost, to start the heaviest tasks first: interviews it simulates."""
        ...

    def __call__(self, clock: SimClock | None = None) -> T_co:
        """Run the task (``clock``: told the simulated time as a simulation advances)."""
        ...


def run_on(
    executor: Executor,
    tasks: Sequence[Task[T]],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    done: TasksDone | None = None,
) -> list[T]:
    """Run ``tasks`` on ``executor``; results in task order (see the module's notes)."""
    if executor == "dask":
        return run_on_dask(tasks, scheduler=scheduler, workers=workers, done=done)
    if scheduler is not None:
        raise UsageError("--scheduler is the address of a Dask scheduler; give it with --executor dask")
    return run_on_processes(tasks, workers=workers, done=done)


def _ignore_ctrl_c() -> None:
    """A pool worker's initializer: Ctrl-C reaches the whole process group; the parent handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call(indexed: tuple[int, Callable[[], T]]) -> tuple[int, T]:
    """Run one task in a pool worker; its index travels with its result."""
    index, task = indexed
    return index, task()


def run_on_processes(tasks: Sequence[Task[T]], *, workers: int = 1, done: TasksDone | None = None) -> list[T]:
    """Run ``tasks`` in ``workers`` spawned processes (one or a single task: here); task order.

    ``done`` is told (finished, total, label) as each task ends. A task's exception propagates;
    KeyboardInterrupt terminates every worker before it propagates.

    Tasks are handed out one at a time as workers free up, never queued ahead: the pool's task
    queue is a pipe, and a task (a configuration) is larger than a pipe's buffer, so a queued
    backlog keeps the pool's feeding thread blocked in a write that no terminated worker will
    ever read — ``Pool.terminate`` then waits for that thread forever (a Ctrl-C that hung
    ``tests/studies/test_grid.py`` in CI once the runs got fast enough to end while the backlog was
    still being written).
    """
    total = len(tasks)
    results: dict[int, T] = {}
    if workers <= 1 or total <= 1:
        for finished, (i, task) in enumerate(enumerate(tasks), start=1):
            results[i] = task()
            if done is not None:
                done(finished, total, task.label)
        return [results[i] for i in range(total)]
    context = multiprocessing.get_context("spawn")  # never fork a parent that may hold threads
    size = min(workers, total)
    pool = context.Pool(size, initializer=_ignore_ctrl_c)
    outcomes: queue.SimpleQueue[tuple[int, T] | BaseException] = queue.SimpleQueue()
    waiting = iter(list(enumerate(tasks)))

    def hand_out() -> None:
        item = next(waiting, None)
        if item is not None:
            pool.apply_async(_call, (item,), callback=outcomes.put, error_callback=outcomes.put)

    try:
        for _ in range(size):
            hand_out()
        for finished in range(1, total + 1):
            outcome = outcomes.get()
            if isinstance(outcome, BaseException):
                raise outcome
            i, value = outcome
            results[i] = value
            if done is not None:
                done(finished, total, tasks[i].label)
            hand_out()
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C or a failed task: stop the runs in flight now
        raise
    finally:
        pool.join()
    return [results[i] for i in range(total)]


def _dask() -> Any:
    """``dask.distributed``, or UsageError saying how to install it."""
    try:
        import dask.distributed
    except ImportError:
        raise UsageError(
            "--executor dask needs Dask's distributed scheduler: pip install 'capacity[dask]'"
        ) from None
    return dask.distributed


def run_on_dask(
    tasks: Sequence[Task[T]],
    *,
    scheduler: str | None = None,
    workers: int = 1,
    done: TasksDone | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> list[T]:
    """Run ``tasks`` on a Dask cluster: the scheduler at ``scheduler``, or a LocalCluster of
    ``workers`` single-threaded processes on 127.0.0.1; results in task order.

    Raises UsageError when Dask is not installed or the scheduler does not answer within
    ``connect_timeout_s``. A task's exception propagates; on KeyboardInterrupt the runs not
    yet finished are cancelled.
    """
    distributed = _dask()
    cluster = None
    log = logging.getLogger("distributed")
    level = log.level
    if scheduler is None:
        log.setLevel(logging.ERROR)  # our own cluster's start and stop chatter ("killing worker …") is noise here
        cluster = distributed.LocalCluster(
            n_workers=max(1, min(workers, len(tasks))),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        try:
            client = distributed.Client(cluster if cluster is not None else scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: no Dask scheduler answered ({exc})") from None
        try:
            futures = client.map(_call, list(enumerate(tasks)), pure=False)
            results: dict[int, T] = {}
            try:
                for finished, future in enumerate(distributed.as_completed(futures), start=1):
                    i, value = future.result()
                    results[i] = value
                    if done is not None:
                        done(finished, len(tasks), tasks[i].label)
            except BaseException:
                client.cancel(futures)
                raise
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        log.setLevel(level)
    return [results[i] for i in range(len(tasks))]
