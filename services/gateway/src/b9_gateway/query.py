"""Fast GET routes: the query string parsed into one msgspec Struct per route.

FastAPI resolves each declared query parameter on every request (``solve_dependencies``:
~1 ms for a 13-parameter list route, more than the SQL). ``QueryRoute``, the
``route_class`` of the read routers, skips that for an endpoint declared with
``@router.get`` that takes a Struct: its handler checks the caller, parses the query string
with ``parse_qsl`` + ``msgspec.convert`` (microseconds) and calls the endpoint, which
returns a ``Response``. The parameters are still documented in OpenAPI: they are generated
from the same Struct (names, types, enums, bounds, defaults, descriptions).

Errors keep FastAPI's shapes: a bad value is a ``RequestValidationError`` (422 naming the
query field through the app's handler), a missing key the same 401 as ``require_key``.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

import msgspec
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.types import Receive, Scope, Send

from b9_gateway.auth import check_scope_key
from b9_gateway.lanes import bulk

Q = TypeVar("Q", bound=msgspec.Struct)
Handler = Callable[..., Awaitable[Response]]
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
    """The ``route_class`` of the read routers. An endpoint declared with a msgspec Struct
    parameter (``async def f(deps: Deps, name: NamePath, q: SomeQuery) -> JSON``) is served
    without FastAPI's dependency solving: the handler checks that the auth gate resolved a
    caller, validates the path parameters (their FastAPI ``Path`` annotations, through
    pydantic as FastAPI would), parses the query string into the Struct (``parse_query``)
    and calls the endpoint with ``deps``. FastAPI documents a stub of the same name whose
    signature holds only the path parameters; the query parameters come from the Struct.
    A page without path parameters (a list) runs in the bulk lane of the pool
    (``lanes.bulk``), a detail page in the interactive one. Any other endpoint on the
    router is an ordinary ``APIRoute``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        spec = getattr(endpoint, "__b9_query__", None) or _spec(endpoint)
        self.query_spec: _Spec | None = spec
        if spec is not None:
            kwargs["responses"] = {422: VALIDATION_ERROR, **(kwargs.get("responses") or {})}
            kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}),
                                       "parameters": openapi_parameters(spec.struct)}
            endpoint = spec.stub
        super().__init__(path, endpoint, **kwargs)

    async def respond(self, scope: Scope) -> Response:
        """The endpoint's answer for this request (errors raised: the app's handlers shape them)."""
        spec = self.query_spec
        assert spec is not None
        check_scope_key("", scope)
        kwargs = spec.arguments(scope)
        with bulk() if not spec.path else contextlib.nullcontext():
            return await spec.fn(scope["app"].state.deps, **kwargs)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A matched GET goes straight to ``respond``: none of FastAPI's per-request wrapping
        (a ``Request``, an exit stack for dependencies, route-level exception handling) is
        needed, and errors reach the app's exception middleware as from any route."""
        if self.query_spec is None or scope["method"] != "GET":
            await super().handle(scope, receive, send)  # a plain route, or a 405
            return
        response = await self.respond(scope)
        await response(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if self.query_spec is None:
            return super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await self.respond(request.scope)

        return handler


class _Spec:
    """How to call an endpoint declared with a query Struct: its Struct, the name it takes
    the parsed query under, its path parameters (name -> pydantic validator) and the stub
    FastAPI documents (it carries this spec, so a router including the route rebuilds it)."""

    def __init__(self, fn: Handler, query: str, struct: type[msgspec.Struct], path: dict[str, Any]) -> None:
        self.fn, self.query, self.struct = fn, query, struct
        self.path = {name: TypeAdapter(hint) for name, hint in path.items()}

        async def stub(**_: Any) -> Response:  # documents the route; never called
            raise NotImplementedError

        stub.__name__, stub.__doc__, stub.__module__ = fn.__name__, fn.__doc__, fn.__module__
        stub.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=h) for n, h in path.items()])
        stub.__b9_query__ = self  # type: ignore[attr-defined]
        self.stub = stub

    def arguments(self, scope: Scope) -> dict[str, Any]:
        out: dict[str, Any] = {self.query: parse_query(self.struct, scope["query_string"])}
        if self.path:
            raw = scope["path_params"]
            for name, adapter in self.path.items():
                try:
                    out[name] = adapter.validate_python(raw[name])
                except ValidationError as exc:
                    raise RequestValidationError([{**e, "loc": ("path", name)} for e in exc.errors()]) from None
        return out


def _spec(fn: Callable[..., Any]) -> _Spec | None:
    """A spec when ``fn`` takes a msgspec Struct (its query): its first parameter is ``deps``,
    the others are path parameters."""
    hints = get_type_hints(fn, include_extras=True)
    names = list(inspect.signature(fn).parameters)
    structs = [n for n in names if isinstance(hints.get(n), type) and issubclass(hints[n], msgspec.Struct)]
    if len(structs) != 1:
        return None
    return _Spec(fn, structs[0], hints[structs[0]], {n: hints[n] for n in names[1:] if n != structs[0]})
