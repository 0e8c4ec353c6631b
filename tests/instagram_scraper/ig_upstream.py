"""A local aiohttp server speaking the provider's shapes, fed with the built fixtures.

``faults[path]`` is a queue of canned answers served before the normal ones (429 with or
without Retry-After, 5xx, malformed JSON, empty pages...). Every request is recorded.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "test-key-123"
# Short waits so retry tests stay fast; the production defaults are 2-10 s.
FAST = {"wait_initial": 0.01, "wait_max": 0.05, "empty_wait": 0.01}


@dataclass
class Fault:
    status: int = 200
    body: bytes | None = b""
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class FakeProvider:
    def __init__(self, page_size: int = 12) -> None:
        self.creators: dict[str, dict[str, Any]] = {}
        self.related: dict[str, list[str]] = {}
        self.page_size = page_size
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    def add(self, data: dict[str, Any]) -> None:
        self.creators[data["profile"]["username"]] = data

    def by_id(self, ig_id: str) -> dict[str, Any] | None:
        return next((c for c in self.creators.values() if c["profile"]["id"] == ig_id), None)

    def calls(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{endpoint}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["endpoint"]
        self.requests.append(Seen(path, dict(request.query), dict(request.headers)))
        if request.headers.get("x-rapidapi-key") != API_KEY:
            return web.json_response({"message": "You are not subscribed to this API."}, status=403)
        queue = self.faults.get(path)
        if queue:
            f = queue.popleft()
            if f.json_body is not None:
                return web.json_response(f.json_body, status=f.status, headers=f.headers)
            return web.Response(
                status=f.status, body=f.body, headers=f.headers, content_type="application/json"
            )
        q = request.query
        if path == "/profile":
            c = self.creators.get(q.get("username", ""))
            if c is None:
                return web.json_response({"status": False, "message": "User not found"}, status=404)
            return web.json_response(c["profile"])
        if path in ("/reels", "/user-feeds"):
            c = self.by_id(q.get("id", ""))
            items = (c or {}).get("reels" if path == "/reels" else "posts", [])
            start = int(q.get("max_id", "QVFE0")[4:] or 0)
            size = min(int(q.get("count", 12)), self.page_size)
            page = items[start : start + size]
            more = start + size < len(items)
            paging = {"more_available": more, "max_id": f"QVFE{start + size}" if more else None}
            return web.json_response({"items": page, "paging_info": paging, "status": "ok"})
        if path == "/related-profiles":
            c = self.by_id(q.get("id", ""))
            names = self.related.get(c["profile"]["username"], []) if c else []
            edges = [
                {"node": {"id": str(900 + i), "username": n, "full_name": n, "is_private": False}}
                for i, n in enumerate(names)
            ]
            return web.json_response(
                {"data": {"viewer": [], "user": {"edge_related_profiles": {"edges": edges}}}}
            )
        return web.Response(status=404, body=json.dumps({"message": "no such endpoint"}).encode())
