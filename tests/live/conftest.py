"""A real ``redis-server`` for the live tests, started on a free loopback port in its own folder.

Where ``redis-server`` is not installed the Redis tests are skipped with the reason — unless
``CI`` is set, where a missing server is a failure (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from capacity.live.redis_server import RedisServer, redis_server_path


def require_redis_server() -> None:
    """Skip (or, under CI, fail) when ``redis-server`` is not on PATH."""
    if redis_server_path() is None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("redis-server is not installed; CI must install it (see .ci/run)")
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the session; tests keep apart by key namespace."""
    require_redis_server()
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server for one test alone (to stop and restart it)."""
    require_redis_server()
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    """One event loop for a module's examples (a client belongs to the loop that made it)."""
    with asyncio.Runner() as loop:
        yield loop
