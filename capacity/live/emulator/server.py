"""Running the emulator: in the foreground (``capacity emulate``) or on a background thread.

The server is uvicorn, the reference ASGI server: it serves an application on a socket we
bind ourselves (so a busy port is reported before anything starts, and port 0 picks a free
one), runs in-process on any thread with its own event loop (tests and ``capacity validate``
start and stop it in milliseconds, without a subprocess), and caps concurrent connections.
It binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType

import uvicorn

from capacity.live.emulator.app import build_app
from capacity.live.emulator.service import Emulator

__all__ = ["MAX_CONNECTIONS", "EmulatorThread", "bind", "serve_forever"]

MAX_CONNECTIONS = 2048
"""Connections served at once; beyond it uvicorn answers 503 (bounds the server's memory)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port). Raises ``OSError`` if the
    address cannot be bound (in use, not local, not permitted)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a keep-alive client's next request
        # waits ~40 ms on delayed ACKs (measured here with uvicorn's h11 protocol)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _config(emulator: Emulator, log_level: str, *, quiet_logging: bool) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(emulator),
        lifespan="off",
        log_level=log_level,
        access_log=False,
        # in-process (tests, validate): leave the host program's logging configuration alone
        log_config=None if quiet_logging else uvicorn.config.LOGGING_CONFIG,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=1,
    )


def serve_forever(emulator: Emulator, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve ``emulator`` on ``sock`` until interrupted (Ctrl-C or SIGTERM), in the foreground;
    returns normally once the server has shut down."""
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled, after shutting down
        uvicorn.Server(_config(emulator, log_level, quiet_logging=False)).run(sockets=[sock])


class EmulatorThread:
    """The emulator served on a background thread, as a context manager::

        with EmulatorThread(emulator) as server:
            httpx.post(f"{server.base_url}/p/groq/v1/chat/completions", ...)

    Binds 127.0.0.1 on a free port; stops (and closes every connection) on exit. Raises
    ``RuntimeError`` if the server has not started within ``start_timeout_s``.
    """

    def __init__(
        self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0
    ) -> None:
        self.emulator = emulator
        self._sock = bind(host, port)
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = uvicorn.Server(_config(emulator, "warning", quiet_logging=True))
        self._thread = threading.Thread(target=self._run, name="capacity-emulator", daemon=True)
        self._start_timeout_s = start_timeout_s

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> EmulatorThread:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (a few seconds at most)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10.0)
        self._sock.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
