"""Running the emulator: in the foreground (``capacity emulate``) or on a background thread,
served by uvicorn on a socket we bind ourselves (:mod:`capacity.live.asgi`), 127.0.0.1 unless
told otherwise.
"""

from __future__ import annotations

import socket

import uvicorn

from capacity.live.asgi import MAX_CONNECTIONS, ServerThread, bind, uvicorn_config
from capacity.live.asgi import serve_forever as _serve_forever
from capacity.live.emulator.app import build_app
from capacity.live.emulator.service import Emulator

__all__ = ["MAX_CONNECTIONS", "EmulatorThread", "bind", "serve_forever"]


def _config(emulator: Emulator, log_level: str, *, quiet_logging: bool) -> uvicorn.Config:
    return uvicorn_config(build_app(emulator), log_level, quiet_logging=quiet_logging)


def serve_forever(emulator: Emulator, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve ``emulator`` on ``sock`` until interrupted (Ctrl-C or SIGTERM), in the foreground;
    returns normally once the server has shut down."""
    _serve_forever(_config(emulator, log_level, quiet_logging=False), sock)


class EmulatorThread(ServerThread):
    """The emulator served on a background thread, as a context manager::

        with EmulatorThread(emulator) as server:
            httpx.post(f"{server.base_url}/p/groq/v1/chat/completions", ...)

    Binds 127.0.0.1 on a free port; stops (and closes every connection) on exit. Raises
    ``RuntimeError`` if the server has not started within ``start_timeout_s``.
    """

    what = "the emulator"

    def __init__(
        self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0
    ) -> None:
        self.emulator = emulator
        super().__init__(_config(emulator, "warning", quiet_logging=True), bind(host, port), start_timeout_s)
