"""Upstream calls: counted always, spanned (CLIENT, ``traceparent`` sent upstream) when
tracing; a scraper's cycle refresh is one trace from its upstream calls to its facts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from b9_common.ops import tracing
from b9_common.ops.metrics import UPSTREAM_CALLS
from b9_common.service import Runtime, ServiceDef, serve
from b9_reddit_scraper import main as reddit
from b9_reddit_scraper.settings import Settings as RSettings
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

REDDIT_TESTS = str(Path(__file__).resolve().parent.parent / "reddit_scraper")
if REDDIT_TESTS not in sys.path:
    sys.path.append(REDDIT_TESTS)

from reddit_fake_upstream import FakeReddit, built_about, fixture  # noqa: E402


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    assert tracing.init("tests", "0", "", exporter=exp)
    yield exp
    tracing.shutdown()


async def _echo_server() -> tuple[web.AppRunner, str, list[str | None]]:
    seen: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent"))
        return web.Response(status=int(request.query.get("status", "200")), text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", seen


def _count(upstream: str, status: str) -> float:
    return UPSTREAM_CALLS.labels(upstream, status)._value.get()


async def test_upstream_calls_are_counted_without_tracing_and_carry_no_traceparent() -> None:
    assert not tracing.ENABLED
    runner, url, seen = await _echo_server()
    before = (_count("ops-off", "200"), _count("ops-off", "503"))
    try:
        async with aiohttp.ClientSession(trace_configs=tracing.upstream_trace_configs("ops-off")) as http:
            for status in (200, 200, 503):
                async with http.get(f"{url}/x", params={"status": str(status)}) as resp:
                    assert resp.status == status
    finally:
        await runner.cleanup()
    assert (_count("ops-off", "200") - before[0], _count("ops-off", "503") - before[1]) == (2, 1)
    assert seen == [None, None, None]


async def test_upstream_calls_are_client_spans_whose_context_goes_upstream(exporter: InMemorySpanExporter) -> None:
    runner, url, seen = await _echo_server()
    try:
        async with aiohttp.ClientSession(trace_configs=tracing.upstream_trace_configs("ops-on")) as http:
            with tracing.span("caller"):
                async with http.get(f"{url}/a") as resp:
                    await resp.read()
            with pytest.raises(aiohttp.ClientConnectionError):
                async with http.get("http://127.0.0.1:9/refused"):
                    pass
    finally:
        await runner.cleanup()
    spans = exporter.get_finished_spans()
    [caller] = [s for s in spans if s.name == "caller"]
    calls = [s for s in spans if s.name == "GET ops-on"]
    assert len(calls) == 2
    ok, refused = sorted(calls, key=lambda s: s.attributes.get("http.response.status_code", 0), reverse=True)
    assert ok.parent is not None and ok.parent.span_id == caller.context.span_id
    assert ok.attributes["http.response.status_code"] == 200 and ok.attributes["url.path"] == "/a"
    [sent] = seen
    assert sent is not None and sent[:53] == f"00-{ok.context.trace_id:032x}-{ok.context.span_id:016x}-"
    assert int(sent[53:], 16) & 1  # sampled (0x02, "random trace id", is W3C level 2)
    assert not refused.status.is_ok and refused.events[0].name == "exception"


async def test_a_cycle_refresh_is_one_trace_from_upstream_calls_to_facts(
    exporter: InMemorySpanExporter, rt: Runtime, nats_url: str, namespace: str,
) -> None:
    upstream = FakeReddit()
    await upstream.start()
    upstream.add_subreddit("AskReddit", about=built_about("AskReddit"), built_about_=True,
                           top=fixture("subreddit_listing/askreddit_top.json"))
    settings = RSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1,
                         reddit_api_base=upstream.url, reddit_user_agent="linux:b9-tests:0.1 (by u/b9_team)",
                         reddit_timeout_seconds=2.0)  # type: ignore[arg-type]

    async def boot(s: RSettings, rt: Runtime) -> object:
        return await reddit.bootstrap(s, rt, tracked=StaticTracked([Tracked("AskReddit", "metadata")]))

    stop = asyncio.Event()
    task = asyncio.create_task(serve(ServiceDef(name="reddit-scraper", version="test", settings_cls=RSettings,
                                                bootstrap=boot), settings, stop=stop, grace=2))  # type: ignore[arg-type]
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while not any(s.name == "publish scrape.attempted" for s in exporter.get_finished_spans()):
            assert loop.time() < end and not task.done(), "no scrape.attempted published"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await upstream.stop()
    spans = exporter.get_finished_spans()
    [root] = [s for s in spans if s.name == "refresh subreddit"]
    assert root.attributes["b9.subreddit"] == "AskReddit" and root.parent is None
    mine = [s for s in spans if s.context.trace_id == root.context.trace_id]
    names = sorted(s.name for s in mine)
    assert names.count("GET reddit") == 3
    assert {"publish subreddit.fetched", "publish posts.fetched", "publish scrape.attempted"} <= set(names)
    by_id = {s.context.span_id: s for s in spans}
    for s in mine:
        if s is not root:  # every span of the refresh leads back to it
            while s.parent is not None:
                s = by_id[s.parent.span_id]
            assert s is root
