"""Helpers for the persistence tests: run the service, wait for it to drain, hash tables."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from b9_common.service import Runtime, serve
from b9_persistence.main import SERVICE, STREAMS
from b9_persistence.settings import Settings

TABLES = {
    "subreddits": "name",
    "subreddit_snapshots": "subreddit, fact_at",
    "reddit_users": "username",
    "reddit_posts": "reddit_id",
    "instagram_creators": "ig_user_id",
    "instagram_discoveries": "username_key",
    "creator_follower_history": "ig_user_id, fact_at",
    "instagram_media": "media_pk",
    "media_assets": "source_id, kind, url_md5",
    "categorizations": "fact_id",
    "scrape_attempts": "fact_id",
    "scraper_daily": "scraper, day, outcome",
    "decision_log": "id",
    "models": "id",
    "model_tombstones": "model_id",
}


def make_settings(nats_url: str, namespace: str, database_url: str, **kw: object) -> Settings:
    return Settings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1,
                    database_url=database_url, **kw)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop, grace=5))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def wait_consumers(rt: Runtime, name: str = "persistence", within: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for stream in STREAMS:
        while True:
            try:
                await rt.js.consumer_info(rt.topology.stream(stream), name)
                break
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)


async def drained(rt: Runtime, name: str = "persistence", within: float = 20) -> None:
    """Wait until the consumer has settled every message in every stream persistence reads."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        done = True
        for stream in STREAMS:
            s = rt.topology.stream(stream)
            info = await rt.js.consumer_info(s, name)
            last = (await rt.js.stream_info(s)).state.last_seq
            if info.num_pending or info.num_ack_pending or info.delivered.stream_seq < last:
                done = False
        if done:
            return
        if loop.time() > deadline:
            raise AssertionError(f"consumer {name} not drained: {info}")
        await asyncio.sleep(0.05)


async def table_hashes(conn: asyncpg.Connection) -> dict[str, str]:
    out = {}
    for table, key in TABLES.items():
        cols = ", ".join(
            r["attname"] for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", table)
        )
        out[table] = await conn.fetchval(
            f"SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY {key}), '')) "
            f"FROM (SELECT {cols} FROM {table}) r"
        )
    return out
