"""The private ``redis-server`` survives the free-port race: a port chosen free may be taken by
another process (another test worker) before the server binds it; the server then moves to
another free port at its first start, and never silently answers on someone else's server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from capacity.live.redis_server import RedisServer
from tests.live.conftest import require_redis_server


def _occupy(port: int) -> socket.socket:
    taker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taker.bind(("127.0.0.1", port))
    taker.listen()
    return taker


def test_a_chosen_port_taken_before_the_start_moves_to_another(tmp_path: Path) -> None:
    require_redis_server()
    server = RedisServer(tmp_path / "redis")
    taken = server.port
    with _occupy(taken), server:
        assert server.port != taken
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(16).startswith(b"+PONG")
        server.stop()
        server.start()  # a restart keeps its port (the tests take Redis away and bring it back)
        assert server.port != taken and server.running


def test_a_given_port_in_use_is_an_error_that_says_so(tmp_path: Path) -> None:
    require_redis_server()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.listen()
        server = RedisServer(tmp_path / "redis", port=port)
        with pytest.raises(RuntimeError, match=f"could not bind 127.0.0.1:{port}: in use"):
            server.start()
        assert not server.running
