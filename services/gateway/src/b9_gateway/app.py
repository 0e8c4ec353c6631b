"""The FastAPI application: middleware, error shapes, routers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send

from b9_gateway import __version__, answers, dashboard, docs, openapi
from b9_gateway.auth import Authenticator, require_key
from b9_gateway.deps import Deps, build_deps
from b9_gateway.gate import AuthGate
from b9_gateway.http import JSON
from b9_gateway.observe import Observe
from b9_gateway.ratelimit import RateLimit
from b9_gateway.readlane import ReadLane, lane_routes
from b9_gateway.routes import MEDIA_ROUTER, ROUTERS, accounts, health, session
from b9_gateway.settings import Settings

log = logging.getLogger(__name__)


def _field(loc: list[object] | tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, rest = parts[0], parts[1:]
        return f"{where} field '{'.'.join(rest) or where}'"
    return ".".join(parts)


async def validation_error(request: Request, exc: RequestValidationError) -> JSON:
    errors = jsonable_encoder(exc.errors(), custom_encoder={bytes: lambda b: b.decode(errors="replace")})
    summary = "; ".join(f"{_field(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:10])
    return JSON({"detail": errors, "error": f"invalid request: {summary}"}, status_code=422)


async def data_error(request: Request, exc: Exception) -> JSON:
    """Values PostgreSQL cannot take (NUL bytes in text, out-of-range numbers) are the client's."""
    err = RequestValidationError([{"loc": ("request",), "msg": f"invalid value: {exc}", "type": "value_error"}])
    return await validation_error(request, err)


class Compress(GZipMiddleware):
    """GZip (level 5: a 30 KB page in well under a millisecond, level 9 takes several times
    longer for ~3 % less) for clients that accept it; others skip the wrapper entirely."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"accept-encoding" and b"gzip" in value:
                    await super().__call__(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(settings: Settings, deps: Deps | None = None) -> FastAPI:
    """Build the app. Without ``deps`` its lifespan connects NATS and PostgreSQL itself
    (one set per worker process: ``uvicorn --factory b9_gateway.asgi:create``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if app.state.deps is None:
            from b9_common.service import connect

            owned = await connect(settings, "gateway", __version__)
            app.state.deps = await build_deps(settings, owned)
        # Everything built so far lives as long as the process: move it out of the cyclic
        # GC's sight, so collections triggered by request garbage stay short (p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.auth.close()
            await app.state.deps.aclose()
            if owned is not None:
                await app.state.deps.pool.close()
                await owned.close()

    app = FastAPI(
        title="b9 gateway",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's /docs and /redoc load a CDN: /docs is docs.py (pinned, local)
        redoc_url=None,
        default_response_class=JSON,
        # No OpenTelemetry here (metrics are b9's Prometheus); off, FastAPI skips its per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        description="Queries over the b9 read model, commands to the pipeline, scraper control "
        "and a live event feed. Every /api route needs a person's API key or session "
        "(roles viewer < reviewer < admin; GATEWAY_API_KEY is an admin key for scripts).",
    )
    app.state.settings = settings
    app.state.deps = deps
    app.state.auth = Authenticator(settings)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(asyncpg.DataError, data_error)
    app.add_middleware(ReadLane, routes=lane_routes("/api/v1", ROUTERS))  # innermost: inside the gate
    answers.install(app)  # 503 when PostgreSQL is down, 405 with every allowed method
    app.include_router(health.router)
    app.include_router(session.router, prefix="/api/v1")
    app.include_router(accounts.router, prefix="/api/v1", dependencies=[Depends(require_key)])
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1", dependencies=[Depends(require_key)])
    app.include_router(MEDIA_ROUTER, dependencies=[Depends(require_key)])
    app.include_router(dashboard.router)
    openapi.install(app)
    app.add_middleware(AuthGate, auth=app.state.auth)  # innermost: CORS preflights pass, 401s get CORS headers
    app.add_middleware(Compress, minimum_size=1024, compresslevel=5)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(RateLimit, rate=settings.gateway_rate_limit, burst=settings.gateway_rate_burst,
                       trusted=settings.trusted_proxies)
    app.add_middleware(Observe)  # latency histogram, and the request span when tracing
    docs.install(app)  # /docs from the pinned wheel; CSP on every response (outermost: 401/429 too)
    return app
