"""A local Reddit: an aiohttp server on 127.0.0.1 serving the REAL recorded fixtures.

Responses are the verbatim bodies from tests/fixtures/reddit (PRAW cassettes). Where the
fixtures lack something, ``built_*`` helpers build it from a real body's shape and every such
route is marked ``built=True`` (listed in ``FakeReddit.built_routes``). Listings honour
``limit`` by keeping the first ``limit`` children of the real listing.

Besides serving, it records every request (path, query, User-Agent, Authorization, time),
issues OAuth tokens, enforces a fixed-window budget with real ``x-ratelimit-*`` headers
(429 past it, counted in ``over_budget``), and injects faults (status bursts, 429 storms,
slow responses, malformed JSON).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reddit"
NOT_FOUND = (FIXTURES / "errors" / "404_not_found_sticky.json").read_bytes()
HTML_429 = (FIXTURES / "errors" / "429_too_many_requests_html_with_retry_after.html").read_bytes()
ERR_500 = (FIXTURES / "errors" / "500_internal_server_error_json.json").read_bytes()


def fixture(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def fixture_json(rel: str) -> Any:
    return json.loads(fixture(rel))


def built_about(name: str, template: str = "subreddit_about/redditdev.json",
                **changes: Any) -> bytes:
    """A t5 about built from a real one, with the name (and ``changes``) replaced."""
    body = fixture_json(template)
    body["data"].update({"display_name": name, "display_name_prefixed": f"r/{name}",
                         "url": f"/r/{name}/", **changes})
    return json.dumps(body).encode()


def built_user(name: str, template: str) -> bytes:
    """A t2 about built from a real user's body with the name replaced."""
    body = fixture_json(template)
    body["data"]["name"] = name
    return json.dumps(body).encode()


def built_error(status: int, reason: str) -> bytes:
    """Reddit's 403/404 bodies for private/banned (shape of the real quarantined 403)."""
    return json.dumps({"reason": reason, "message": "Forbidden" if status == 403 else "Not Found",
                       "error": status}).encode()


@dataclass
class Route:
    status: int
    body: bytes
    built: bool = False
    listing: bool = False
    content_type: str = "application/json; charset=UTF-8"


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    user_agent: str
    authorization: str
    at: float
    status: int = 0


@dataclass
class FakeReddit:
    budget: int | None = None        # requests per window (None: no x-ratelimit-* at all)
    window: float = 600.0
    token_ttl: float = 3600.0
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    faults: deque[tuple[str, Any]] = field(default_factory=deque)
    over_budget: int = 0
    windows: list[int] = field(default_factory=list)  # requests served in each closed window
    tokens: list[str] = field(default_factory=list)
    token_auth: list[str] = field(default_factory=list)
    default_user_listing: bytes = field(default_factory=lambda: fixture(
        "user_listing/USERNAME_placeholder_submitted_before_empty.json"))
    url: str = ""
    _window_start: float | None = None
    _used: int = 0
    _runner: web.AppRunner | None = None

    # -- routes --------------------------------------------------------------------
    def add(self, path: str, body: bytes, status: int = 200, *, built: bool = False,
            listing: bool = False, content_type: str = "application/json; charset=UTF-8") -> None:
        self.routes[path.strip("/").lower()] = Route(status, body, built, listing, content_type)

    def add_subreddit(self, name: str, *, about: bytes, top: bytes, built_about_: bool = False,
                      rules: bytes | None = None) -> None:
        self.add(f"r/{name}/about", about, built=built_about_)
        rules = rules or fixture("other/subreddit_rules_TEST_SUBREDDIT.json")
        self.add(f"r/{name}/about/rules", rules)
        self.add(f"r/{name}/top", top, listing=True)

    @property
    def built_routes(self) -> list[str]:
        return sorted(p for p, r in self.routes.items() if r.built)

    def api_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path != "api/v1/access_token"]

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path.lower())

    # -- server ----------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _ratelimit_headers(self, now: float) -> tuple[dict[str, str], bool]:
        """Headers for this request and whether it is past the budget."""
        if self.budget is None:
            return {}, False
        if self._window_start is None or now >= self._window_start + self.window:
            if self._window_start is not None:
                self.windows.append(self._used)
            self._window_start, self._used = now, 0
        reset = self._window_start + self.window - now
        over = self._used >= self.budget
        if not over:
            self._used += 1
        remaining = max(0, self.budget - self._used)
        # as Reddit: remaining is a float string, used an int, reset whole seconds (floored)
        return {"x-ratelimit-remaining": f"{float(remaining)}", "x-ratelimit-used": str(self._used),
                "x-ratelimit-reset": str(math.floor(reset))}, over

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.strip("/").lower()
        if path.endswith(".json"):
            path = path[:-5]
        seen = Seen(path, dict(request.query), request.headers.get("User-Agent", ""),
                    request.headers.get("Authorization", ""), time.monotonic())
        self.requests.append(seen)
        if path == "api/v1/access_token":
            token = f"tok-{len(self.tokens) + 1}"
            self.tokens.append(token)
            self.token_auth.append(request.headers.get("Authorization", ""))
            seen.status = 200
            return web.json_response({"access_token": token, "token_type": "bearer",
                                      "expires_in": self.token_ttl, "scope": "*"})
        resp = await self._respond(path, request, time.monotonic())
        seen.status = resp.status
        return resp

    async def _respond(self, path: str, request: web.Request, now: float) -> web.StreamResponse:
        headers, over = self._ratelimit_headers(now)
        if over:
            self.over_budget += 1
            wait = headers.get("x-ratelimit-reset", "1")
            return web.Response(status=429, body=HTML_429, headers={**headers, "retry-after": wait},
                                content_type="text/html")
        if self.faults:
            kind, arg = self.faults.popleft()
            if kind == "status":
                body = ERR_500 if arg == 500 else b""
                return web.Response(status=arg, body=body, headers=headers)
            if kind == "429":  # a storm 429 as recorded: HTML body, retry-after, no rate headers
                return web.Response(status=429, body=HTML_429, content_type="text/html",
                                    headers={"retry-after": str(arg)})
            if kind == "delay":
                await asyncio.sleep(arg)
            if kind == "malformed":
                return web.Response(status=200, body=b'{"kind": "t5", "data": {"display_na',
                                    headers=headers, content_type="application/json")
        route = self.routes.get(path)
        if route is None and path.startswith("user/") and path.endswith("/submitted"):
            route = Route(200, self.default_user_listing, listing=True)
        if route is None:
            return web.Response(status=404, body=NOT_FOUND, headers=headers,
                                content_type="application/json")
        body = route.body
        limit = request.query.get("limit")
        if route.listing and limit and limit.isdigit():
            data = json.loads(body)
            data["data"]["children"] = data["data"]["children"][: int(limit)]
            body = json.dumps(data).encode()
        ctype, _, charset = route.content_type.partition("; charset=")
        return web.Response(status=route.status, body=body, headers=headers, content_type=ctype,
                            charset=charset or None)
