"""Run services in-process for the reasons tests and read what they published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from b9_common.events import decoder_for
from b9_common.service import Runtime, ServiceDef, serve
from b9_common.settings import CommonSettings
from b9_instagram_scraper import main as ig
from b9_instagram_scraper.settings import Settings as IgSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from b9_reddit_scraper import main as reddit
from b9_reddit_scraper.settings import Settings as RedditSettings
from b9_reddit_scraper.tracked import TrackedSource

UA = "linux:b9-tests:0.1 (by u/b9_team)"
FAST_IG = {"wait_initial": 0.01, "wait_max": 0.05, "empty_wait": 0.01}


def base(common: CommonSettings) -> dict[str, Any]:
    return {"nats_url": common.nats_url, "b9_namespace": common.b9_namespace, "metrics_port": -1}


def reddit_settings(common: CommonSettings, api_base: str, **kw: Any) -> RedditSettings:
    s = RedditSettings(**{**base(common), "reddit_api_base": api_base, "reddit_user_agent": UA,
                          "reddit_timeout_seconds": 0.5, "reddit_retry_base_seconds": 0.02,
                          "reddit_max_attempts": 2, **kw})
    s.validate()
    return s


def ig_settings(common: CommonSettings, api_base: str, key: str, **kw: Any) -> IgSettings:
    s = IgSettings(**{**base(common), "instagram_api_base": api_base, "instagram_api_key": key,
                      "instagram_timeout": 0.5, **kw})
    s.validate()
    return s


def reddit_service(tracked: TrackedSource | None = None) -> ServiceDef:
    async def boot(s: Any, rt: Runtime) -> Any:
        return await reddit.bootstrap(s, rt, tracked=tracked)
    return ServiceDef(name=reddit.NAME, version="test", settings_cls=RedditSettings, bootstrap=boot)


def ig_service() -> ServiceDef:
    async def boot(s: Any, rt: Runtime) -> Any:
        return await ig.bootstrap(s, rt, provider_overrides=FAST_IG, idle_seconds=0.5)
    return ServiceDef(name=ig.NAME, version="test", settings_cls=IgSettings, bootstrap=boot)


@contextlib.asynccontextmanager
async def running(*services: tuple[ServiceDef, Any]) -> AsyncIterator[None]:
    """Serve every (definition, settings) in this loop until the block ends."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(d, s, stop=stop, grace=2.0)) for d, s in services]
    try:
        await asyncio.sleep(0.3)
        for t in tasks:
            if t.done():
                t.result()
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=20)


def persistence(common: CommonSettings, database_url: str) -> tuple[ServiceDef, Any]:
    return PERSISTENCE, PSettings(**base(common), database_url=database_url)


async def put_control(rt: Runtime, scraper: str, **values: Any) -> None:
    kv = await rt.topology.control_kv(rt.js)
    await kv.put(f"scraper.{scraper}", msgspec.json.encode(values))


async def events(rt: Runtime, type_: str) -> list[Any]:
    """Every payload of ``type_`` in its stream so far, in order."""
    stream = rt.topology.stream("COMMANDS" if type_.startswith("scrape.requested") else "SCRAPE")
    info = await rt.js.stream_info(stream)
    subject, dec, out = rt.topology.subject(type_), decoder_for(type_), []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await rt.js.get_msg(stream, seq)
        except Exception:
            continue
        if msg.subject == subject:
            out.append(dec.decode(msg.data).data)
    return out


async def wait_for(cond: Callable[[], Awaitable[Any] | Any], within: float = 20.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        res = cond()
        if asyncio.iscoroutine(res):
            res = await res
        if res:
            return res
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)
