"""The gateway's Observe middleware: latency per route template (never per raw URL), and a
SERVER span continuing the client's ``traceparent`` when tracing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from b9_common.ops import tracing
from b9_gateway.observe import HTTP_SECONDS, Observe
from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _app() -> Observe:
    router = APIRouter(prefix="/things")

    @router.get("/{name}")
    async def one(name: str) -> dict[str, str]:
        return {"name": name}

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    return Observe(app)


def _count(route: str, status: str) -> float:
    for metric in HTTP_SECONDS.collect():
        for s in metric.samples:
            if s.name.endswith("_count") and s.labels == {"method": "GET", "route": route, "status": status}:
                return s.value
    return 0.0


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    assert tracing.init("tests", "0", "", exporter=exp)
    yield exp
    tracing.shutdown()


async def test_latency_is_labelled_by_route_template_and_unknown_urls_share_one_label() -> None:
    before = (_count("/api/v1/things/{name}", "200"), _count("other", "404"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        for name in ("a", "b", "c"):
            assert (await c.get(f"/api/v1/things/{name}")).status_code == 200
        for path in ("/nope", "/api/v1/nope/deeper"):
            assert (await c.get(path)).status_code == 404
    assert _count("/api/v1/things/{name}", "200") - before[0] == 3
    assert _count("other", "404") - before[1] == 2
    assert _count("/api/v1/things/a", "200") == 0


async def test_a_request_is_a_server_span_continuing_the_callers_trace(exporter: InMemorySpanExporter) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        assert (await c.get("/api/v1/things/x", headers={"traceparent": parent})).status_code == 200
        assert (await c.get("/api/v1/things/y")).status_code == 200
    continued, fresh = sorted(exporter.get_finished_spans(), key=lambda s: s.parent is None)
    assert continued.name == fresh.name == "GET /api/v1/things/{name}"
    assert f"{continued.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert continued.parent is not None and f"{continued.parent.span_id:016x}" == "b7ad6b7169203331"
    assert continued.attributes["http.response.status_code"] == 200
    assert fresh.parent is None and fresh.context.trace_id != continued.context.trace_id
