"""Helpers to run the instagram-scraper in-process and read what it published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from b9_common.events import Envelope, decoder_for
from b9_common.service import Runtime, ServiceDef, serve
from b9_common.settings import CommonSettings
from b9_instagram_scraper.directory import CreatorDirectory
from b9_instagram_scraper.main import NAME, bootstrap
from b9_instagram_scraper.settings import Settings
from ig_upstream import API_KEY, FAST, FakeProvider


def settings_for(
    common: CommonSettings, upstream: FakeProvider | None, replica: str = "r1", key: str = API_KEY
) -> Settings:
    return Settings(
        nats_url=common.nats_url,
        b9_namespace=common.b9_namespace,
        metrics_port=-1,
        replica_id=replica,
        instagram_api_base=upstream.url if upstream else "http://127.0.0.1:9",
        instagram_api_key=key,
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, directory: CreatorDirectory | None = None
) -> AsyncIterator[None]:
    async def boot(s: Any, rt: Runtime) -> Any:
        return await bootstrap(
            s, rt, provider_overrides=FAST, directory=directory, idle_seconds=0.5
        )

    sdef = ServiceDef(name=NAME, version="test", settings_cls=Settings, bootstrap=boot)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(sdef, settings, stop=stop))
    try:
        yield
        assert not task.done(), f"service stopped early: {task.exception() if task.done() else ''}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def events(rt: Runtime, type_: str) -> list[Envelope[Any]]:
    """Every event of ``type_`` in the SCRAPE stream so far."""
    sub = await rt.js.pull_subscribe(
        rt.topology.subject(type_), stream=rt.topology.stream("SCRAPE")
    )
    out: list[Envelope[Any]] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(200, timeout=0.2)
            except TimeoutError:
                break
            out.extend(decoder_for(type_).decode(m.data) for m in msgs)
            for m in msgs:
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out


async def wait_events(
    rt: Runtime,
    type_: str,
    n: int,
    limit_s: float = 15.0,
    where: Callable[[Envelope[Any]], bool] = lambda e: True,
) -> list[Envelope[Any]]:
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        got = [e for e in await events(rt, type_) if where(e)]
        if len(got) >= n:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {n} {type_} events, got {len(got)}")
        await asyncio.sleep(0.1)


async def heartbeat(rt: Runtime, replica: str, limit_s: float = 10.0) -> dict[str, Any]:
    kv = await rt.topology.heartbeat_kv(rt.js)
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        try:
            entry = await kv.get(f"{NAME}.{replica}")
            beat: dict[str, Any] = msgspec.json.decode(entry.value or b"{}")
            return beat
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
