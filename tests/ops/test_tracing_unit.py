"""Tracing off costs nothing (no OpenTelemetry import, no span object, no header); on, a
publish and its consumption (per-event and batch, single and bulk publish) are linked by
``traceparent``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from b9_common.events import Envelope, ScrapeAttempted
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops import tracing
from b9_common.service import Runtime
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _attempt(target: str) -> ScrapeAttempted:
    return ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=target, outcome="success")


async def _until(cond: Callable[[], Any], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class _Tripwire:
    """Stands in for the tracer while tracing is off: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"tracer used while tracing is off ({name})")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    assert tracing.init("tests", "0", "", exporter=exp)
    yield exp
    tracing.shutdown()


def test_off_the_runtime_does_not_import_opentelemetry() -> None:
    code = ("import sys, b9_common.service, b9_common.jetstream.consumer, b9_common.jetstream.publisher;"
            "import b9_common.ops.tracing as t;"
            "assert t.init('x', '0', '') is False and not t.ENABLED;"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_off_no_span_no_header_and_the_trace_field_is_the_event_id(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not tracing.ENABLED
    monkeypatch.setattr(tracing, "_tracer", _Tripwire())
    monkeypatch.setattr(tracing, "_otel", _Tripwire())
    assert tracing.span("anything") is tracing.span("else")  # one shared no-op
    got: list[tuple[Envelope[Any], dict[str, str] | None]] = []

    async def handler(env: Envelope[Any]) -> None:
        got.append((env, None))

    async def batch(ds: list[Delivery]) -> None:
        got.extend((d.envelope, d.msg.headers) for d in ds if d.envelope is not None)

    one = Consumer(rt.nc, rt.js, rt.topology, ConsumerSpec(name="off1", stream="SCRAPE",
                   subjects=("scrape.attempted",)), publisher=rt.publisher, handler=handler)
    many = Consumer(rt.nc, rt.js, rt.topology, ConsumerSpec(name="off2", stream="SCRAPE",
                    subjects=("scrape.attempted",)), publisher=rt.publisher, batch_handler=batch)
    await one.start()
    await many.start()
    try:
        await rt.publisher.publish(_attempt("single"))
        await rt.publisher.publish_many([_attempt(f"bulk{i}") for i in range(5)])
        await _until(lambda: len(got) == 12)
    finally:
        await one.stop(1)
        await many.stop(1)
    for env, headers in got:
        assert env.trace == env.id
        assert headers is None or "traceparent" not in headers


async def test_on_each_consumption_is_a_child_of_its_publish(rt: Runtime, exporter: InMemorySpanExporter) -> None:
    seen: list[str] = []

    async def handler(env: Envelope[Any]) -> None:
        seen.append(env.data.target)

    async def batch(ds: list[Delivery]) -> None:
        seen.extend(d.data.target for d in ds)

    one = Consumer(rt.nc, rt.js, rt.topology, ConsumerSpec(name="on1", stream="SCRAPE",
                   subjects=("scrape.attempted",)), publisher=rt.publisher, handler=handler)
    many = Consumer(rt.nc, rt.js, rt.topology, ConsumerSpec(name="on2", stream="SCRAPE",
                    subjects=("scrape.attempted",)), publisher=rt.publisher, batch_handler=batch)
    await one.start()
    await many.start()
    try:
        with tracing.span("root"):
            await rt.publisher.publish(_attempt("single"))
        await rt.publisher.publish_many([_attempt(f"bulk{i}") for i in range(5)])
        await _until(lambda: len(seen) == 12 and len(
            [s for s in exporter.get_finished_spans() if s.name == "process scrape.attempted"]) == 12)
    finally:
        await one.stop(1)
        await many.stop(1)
    spans = exporter.get_finished_spans()
    publishes = {s.context.span_id: s for s in spans if s.name == "publish scrape.attempted"}
    assert len(publishes) == 6
    [root] = [s for s in spans if s.name == "root"]
    single = [p for p in publishes.values() if p.parent is not None]
    assert [p.parent.span_id for p in single] == [root.context.span_id]
    for s in (s for s in spans if s.name == "process scrape.attempted"):
        assert s.parent is not None and s.parent.span_id in publishes  # per-event and batch alike
        assert s.context.trace_id == publishes[s.parent.span_id].context.trace_id
        assert s.attributes["b9.outcome"] == "ack"
    handles = [s for s in spans if s.name == "handle scrape.attempted"]
    assert len(handles) == 6 and all(h.parent is not None for h in handles)


async def test_spans_are_exported_over_otlp_http_to_the_configured_endpoint(rt: Runtime) -> None:
    """A real OTLP/HTTP receiver on loopback (what Jaeger listens with on :4318)."""
    from aiohttp import web
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, str, bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append((request.path, request.content_type, await request.read()))
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        assert tracing.init("otlp-test", "1.2", f"http://127.0.0.1:{port}")
        with tracing.span("root"):
            await rt.publisher.publish(_attempt("exported"))
        await asyncio.to_thread(tracing.shutdown)  # flushes the batch processor (a thread)
    finally:
        if tracing.ENABLED:
            await asyncio.to_thread(tracing.shutdown)
        await runner.cleanup()
    assert [(p, t) for p, t, _ in received] == [("/v1/traces", "application/x-protobuf")]
    req = ExportTraceServiceRequest.FromString(received[0][2])
    [resource_spans] = req.resource_spans
    attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attrs["service.name"] == "b9-otlp-test" and attrs["service.version"] == "1.2"
    names = sorted(s.name for ss in resource_spans.scope_spans for s in ss.spans)
    assert names == ["publish scrape.attempted", "root"]
