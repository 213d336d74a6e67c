"""Running ``capacity serve``: the service's settings, its app with its resources, and uvicorn.

The upstream HTTP client (one pooled :class:`~.relay.RelayTransport`, which passes streamed
text on), the Redis client (when quotas are shared) and the :class:`~.gateway.Gateway` live as
long as the server: they are made in the application's lifespan, on the server's event loop, and closed
when it stops. The server is uvicorn on a socket bound by
:func:`capacity.live.asgi.bind` (a busy port is reported before anything starts; port 0
picks a free one), 127.0.0.1 unless told otherwise — as the emulator's.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette

from capacity.config.loader import Configuration
from capacity.live.asgi import ServerThread, bind, uvicorn_config
from capacity.live.asgi import serve_forever as _serve_forever
from capacity.live.performer import Routes
from capacity.live.redis_ledger import REDIS_DOWN
from capacity.live.serve.app import MAX_BODY_BYTES, build_app
from capacity.live.serve.gateway import Gateway
from capacity.live.serve.relay import RelayTransport
from capacity.live.serve.telemetry import Telemetry
from capacity.live.shared import connect_checked

__all__ = ["DEFAULT_GROUP", "ServeSettings", "ServeThread", "bind", "serve_forever", "service_app"]

DEFAULT_GROUP = "interview"
"""The model group a scenario's routing is served as, unless ``--group`` names another."""


@dataclass(frozen=True)
class ServeSettings:
    """What one service instance serves and how.

    ``config``'s routing is the model group ``group``, its destinations at ``routes``;
    ``redis_url`` shares quotas and session affinity with other instances under ``namespace``;
    ``tokens`` are the client bearer tokens (empty: no authentication); ``max_wait_s`` the
    longest a request waits for quota before a 429 (wall s); ``max_body_bytes`` the largest body;
    ``time_scale`` run seconds per wall second (a compressed rehearsal against the emulator).
    """

    config: Configuration
    routes: Routes
    group: str = DEFAULT_GROUP
    redis_url: str | None = None
    namespace: str = "capacity:serve"
    tokens: tuple[str, ...] = ()
    max_wait_s: float = 0.0
    max_body_bytes: int = MAX_BODY_BYTES
    time_scale: float = 1.0


def service_app(settings: ServeSettings) -> Starlette:
    """The ASGI application of ``settings``, its resources opened and closed by its lifespan.

    Raises (at startup) :class:`~capacity.errors.UsageError` when no Redis answers at ``redis_url``."""
    held: dict[str, Gateway] = {}
    redis: list[aioredis.Redis] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = await connect_checked(settings.redis_url) if settings.redis_url is not None else None
        if client is not None:
            redis.append(client)
        try:
            async with RelayTransport() as transport:
                held["gateway"] = Gateway(
                    settings.config, settings.routes, transport, group=settings.group, telemetry=Telemetry(),
                    redis=client, namespace=settings.namespace, max_wait_s=settings.max_wait_s,
                    time_scale=settings.time_scale,
                )
                yield
        finally:
            if client is not None:
                await client.aclose()

    async def ready() -> str | None:
        if not redis:
            return None
        try:
            await redis[0].ping()
        except REDIS_DOWN as exc:
            return f"Redis unreachable ({type(exc).__name__})"
        return None

    return build_app(
        lambda: held["gateway"], ready=ready, tokens=settings.tokens, max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
    )


def _config(settings: ServeSettings, log_level: str, *, quiet_logging: bool) -> uvicorn.Config:
    return uvicorn_config(service_app(settings), log_level, quiet_logging=quiet_logging, lifespan="on")


def serve_forever(settings: ServeSettings, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), in the foreground."""
    _serve_forever(_config(settings, log_level, quiet_logging=False), sock)


class ServeThread(ServerThread):
    """The service on a background thread (tests, the overhead bench), as a context manager.

    Binds ``host`` (127.0.0.1) on ``port`` (0: a free one); stops on exit. Raises
    ``RuntimeError`` if it has not started within ``start_timeout_s`` (or its startup failed).
    """

    what = "the service"

    def __init__(
        self, settings: ServeSettings, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0
    ) -> None:
        super().__init__(_config(settings, "warning", quiet_logging=True), bind(host, port), start_timeout_s)
