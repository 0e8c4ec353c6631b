"""The gateway (ASGI, in this loop) and the reasons tests' in-process services and upstreams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from b9_common.service import connect
from b9_common.settings import CommonSettings
from b9_gateway.app import create_app
from b9_gateway.deps import Deps, build_deps, build_pool
from b9_gateway.settings import Settings as GwSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reasons"))

from stack import base, events, wait_for

API_KEY = "requests-test-key-0123456789"
__all__ = ["API_KEY", "events", "gateway", "gateway_server", "poll_status", "request_changes", "wait_for"]


@contextlib.asynccontextmanager
async def gateway(common: CommonSettings, database_url: str, tmp: Path
                  ) -> AsyncIterator[tuple[httpx.AsyncClient, Deps]]:
    settings = GwSettings(**base(common), database_url=database_url, gateway_api_key=API_KEY,
                          media_store_url=f"file://{tmp}")  # type: ignore[arg-type]
    rt = await connect(settings, "gateway-tests", "0")
    pool = await build_pool(settings)
    deps = await build_deps(settings, rt, pool)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw",
                                     headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            yield client, deps
    finally:
        await deps.aclose()
        await pool.close()
        await rt.close()


@contextlib.asynccontextmanager
async def gateway_server(common: CommonSettings, database_url: str, tmp: Path) -> AsyncIterator[str]:
    settings = GwSettings(**base(common), database_url=database_url, gateway_api_key=API_KEY,
                          media_store_url=f"file://{tmp}", gateway_rate_limit=0)  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        sock.close()


async def poll_status(api: httpx.AsyncClient, url: str, statuses: tuple[str, ...],
                      within: float = 30.0) -> dict[str, Any]:
    """GET ``url`` until its status is one of ``statuses``."""
    async def done() -> dict[str, Any] | None:
        r = await api.get(url)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["status"] in statuses else None

    found: dict[str, Any] = await wait_for(done, within=within)
    return found


async def request_changes(api: httpx.AsyncClient, ready: asyncio.Event, out: list[dict[str, Any]],
                          rid: Callable[[], str | None] = lambda: None, max_seconds: float = 40) -> None:
    """Read the live feed's ``request.changed`` events into ``out`` (``ready`` is set once the feed
    listens) until one is done or failed; with ``rid``, only that request's (``rid()`` is asked
    at each event: the id may be known only after the listening started)."""
    params = {"subject": "request.changed", "max_seconds": max_seconds}
    async with api.stream("GET", "/api/v1/events", params=params) as r:
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
                if event == "ready":
                    ready.set()
            elif line.startswith("data: ") and event == "request.changed":
                change = json.loads(line[6:])
                if rid() not in (None, change["id"]):
                    continue
                out.append(change)
                if change["status"] in ("done", "failed"):
                    return
