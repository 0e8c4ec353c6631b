"""Error answers the routes do not write themselves.

- PostgreSQL unreachable (``DatabaseUnavailable`` from the pool, or a connection dropped in
  the middle of a query): 503 with ``Retry-After`` and a JSON reason, no stack trace (the
  pool's ``Outage`` logs one line per transition, not one per request).
- 405: Starlette answers with the ``Allow`` of the first route whose path matched, so a path
  served by several routes (``GET`` and ``POST /api/v1/users``) advertised only some of its
  methods; the answer lists every method of every route with that path.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response

from b9_gateway.http import JSON
from b9_gateway.pool import DatabaseUnavailable

log = logging.getLogger(__name__)
RETRY_AFTER = 5
DB_UNAVAILABLE = "database unavailable"
# Raised by a query on a connection the server dropped (the pool raises DatabaseUnavailable).
MID_QUERY: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


def unavailable_body(reason: str) -> dict[str, Any]:
    return {"detail": f"{reason}; retry in {RETRY_AFTER} s", "error": reason, "retry_after": RETRY_AFTER}


async def database_down(request: Request, exc: Exception) -> Response:
    deps = getattr(request.app.state, "deps", None)
    outage = getattr(getattr(deps, "pool", None), "outage", None)
    if outage is not None and not isinstance(exc, DatabaseUnavailable):
        outage.down(exc)  # the pool counted its own; a dropped connection is counted here
    return JSON(unavailable_body(DB_UNAVAILABLE), status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


def flat_routes(app: Any) -> list[Any]:
    """Every route of the app with its full path (FastAPI >= 0.16x keeps included routers
    as one route each: ``iter_route_contexts`` walks into them)."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # older FastAPI: include_router copies the routes into app.routes
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method of the routes serving ``path``: the exact (no-parameter) path when one
    matches, else the first templated path that does (as the router chooses)."""
    matched = [r for r in flat_routes(app) if getattr(r, "methods", None) and r.path_regex.match(path)]
    exact = [r for r in matched if "{" not in r.path]
    chosen = exact or [r for r in matched if r.path == matched[0].path]
    return sorted({m for r in chosen for m in r.methods})


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        methods = allowed_methods(request.app, request.scope["path"])
        if methods:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    for cls in MID_QUERY:
        app.add_exception_handler(cls, database_down)
    app.add_exception_handler(HTTPException, method_not_allowed)
