"""The read lane: GETs of ``QueryRoute`` pages answered without FastAPI's routing.

FastAPI 0.165 matches a request by walking every included router's routes, twice (once to
match, once to handle), with scope bookkeeping per candidate: ~25 function calls per route
tried, ~10-30 routes before a list page (measured: the lists served through the routing
ran at 0.65x the bare endpoint against 0.8-0.9x through an exact-path lookup). This
innermost middleware (inside the auth gate and the NUL check: callers are known, inputs
clean) finds the route of a GET with one dict lookup for the lists, and the detail pages'
few templates after that, and calls ``QueryRoute.respond``. Errors raised there are shaped
by the app's own exception handlers, as the exception middleware would (401, 404, 422,
503...). Anything else (other methods, other paths, a path an earlier-declared GET route
would take) goes down to the router as usual. The routes are the ones declared with
``@router.get`` (``query.QueryRoute``); the lane only finds them.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from b9_gateway.query import QueryRoute

Templates = list[tuple[re.Pattern[str], QueryRoute, str, frozenset[str]]]


def lane_routes(prefix: str, routers: list[APIRouter]) -> tuple[dict[str, QueryRoute], Templates]:
    """(exact path -> route, [(template regex, route, template, exact paths to leave alone)])
    of the GET ``QueryRoute``s of ``routers`` included under ``prefix``. The lane takes only
    what the router would give the same route: a path an earlier GET route of the same router
    declares (``/creators/related`` before ``/creators/{key}``) is left to the router, and a
    template behind an earlier template of as many segments is not laned at all."""
    exact: dict[str, QueryRoute] = {}
    templates: Templates = []
    for router in routers:
        earlier: list[str] = []
        for r in router.routes:
            if not (isinstance(r, APIRoute) and "GET" in (r.methods or ())):
                continue
            path = prefix + r.path
            if isinstance(r, QueryRoute) and r.query_spec is not None:
                regex, _, convertors = compile_path(path)
                if not convertors:
                    exact.setdefault(path, r)
                else:
                    same = [e for e in earlier if e.count("/") == path.count("/")]
                    plain = all(type(c).__name__ == "StringConvertor" for c in convertors.values())
                    if plain and not any("{" in e for e in same):
                        templates.append((regex, r, path, frozenset(same)))
            earlier.append(path)
    return exact, templates


class ReadLane:
    def __init__(self, app: ASGIApp, routes: tuple[dict[str, QueryRoute], Templates]) -> None:
        self.app = app
        self.exact, self.templates = routes

    def _find(self, path: str) -> tuple[QueryRoute | None, dict[str, str], str]:
        """The route, its path parameters and its template (the latency metric's label)."""
        route = self.exact.get(path)
        if route is not None:
            return route, {}, path
        for regex, r, template, avoid in self.templates:
            m = regex.match(path)
            if m is not None:
                return (None, {}, "") if path in avoid else (r, m.groupdict(), template)
        return None, {}, ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        route, params, template = self._find(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"], scope["b9_route"] = params, template
        try:
            response = await route.respond(scope)
        except Exception as exc:
            response = await _handled(scope, exc)
        await response(scope, receive, send)


async def _handled(scope: Scope, exc: Exception) -> Any:
    """The answer the app's exception handlers give for ``exc`` (re-raised when none does)."""
    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response = handler(Request(scope), exc)
            return await response if inspect.isawaitable(response) else response
    raise exc
