"""Error answers the routes do not write themselves.

- PostgreSQL unreachable (``DatabaseUnavailable`` from the pool, or a connection dropped in
  the middle of a query): 503 with ``Retry-After`` and a JSON reason, no stack trace (the
  pool's ``Outage`` logs one line per transition, not one per request).
- NATS unreachable (a command while disconnected, a publish without ack, a JetStream / KV
  request without answer): 503 the same way (nats-py's error callback already logs the
  connection's state, one line per distinct error).
- 405: Starlette answers with the ``Allow`` of the first route whose path matched, so a path
  served by several routes (``GET`` and ``POST /api/v1/users``) advertised only some of its
  methods; the answer lists every method of every route with that path.
- NUL characters (``%00`` in the path or query, ``\\u0000`` in a JSON body): 422 before any
  route runs, for every string of every route (PostgreSQL cannot store them; the schema says
  so with a pattern on every free string, ``responses.NUL_FREE``).
- A query parameter given more than once that the document does not declare as an array:
  422 (FastAPI and the Struct routes would silently keep the last value).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import msgspec
import nats.errors
import nats.js.errors
from b9_common.errors import PublishError
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b9_gateway.deps import BusUnavailable
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


BUS_UNAVAILABLE = "event bus unavailable"
BUS_DOWN: tuple[type[Exception], ...] = (
    BusUnavailable,
    PublishError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
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


async def bus_down(request: Request, exc: Exception) -> Response:
    log.debug("503: %s: %s", type(exc).__name__, exc)
    return JSON(unavailable_body(BUS_UNAVAILABLE), status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method of the routes serving ``path``: the exact (no-parameter) path when one
    matches, else the first templated path that does (as the router chooses)."""
    matched = [r for r in flat_routes(app) if getattr(r, "methods", None) and r.path_regex.match(path)]
    exact = [r for r in matched if "{" not in r.path]
    chosen = exact or [r for r in matched if r.path == matched[0].path]
    return sorted({m for r in chosen for m in r.methods})


NUL_MSG = "NUL characters (\\u0000) are not allowed"


class NulInBody(HTTPException):
    """Raised from ``receive`` (FastAPI re-raises HTTPExceptions met while reading a body)."""

    def __init__(self) -> None:
        super().__init__(status_code=422, detail=NUL_MSG)


def _nul_answer(where: str, msg: str = NUL_MSG) -> tuple[Message, Message]:
    body = msgspec.json.encode({"detail": [{"loc": where.split(" ", 1), "msg": msg, "type": "value_error"}],
                                "error": f"invalid request: {where}: {msg}"})
    start = {"type": "http.response.start", "status": 422,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


def _is_array(schema: dict[str, Any]) -> bool:
    branches = [schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return any(b.get("type") == "array" for b in branches)


def repeated_scalar(app: Any, scope: Scope) -> str | None:
    """The first query parameter given more than once whose documented schema is not an array."""
    counts = Counter(k for k, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
    repeated = {k for k, n in counts.items() if n > 1}
    if not repeated:
        return None
    method = scope["method"]
    for r in flat_routes(app):
        if method in (getattr(r, "methods", None) or ()) and r.path_regex.match(scope["path"]):
            op = app.openapi().get("paths", {}).get(getattr(r, "path_format", r.path), {}).get(method.lower(), {})
            for p in op.get("parameters", []):
                if p.get("in") == "query" and p["name"] in repeated and not _is_array(p.get("schema", {})):
                    return str(p["name"])
            return None
    return None


class RejectNul:
    """422 for NUL in the path, the query string or a JSON body (checked while it streams in),
    and for a scalar query parameter given more than once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = "path" if "\x00" in scope["path"] else "query" if b"%00" in scope["query_string"] else None
        if where is not None:
            for message in _nul_answer(where):
                await send(message)
            return
        if b"&" in scope["query_string"] and (name := repeated_scalar(scope["app"], scope)):
            for message in _nul_answer(f"query {name}", "given more than once; this parameter takes one value"):
                await send(message)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        tail = b""

        async def checked() -> Message:
            nonlocal tail
            message = await receive()
            chunk = message.get("body", b"")
            if chunk:
                if b"\\u0000" in tail + chunk:
                    raise NulInBody()
                tail = chunk[-5:]
            return message

        await self.app(scope, checked, send)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, NulInBody):
        _, body = _nul_answer("body")
        return Response(body["body"], status_code=422, media_type="application/json")
    if exc.status_code == 405:
        methods = allowed_methods(request.app, request.scope["path"])
        if methods:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    for cls in MID_QUERY:
        app.add_exception_handler(cls, database_down)
    for bus in BUS_DOWN:
        app.add_exception_handler(bus, bus_down)
    app.add_exception_handler(HTTPException, method_not_allowed)
    app.add_middleware(RejectNul)
