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
        """Start the server and wait until it accepts connections (at most 10 s)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                message = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {message.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
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
