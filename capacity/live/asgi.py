"""Serving an ASGI application with uvicorn, the reference ASGI server: the emulator
(``capacity emulate``) and the router as a service (``capacity serve``) both run this way.

We bind the socket ourselves (:func:`bind`: a busy port is reported before anything starts,
port 0 picks a free one, 127.0.0.1 unless told otherwise), cap concurrent connections, and
run either in the foreground until Ctrl-C (:func:`serve_forever`) or in-process on a
background thread with its own event loop (:class:`ServerThread`: tests, ``capacity validate``
and the benchmarks start and stop a server in milliseconds, without a subprocess).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["MAX_CONNECTIONS", "ServerThread", "bind", "serve_forever", "uvicorn_config"]

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


def uvicorn_config(
    app: ASGIApp, log_level: str, *, quiet_logging: bool, lifespan: Literal["on", "off"] = "off"
) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: no access log, :data:`MAX_CONNECTIONS`, a one-second
    graceful shutdown; ``quiet_logging`` (in-process servers) leaves the host program's logging
    configuration alone."""
    return uvicorn.Config(
        app,
        lifespan=lifespan,
        log_level=log_level,
        access_log=False,
        log_config=None if quiet_logging else uvicorn.config.LOGGING_CONFIG,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=1,
    )


def serve_forever(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on ``sock`` until interrupted (Ctrl-C or SIGTERM), in the foreground; returns
    normally once the server has shut down."""
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled, after shutting down
        uvicorn.Server(config).run(sockets=[sock])


class ServerThread:
    """An application served on a background thread, as a context manager: entering starts it
    and waits until it accepts connections; leaving stops it (closing every connection).

    Raises ``RuntimeError`` if it has not started within ``start_timeout_s`` (or its startup
    failed)."""

    what = "the server"
    """Named in the error when it does not start."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, start_timeout_s: float = 10.0) -> None:
        self._sock = sock
        self.host, self.port = sock.getsockname()[:2]
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"capacity-{type(self).__name__}", daemon=True)
        self._start_timeout_s = start_timeout_s

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.what} did not start")
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
