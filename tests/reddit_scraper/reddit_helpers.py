"""Helpers for the reddit-scraper tests (run the service in-process, read its events)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import nats
from b9_common.events import decoder_for
from b9_common.jetstream.topology import Topology
from b9_common.service import Runtime, ServiceDef, serve
from b9_reddit_scraper import main as svc
from b9_reddit_scraper.settings import Settings
from b9_reddit_scraper.tracked import TrackedSource
from nats.js.errors import KeyNotFoundError

UA = "linux:b9-tests:0.1 (by u/b9_team)"


@contextlib.asynccontextmanager
async def running(settings: Settings, tracked: TrackedSource | None = None, *,
                  rt: Runtime | None = None, **control: Any) -> AsyncIterator[None]:
    """Run the service in this event loop until the block ends (then drain like SIGTERM).

    With ``rt``, the control KV value is written first (tests default to a budget of
    60,000 requests/min so the shared bucket does not slow them down)."""
    if rt is not None:
        await put_control(rt, **{"requests_per_minute": 60_000, **control})
    async def boot(s: Settings, rt: Runtime) -> Any:
        return await svc.bootstrap(s, rt, tracked=tracked)

    sdef = ServiceDef(name=svc.NAME, version="test", settings_cls=Settings, bootstrap=boot)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(sdef, settings, stop=stop, grace=2.0))
    try:
        await _started(settings, task)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def _started(settings: Settings, task: asyncio.Task[None], within: float = 15.0) -> None:
    """Until the service is bootstrapped: its heartbeat (written right after bootstrap) is there."""
    replica = settings.replica_id or f"{socket.gethostname()}-{os.getpid()}"
    nc = await nats.connect(settings.nats_url)
    try:
        kv = await Topology(namespace=settings.b9_namespace).heartbeat_kv(nc.jetstream())
        deadline = asyncio.get_running_loop().time() + within
        while True:
            if task.done():
                task.result()  # a start-up error surfaces here
                raise AssertionError("the service stopped during start-up")
            try:
                await kv.get(f"{svc.NAME}.{replica}")
                return
            except KeyNotFoundError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "service did not start"
            await asyncio.sleep(0.02)
    finally:
        await nc.close()


async def events(rt: Runtime, type_: str) -> list[Any]:
    """Every payload of ``type_`` in its stream so far, in order."""
    stream = rt.topology.stream("COMMANDS" if type_.startswith("scrape.requested") else "SCRAPE")
    info = await rt.js.stream_info(stream)
    out = []
    subject = rt.topology.subject(type_)
    dec = decoder_for(type_)
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await rt.js.get_msg(stream, seq)
        except Exception:
            continue
        if msg.subject == subject:
            out.append(dec.decode(msg.data).data)
    return out


async def wait_for(cond: Callable[[], Any], within: float = 20.0, step: float = 0.1) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        res = cond()
        if asyncio.iscoroutine(res):
            res = await res
        if res:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def put_control(rt: Runtime, **values: Any) -> None:
    kv = await rt.topology.control_kv(rt.js)
    await kv.put("scraper.reddit", msgspec.json.encode(values))
