"""Service entry: ``SERVICE`` for ``b9 up`` / ``serve()``, ``main()`` for the console script.

Bootstrap builds the pool, the adapters and the FastAPI app; its one loop runs
``uvicorn.Server`` in this event loop. SIGTERM sets the service's stop event, the loop is
cancelled, live SSE streams are told to end, and uvicorn finishes in-flight requests
(up to 5 s) before the pool and NATS close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn
from b9_common.service import App, Runtime, ServiceDef, run

from b9_gateway import __version__
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps
from b9_gateway.settings import Settings

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the service runtime owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
        server_header=False,
    )


async def bootstrap(settings: Settings, rt: Runtime) -> App:
    deps = await build_deps(settings, rt)
    app = create_app(settings, deps)
    server = _Server(uvicorn_config(app, settings))
    state: dict[str, Any] = {"listening": None}

    async def http() -> None:
        task = asyncio.create_task(server.serve(), name="uvicorn")
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            deps.closing.set()
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
            raise
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            raise RuntimeError(
                f"GATEWAY_PORT: cannot listen on {settings.gateway_host}:{settings.gateway_port}"
            ) from exc

    def status() -> dict[str, Any]:
        if server.started and state["listening"] is None:
            state["listening"] = f"http://{settings.gateway_host}:{settings.gateway_port}"
        return {
            "status": "running" if server.started else "starting",
            "listening": state["listening"],
        }

    async def close() -> None:
        await deps.aclose()  # running replays stop and record where to resume
        await deps.pool.close()
        await deps.media.close()

    return App(loops=[http], closers=[close], status=status)


SERVICE = ServiceDef(name="gateway", version=__version__, settings_cls=Settings, bootstrap=bootstrap)


def main() -> None:
    run(SERVICE)
