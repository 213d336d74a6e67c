"""A private ``redis-server`` on a free loopback port: for tests, benchmarks and multi-router runs.

It keeps nothing on disk (``--save ''``, ``--appendonly no``), listens on 127.0.0.1 only, works
in its own directory, and is stopped (SIGTERM, then SIGKILL) when the ``with`` block ends. It can
be stopped and started again on the same port, which is how the tests take Redis away from a
running ledger and give it back.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from capacity.errors import UsageError

_READY_TIMEOUT_S = 10.0
_PORT_TRIES = 5
"""Free ports tried at a first start before giving up (another process may take each in between)."""


class _PortTakenError(Exception):
    """The server could not bind its port: something else listens there."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def redis_server_path() -> str | None:
    """Where ``redis-server`` is on PATH, or None."""
    return shutil.which("redis-server")


class RedisServer:
    """A ``redis-server`` process of our own.

    Args:
        directory: its working directory (created if missing).
        port: the loopback port; a free one when omitted.
    Raises:
        UsageError: ``redis-server`` is not installed (Debian: ``apt-get install redis-server``).
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        executable = redis_server_path()
        if executable is None:
            raise UsageError("redis-server not found on PATH (Debian: apt-get install redis-server)")
        self.executable = executable
        self.directory = directory
        self.port = port if port is not None else free_port()
        self._port_chosen = port is None  # until the first start: another port may be tried
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it accepts connections (at most 10 s).

        A free port is free only until someone takes it: when the port was chosen here and the
        server cannot bind it at its first start (another process took it in between), a new
        free port is tried, up to :data:`_PORT_TRIES` in all. A restart keeps the port.

        Raises RuntimeError when the server exits at start or does not answer in time.
        """
        for attempt in range(1, _PORT_TRIES + 1):
            try:
                self._start_once()
            except _PortTakenError:
                if not self._port_chosen or attempt == _PORT_TRIES:
                    raise RuntimeError(f"redis-server could not bind 127.0.0.1:{self.port}: in use") from None
                self.port = free_port()
                continue
            self._port_chosen = False
            return

    def _start_once(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        logged = log.stat().st_size if log.exists() else 0
        command = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no",
            "--logfile", str(log),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                message = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                if log.exists():  # with --logfile the reason is in the log, not on stderr
                    with log.open("rb") as f:
                        f.seek(logged)
                        message += f.read().decode(errors="replace")
                self.stop()
                if "Address already in use" in message:
                    raise _PortTakenError
                raise RuntimeError(f"redis-server exited at start: {message.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG") and self.running:
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {_READY_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM; SIGKILL after 5 s); nothing is saved."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
