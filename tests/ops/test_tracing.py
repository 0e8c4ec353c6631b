"""One subreddit's path is one trace: gateway request -> reddit scrape -> subreddit.fetched ->
persistence + categorizer -> subreddit.categorized -> persisted tags.

The real services run in-process (``serve``) on real NATS and PostgreSQL; Reddit is the local
fake upstream serving the recorded fixtures; the gateway is its real app over ASGI. Spans go
to OpenTelemetry's in-memory exporter.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.ops import tracing
from b9_common.service import ServiceDef, connect, serve
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps, build_pool
from b9_gateway.settings import Settings as GSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from b9_reddit_scraper.main import SERVICE as REDDIT
from b9_reddit_scraper.settings import Settings as RSettings
from metric_catalogue import referenced_metrics
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

REDDIT_TESTS = str(Path(__file__).resolve().parent.parent / "reddit_scraper")
if REDDIT_TESTS not in sys.path:
    sys.path.append(REDDIT_TESTS)

from reddit_fake_upstream import FakeReddit, built_about, fixture  # noqa: E402

API_KEY = "ops-tracing-key-0123456789abcdef"
SUB = "tracedsub"


@pytest.fixture
def exporter() -> Any:
    exp = InMemorySpanExporter()
    assert tracing.init("tests", "0", "", exporter=exp)
    yield exp
    tracing.shutdown()


def _label(span: Any) -> str:
    group = span.attributes.get("messaging.consumer.group.name")
    return f"{span.name} @{group}" if group else span.name


async def _until(cond: Callable[[], Any], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def services(*runs: tuple[ServiceDef, Any]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(sdef, s, stop=stop, grace=3)) for sdef, s in runs]
    try:
        await asyncio.sleep(0.5)
        for t in tasks:
            if t.done():
                t.result()
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


async def test_one_trace_from_gateway_request_to_persisted_tags(
    exporter: InMemorySpanExporter, nats_url: str, namespace: str, database_url: str, tmp_path: Path,
) -> None:
    upstream = FakeReddit()
    await upstream.start()
    upstream.add_subreddit(SUB, about=built_about(SUB), built_about_=True,
                           top=fixture("subreddit_listing/askreddit_top.json"))
    common = {"nats_url": nats_url, "b9_namespace": namespace, "metrics_port": -1}
    gsettings = GSettings(**common, database_url=database_url, gateway_api_key=API_KEY,
                          media_store_url=f"file://{tmp_path}")  # type: ignore[arg-type]
    rsettings = RSettings(**common, database_url=database_url, reddit_api_base=upstream.url,
                          reddit_user_agent="linux:b9-tests:0.1 (by u/b9_team)",
                          reddit_timeout_seconds=2.0)  # type: ignore[arg-type]
    runs = [(PERSISTENCE, PSettings(**common, database_url=database_url)),  # type: ignore[arg-type]
            (CATEGORIZER, CSettings(**common)), (REDDIT, rsettings)]  # type: ignore[arg-type]
    rt = await connect(gsettings, "gateway", "test")
    pool = await build_pool(gsettings)
    try:
        async with services(*runs):
            deps = await build_deps(gsettings, rt, pool)
            app = create_app(gsettings, deps)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw",
                                         headers={"Authorization": f"Bearer {API_KEY}"}) as client:
                r = await client.post("/api/v1/subreddits", json={"name": SUB})
                assert r.status_code == 202, r.text

                def tags_written() -> bool:
                    return any(s.name == "db write subreddit.categorized" for s in exporter.get_finished_spans())

                await _until(tags_written, 30, "subreddit.categorized written by persistence")
            await deps.aclose()
        assert await pool.fetchval("SELECT count(*) FROM subreddits WHERE name = $1", SUB) == 1
    finally:
        await pool.close()
        await rt.close()
        await upstream.stop()

    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    request = [s for s in spans if s.name == "POST /api/v1/subreddits"]
    assert len(request) == 1, sorted({s.name for s in spans})
    trace_id = request[0].context.trace_id

    def in_trace(name: str, consumer: str | None = None) -> list[Any]:
        found = [s for s in spans if s.name == name and s.context.trace_id == trace_id
                 and (consumer is None or s.attributes.get("messaging.consumer.group.name") == consumer)]
        assert found, f"no span {name!r} ({consumer}) in the request's trace; names there: " + ", ".join(
            sorted({s.name for s in spans if s.context.trace_id == trace_id}))
        return found

    in_trace("publish scrape.requested.reddit")
    in_trace("process scrape.requested.reddit", "reddit-scraper-commands")
    in_trace("GET reddit")  # the upstream calls
    in_trace("publish subreddit.fetched")
    in_trace("process subreddit.fetched", "persistence")
    in_trace("db write subreddit.fetched")
    in_trace("process subreddit.fetched", "categorizer")
    in_trace("publish subreddit.categorized")
    in_trace("process subreddit.categorized", "persistence")
    [write] = in_trace("db write subreddit.categorized")

    # The persisted tags' write leads back, parent by parent, to the gateway request.
    chain = []
    span = write
    while span.parent is not None:
        assert span.context.trace_id == trace_id
        chain.append(_label(span))
        span = by_id[span.parent.span_id]
    chain.append(_label(span))
    assert span is request[0], chain
    expected = ["db write subreddit.categorized", "handle batch persistence",
                "process subreddit.categorized @persistence",
                # a result carries the trace of the message it was made from (not the batch's)
                "publish subreddit.categorized", "process subreddit.fetched @categorizer",
                "publish subreddit.fetched", "handle scrape.requested.reddit",
                "process scrape.requested.reddit @reddit-scraper-commands", "publish scrape.requested.reddit",
                "POST /api/v1/subreddits"]
    assert chain == expected, chain
    assert by_id[write.parent.span_id].attributes["b9.consumer"] == "persistence"
    services_seen = {s.attributes.get("messaging.consumer.group.name") for s in spans
                     if s.context.trace_id == trace_id} - {None}
    assert {"reddit-scraper-commands", "persistence", "categorizer"} <= services_seen

    # What the operators' dashboards and alerts read is really exported: after this run, the
    # services' /metrics (the process registry they serve) has samples of every b9_* metric.
    exported = {line.split("{")[0].split(" ")[0] for line in generate_latest().decode().splitlines()
                if line and not line.startswith("#")}
    missing = sorted(m for m in referenced_metrics() if m.startswith("b9_") and m not in exported)
    assert not missing, missing
