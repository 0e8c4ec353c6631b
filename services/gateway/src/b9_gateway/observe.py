"""The outermost ASGI middleware: request latency for Prometheus, and a SERVER span per
request when tracing is on (``b9_common.ops.tracing``; a ``traceparent`` from the client is
honoured). Commands published while a request is handled continue its trace.

``b9_http_request_seconds{method,route,status}``: ``route`` is the route's path template
(``/api/v1/subreddits/{name}``; the read lane's, ``readlane``, in ``scope["b9_route"]``), and
``other`` for anything unrouted (so unknown URLs cannot grow the label set).
"""

from __future__ import annotations

import time
from typing import Any

from b9_common.ops import tracing
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_SECONDS = Histogram(
    "b9_http_request_seconds", "Gateway request latency (to the end of the response)",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def route_of(scope: Scope, status: int) -> str:
    # FastAPI keeps the full template of an included router's route in its effective context
    # (``scope["route"].path`` lacks the include prefix).
    laned = scope.get("b9_route")
    if laned:
        return str(laned)
    fastapi_scope = scope.get("fastapi")
    ctx = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    path = getattr(ctx, "path_format", None) or getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return "other"


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        state = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                state[0] = message["status"]
            await send(message)

        try:
            if tracing.ENABLED:
                await self._traced(scope, receive, send_status, state)
            else:
                await self.app(scope, receive, send_status)
        finally:
            HTTP_SECONDS.labels(scope["method"], route_of(scope, state[0]), str(state[0])).observe(
                time.perf_counter() - t0)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, state: list[int]) -> None:
        parent: Any = None
        for name, value in scope.get("headers", ()):
            if name == b"traceparent":
                parent = tracing.parse_traceparent(value.decode("latin-1"))
        with tracing.server_span(f"{scope['method']} {scope.get('path', '')}", parent, {
            "http.request.method": scope["method"], "url.path": scope.get("path", ""),
        }) as span:
            try:
                await self.app(scope, receive, send)
            finally:
                route = route_of(scope, state[0])
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", state[0])
