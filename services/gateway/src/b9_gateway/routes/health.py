"""Open endpoints: liveness, readiness per dependency, Prometheus metrics, AsyncAPI."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from b9_common.jetstream.asyncapi import generate as asyncapi_doc
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from b9_gateway import __version__
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON
from b9_gateway.openapi import doc

router = APIRouter(tags=["health"])
CHECK_TIMEOUT = 2.0


class Health(msgspec.Struct):
    status: str
    version: str


class Check(msgspec.Struct):
    ok: bool
    ms: float
    detail: str


class Ready(msgspec.Struct):
    status: str
    checks: dict[str, Check]


@router.get("/health", responses=doc(Health), summary="The process is alive")
async def health() -> JSON:
    return JSON({"status": "ok", "version": __version__})


async def _check(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    t0 = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        ok = True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return name, {
        "ok": ok,
        "ms": round((time.perf_counter() - t0) * 1000, 2),
        "detail": str(detail or ""),
    }


@router.get(
    "/ready",
    summary="NATS, PostgreSQL and the object store answer",
    responses={**doc(Ready), **doc(Ready, status=503, description="Not ready")},
)
async def ready(deps: Deps = Depends(get_deps)) -> JSON:
    async def nats() -> str:
        if not deps.nc.is_connected:
            raise ConnectionError("not connected")
        info = await deps.js.account_info()
        return f"{deps.nc.connected_url.netloc if deps.nc.connected_url else ''} streams={info.streams}"

    async def postgres() -> str:
        async with deps.pool.acquire() as conn:
            return str(await conn.fetchval("SELECT current_setting('server_version')"))

    async def media() -> str:
        await deps.media.ping()
        return deps.media.kind

    results = await asyncio.gather(_check("nats", nats), _check("postgres", postgres), _check("media", media))
    checks = dict(results)
    good = all(c["ok"] for c in checks.values())
    return JSON(
        {"status": "ready" if good else "not_ready", "checks": checks},
        status_code=200 if good else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/asyncapi.json",
    summary="AsyncAPI 3.0 document of the event catalogue",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def asyncapi(deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(asyncapi_doc(deps.topology, version=__version__))
