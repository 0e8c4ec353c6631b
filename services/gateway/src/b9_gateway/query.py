"""Fast GET routes: the query string parsed into one msgspec Struct per route.

FastAPI resolves each declared query parameter on every request (``solve_dependencies``:
~1 ms for a 13-parameter list route, more than the SQL). A ``QueryRoute`` skips that:
its handler checks the API key from the headers, parses the query string with
``parse_qsl`` + ``msgspec.convert`` (microseconds) and calls ``fn(deps, query)``, which
returns a ``Response``. The parameters are still documented in OpenAPI: they are generated
from the same Struct (names, types, enums, bounds, defaults, descriptions).

Errors keep FastAPI's shapes: a bad value is a ``RequestValidationError`` (422 naming the
query field through the app's handler), a missing key the same 401 as ``require_key``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

import msgspec
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from b9_gateway.auth import check_scope_key
from b9_gateway.deps import Deps
from b9_gateway.lanes import bulk

Q = TypeVar("Q", bound=msgspec.Struct)
Handler = Callable[[Deps, Any], Awaitable[Response]]
_AT = re.compile(r"at `\$\.([A-Za-z0-9_]+)")
VALIDATION_ERROR = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
}


@cache
def _list_fields(struct: type[msgspec.Struct]) -> frozenset[str]:
    """Fields that take repeated keys (``?tags=a&tags=b``)."""
    out = set()
    for name, hint in get_type_hints(struct, include_extras=True).items():
        for t in (hint, *get_args(hint)):
            while get_origin(t) is not None and get_origin(t) is not list and get_args(t):
                t = get_args(t)[0]  # unwrap Annotated
            if get_origin(t) is list:
                out.add(name)
    return frozenset(out)


_parsed: dict[tuple[type[msgspec.Struct], bytes], msgspec.Struct] = {}
PARSED_MAX = 4096


def parse_query(struct: type[Q], query_string: bytes) -> Q:
    """``query_string`` (raw ASGI bytes) as ``struct``; unknown keys are ignored and a
    repeated scalar key keeps its last value, as in FastAPI. The Structs are frozen, so
    the result for a query string seen before (a dashboard polling, paging) is reused."""
    hit = _parsed.get((struct, query_string))
    if hit is not None:
        return hit  # type: ignore[return-value]
    value = _parse(struct, query_string)
    if len(_parsed) >= PARSED_MAX:
        _parsed.clear()
    _parsed[(struct, query_string)] = value
    return value


def _parse(struct: type[Q], query_string: bytes) -> Q:
    lists = _list_fields(struct)
    raw: dict[str, Any] = {}
    if query_string:
        for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if k in lists:
                raw.setdefault(k, []).append(v)
            else:
                raw[k] = v
    try:
        value = msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        m = _AT.search(msg)
        field = m.group(1) if m else "query"
        text = msg.split(" - at `")[0]
        raise RequestValidationError([{"loc": ("query", field), "msg": text, "type": "value_error"}]) from None
    for name in raw:
        # msgspec reads the text "null" as None for ``X | None``: a query value is never null
        # (the schema says so); leave the parameter out for no filter.
        if getattr(value, name, True) is None:
            msg = "null is not a value of this parameter: leave it out for no filter"
            raise RequestValidationError([{"loc": ("query", name), "msg": msg, "type": "value_error"}])
    return value


def _param_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter cannot be null: keep the non-null branch of ``X | None``."""
    variants = schema.get("anyOf")
    if variants:
        rest = [v for v in variants if v.get("type") != "null"]
        if len(rest) == 1:
            extra = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**rest[0], **extra}
    enum = schema.get("enum")
    if enum and "type" not in schema and all(isinstance(v, str) for v in enum):
        schema["type"] = "string"
    return schema


@cache
def openapi_parameters(struct: type[msgspec.Struct]) -> list[dict[str, Any]]:
    (ref,), components = msgspec.json.schema_components([struct], ref_template="{name}")
    props = components[ref["$ref"]]["properties"]
    defaults = {
        f: d for f, d in zip(struct.__struct_fields__, _defaults(struct), strict=True) if d is not msgspec.NODEFAULT
    }
    params = []
    for name, schema in props.items():
        schema = _param_schema(dict(schema))
        desc = schema.pop("description", None)
        schema.pop("default", None)
        if defaults.get(name) is not None:
            schema["default"] = defaults[name]
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
        if desc:
            param["description"] = desc
        params.append(param)
    return params


def _defaults(struct: type[msgspec.Struct]) -> tuple[Any, ...]:
    n = len(struct.__struct_fields__)
    given = struct.__struct_defaults__
    return (msgspec.NODEFAULT,) * (n - len(given)) + tuple(given)


class QueryRoute(APIRoute):
    """An APIRoute whose handler is ``fn(deps, parse_query(struct, qs))`` behind the API key."""

    query_struct: type[msgspec.Struct]
    query_handler: Handler

    async def respond(self, scope: Scope) -> Response:
        state = scope["app"].state
        check_scope_key(state.settings.gateway_api_key, scope)
        return await self.query_handler(state.deps, parse_query(self.query_struct, scope["query_string"]))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def handler(request: Request) -> Response:
            return await self.respond(request.scope)

        return handler


class FastLane(BaseRoute):
    """The first route of the app's router: a GET on the exact path of a QueryRoute goes
    straight to it (one dict lookup instead of the router's linear matching through every
    included router), in the bulk lane of the pool (``lanes.bulk``: list pages wait behind
    interactive work). A route like any other, so errors take the app's usual handlers
    (401, 422...); anything else does not match and the router goes on as usual."""

    def __init__(self, routes: dict[str, QueryRoute]) -> None:
        self.routes = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "GET":
            path, root = scope["path"], scope.get("root_path")
            route = self.routes.get(path[len(root) :] if root and path.startswith(root) else path)
            if route is not None:
                return Match.FULL, {"fast_route": route, "endpoint": route.endpoint, "path_params": {}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        with bulk():
            response = await scope["fast_route"].respond(scope)
        await response(scope, receive, send)


def install_fast_lane(app: FastAPI, routers: list[tuple[str, APIRouter]]) -> FastLane:
    """Serve GETs of every QueryRoute in ``routers`` (``(prefix, router)``) through a
    ``FastLane`` placed first among the app's routes."""
    lane = FastLane({
        prefix + r.path: r
        for prefix, router in routers
        for r in router.routes
        if isinstance(r, QueryRoute) and "{" not in r.path
    })
    app.router.routes.insert(0, lane)
    return lane


def query_get(
    router: APIRouter, path: str, struct: type[Q], **kwargs: Any
) -> Callable[[Callable[[Deps, Q], Awaitable[Response]]], Callable[[Deps, Q], Awaitable[Response]]]:
    """Register ``fn(deps, query) -> Response`` as ``GET path`` with ``struct`` as its query."""

    def register(fn: Callable[[Deps, Q], Awaitable[Response]]) -> Callable[[Deps, Q], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:  # documents the route; never called
            raise NotImplementedError

        endpoint.__name__ = fn.__name__
        endpoint.__doc__ = fn.__doc__
        responses = {422: VALIDATION_ERROR, **kwargs.pop("responses", {})}
        extra = {"parameters": openapi_parameters(struct)}
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            responses=responses,
            openapi_extra=extra,
            route_class_override=_route_class(struct, fn),
            **kwargs,
        )
        return fn

    return register


def _route_class(struct: type[msgspec.Struct], fn: Handler) -> type[QueryRoute]:
    return type(f"QueryRoute_{fn.__name__}", (QueryRoute,), {"query_struct": struct, "query_handler": staticmethod(fn)})
