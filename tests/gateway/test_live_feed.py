"""The SSE feed's gateway-local events: control KV changes and heartbeats are pushed, whoever
wrote them; the KV watchers run only while someone listens; a client leaving leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from b9_common.ops.heartbeat import Heartbeat
from b9_common.service import connect
from b9_common.settings import CommonSettings
from gwenv import AUTH, Env
from gwlive import served, sse


@pytest.fixture(scope="module")
async def http(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with served(env.settings, env.deps, AUTH) as client:
        yield client


async def test_control_kv_written_directly_is_pushed_as_control_changed(env: Env, http: httpx.AsyncClient) -> None:
    ready = asyncio.Event()
    feed = asyncio.create_task(sse(http, {"subject": "control.changed"}, ready,
                                   lambda e, d: d.get("key") == "scraper.instagram"))
    await asyncio.wait_for(ready.wait(), 10)
    assert env.deps.hub.listeners == 1
    kv = env.deps.control
    # not through the API: straight into the bucket, as another gateway or `nats kv put` would
    await kv.put("scraper.reddit", msgspec.json.encode({"enabled": False, "interval_seconds": 60}))
    await kv.delete("scraper.instagram")
    events = await asyncio.wait_for(feed, 10)
    assert [e for e, _ in events] == ["control.changed", "control.changed"]
    first, second = events[0][1], events[1][1]
    assert first["type"] == "control.changed" and first["scraper"] == "reddit" and first["deleted"] is False
    assert first["value"] == {"enabled": False, "interval_seconds": 60} and first["revision"] > 0
    assert second["scraper"] == "instagram" and second["deleted"] is True and second["value"] is None
    # the last client gone, the watchers are gone too
    for _ in range(50):
        if env.deps.hub.listeners == 0 and not env.deps.hub._tasks:
            break
        await asyncio.sleep(0.05)
    assert env.deps.hub.listeners == 0 and not env.deps.hub._tasks


async def test_heartbeats_are_pushed_and_other_events_filtered_out(env: Env, http: httpx.AsyncClient) -> None:
    ready = asyncio.Event()
    key = "instagram-scraper.ig-7"
    feed = asyncio.create_task(sse(http, {"subject": "heartbeat"}, ready,
                                   lambda e, d: d["key"] == key and bool(d["deleted"])))
    await asyncio.wait_for(ready.wait(), 10)
    rt = await connect(CommonSettings(nats_url=env.settings.nats_url, b9_namespace=env.settings.b9_namespace,
                                      metrics_port=-1, replica_id="ig-7"), "instagram-scraper", "2.0.0")
    beat = Heartbeat(rt, "2.0.0", lambda: {"cycle": 41})
    try:
        await beat.start()
        await env.deps.control.put("scraper.reddit", b'{"enabled": true}')  # not asked for: filtered out
        await asyncio.sleep(0.3)
    finally:
        await beat.stop()  # deletes its key: the last event
        await rt.close()
    events = await asyncio.wait_for(feed, 10)
    assert {e for e, _ in events} == {"heartbeat"}  # the control write was not asked for
    mine = [d for _, d in events if d["key"] == key]  # (persistence beats here too)
    alive, gone = mine[0], mine[-1]
    assert (alive["service"], alive["replica"], alive["version"]) == ("instagram-scraper", "ig-7", "2.0.0")
    assert alive["detail"] == {"cycle": 41} and alive["status"] == "running" and alive["deleted"] is False
    assert gone["deleted"] is True and len(mine) >= 2


async def test_a_client_leaving_mid_stream_leaves_no_task_behind(env: Env, http: httpx.AsyncClient) -> None:
    nc = env.deps.nc
    for _ in range(50):  # the previous test's client may still be cleaning up
        if env.deps.hub.listeners == 0 and not env.deps.hub._tasks:
            break
        await asyncio.sleep(0.05)
    before = set(nc._subs)
    ready = asyncio.Event()
    feed = asyncio.create_task(sse(http, {}, ready, lambda e, d: False))
    await asyncio.wait_for(ready.wait(), 10)
    feed.cancel()  # the browser tab closes while the stream waits for the next event
    await asyncio.gather(feed, return_exceptions=True)

    def leftovers() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if not t.done() and "Queue.get" in repr(t.get_coro())]

    for _ in range(50):
        if not leftovers() and set(nc._subs) <= before and env.deps.hub.listeners == 0:
            break
        await asyncio.sleep(0.05)
    assert not leftovers()
    assert set(nc._subs) <= before, "a NATS subscription of the stream outlived it"
    assert env.deps.hub.listeners == 0 and not env.deps.hub._tasks
