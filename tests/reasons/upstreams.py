"""Loopback upstreams for the reasons tests: per-path canned answers built from the recorded
Reddit fixtures (tests/fixtures/reddit), a server that sleeps past the client's timeout, and a
port nothing listens on."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reddit"


def fixture(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def about(name: str) -> bytes:
    """A real t5 about (r/redditdev) renamed."""
    body = json.loads(fixture("subreddit_about/redditdev.json"))
    body["data"].update({"display_name": name, "display_name_prefixed": f"r/{name}", "url": f"/r/{name}/"})
    return json.dumps(body).encode()


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    sleep: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Upstream:
    """``answers["path?query"]`` or else ``answers[path]`` (path without ``.json``, lower case) is
    served; Reddit's recorded 404 otherwise."""

    answers: dict[str, Answer] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.strip("/").lower().removesuffix(".json")
        self.hits[path] = self.hits.get(path, 0) + 1
        a = (self.answers.get(f"{path}?{request.query_string}") or self.answers.get(path)
             or Answer(404, fixture("errors/404_not_found_sticky.json")))
        if a.sleep:
            await asyncio.sleep(a.sleep)
        return web.Response(status=a.status, body=a.body, content_type=a.content_type, headers=a.headers)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def hang_up_server() -> tuple[asyncio.AbstractServer, str]:
    """A loopback server that accepts each connection and closes it without answering."""
    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
