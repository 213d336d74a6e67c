"""The emulator in a process of its own, for ``capacity validate``.

In-process (:class:`~capacity.live.emulator.server.EmulatorThread`) the emulator and the
router share one interpreter lock: every millisecond one waits for the other is a
millisecond of latency that, at a compressed time scale, becomes seconds of run time. In its
own process the emulator runs on the other core. Both count the same run time: the child's
clock starts from the parent's ``time.monotonic()`` instant (one clock for the machine).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import httpx

from capacity.config.providers import Provider
from capacity.config.scenario import Outage

__all__ = ["EmulatorProcess"]


def _serve(
    conn: Connection,
    providers: list[dict[str, Any]],
    outages: list[dict[str, Any]],
    run_start: dt.datetime,
    time_scale: float,
    origin_s: float,
    wall_origin: float,
    seed: int,
) -> None:  # pragma: no cover - runs in the child process
    from capacity.live.emulator.clock import ScaledClock
    from capacity.live.emulator.server import bind, serve_forever
    from capacity.live.emulator.service import Emulator

    emulator = Emulator(
        [Provider.model_validate(p) for p in providers],
        ScaledClock(time_scale, origin_s, wall_origin),
        run_start,
        seed=seed,
        outages=[Outage.model_validate(o) for o in outages],
    )
    sock = bind("127.0.0.1", 0)
    conn.send(sock.getsockname()[1])
    conn.close()
    serve_forever(emulator, sock)


class EmulatorProcess:
    """``with EmulatorProcess(...) as server: server.base_url … server.stats()``: the emulator
    of ``providers`` on a free loopback port in a child process, stopped on exit.

    Raises ``RuntimeError`` if the child has not started within ``start_timeout_s``.
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        run_start: dt.datetime,
        *,
        time_scale: float,
        origin_s: float,
        wall_origin: float,
        seed: int = 1,
        outages: Sequence[Outage] = (),
        start_timeout_s: float = 60.0,
    ) -> None:
        self._parent, child = mp.get_context("spawn").Pipe(duplex=False)
        self._child_conn = child
        self._process = mp.get_context("spawn").Process(
            target=_serve,
            args=(
                child,
                [p.model_dump(mode="json") for p in providers],
                [o.model_dump(mode="json") for o in outages],
                run_start,
                time_scale,
                origin_s,
                wall_origin,
                seed,
            ),
            name="capacity-emulator",
            daemon=True,
        )
        self._start_timeout_s = start_timeout_s
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:port`` of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EmulatorProcess:
        self._process.start()
        self._child_conn.close()
        if not self._parent.poll(self._start_timeout_s):
            self.stop()
            raise RuntimeError("the emulator process did not start")
        self.port = int(self._parent.recv())
        return self

    def stats(self) -> dict[str, Any]:
        """The emulator's ``GET /stats`` document."""
        reply = httpx.get(f"{self.base_url}/stats", timeout=30.0, trust_env=False)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 5 s)."""
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self._parent.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
