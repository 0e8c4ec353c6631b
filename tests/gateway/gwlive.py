"""Helpers for tests that need the gateway over real HTTP (SSE streams: httpx's ASGITransport
buffers a response until it ends) and for waiting on conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from b9_gateway.app import create_app
from b9_gateway.deps import Deps
from b9_gateway.settings import Settings

Predicate = Callable[[], Awaitable[bool]]


async def until(check: Predicate, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def served(settings: Settings, deps: Deps, headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn on a free port. Lifespan off: the caller owns ``deps``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, deps), log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        sock.close()


async def sse(client: httpx.AsyncClient, params: dict[str, Any], ready: asyncio.Event,
              stop: Callable[[str, dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
    """Read /api/v1/events until ``stop(event, data)``; ``ready`` is set once subscribed."""
    got: list[tuple[str, dict[str, Any]]] = []
    event = ""
    async with client.stream("GET", "/api/v1/events", params=params) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if event == "ready":
                    ready.set()
                elif event not in ("ping", ""):
                    got.append((event, data))
                    if stop(event, data):
                        break
    return got
