"""Helpers for the replay-tool tests: facts, the CLI in a thread, waiting, table hashes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from b9_common.cli import commands  # noqa: F401 - registers replay, dlq, users
from b9_common.cli.main import app, load_plugins
from b9_common.events import PostsFetched, RedditPost, SubredditFetched, UserFetched
from b9_common.service import Runtime, serve
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from typer.testing import CliRunner, Result

load_plugins()  # as `b9` does: the installed packages' commands (seed, rebuild: persistence)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TABLES = {"subreddits": "name", "subreddit_snapshots": "subreddit, fact_at", "reddit_users": "username",
          "reddit_posts": "reddit_id", "categorizations": "fact_id", "scrape_attempts": "fact_id"}


def sub(name: str, subscribers: int = 1000, **kw: Any) -> SubredditFetched:
    return SubredditFetched(name=name, title=f"title {name}", subscribers=subscribers, active_users=subscribers // 10,
                            over18=True, public_description=f"{name} pics", **kw)


def user(name: str, karma: int = 100) -> UserFetched:
    return UserFetched(username=name, link_karma=karma, comment_karma=karma // 2, total_karma=karma + karma // 2)


def posts(sub_name: str, ids: list[str], score: int = 10) -> PostsFetched:
    return PostsFetched(listing="subreddit_top_week", subreddit=sub_name,
                        posts=[RedditPost(reddit_id=i, subreddit=sub_name, author="alice", title=f"post {i}",
                                          score=score, created_utc=T0) for i in ids])


async def publish(rt: Runtime, items: list[tuple[str, Any, float]]) -> None:
    """Publish (id, payload, minutes after T0) with deterministic ids and occurred_at."""
    envs = [rt.publisher.envelope(p, id_=i, occurred_at=T0 + timedelta(minutes=m)) for i, p, m in items]
    await rt.publisher.publish_many(envs)


def facts(prefix: str, n: int) -> list[tuple[str, Any, float]]:
    """n subreddits (each fetched twice, the newer fact published FIRST), users and posts."""
    out: list[tuple[str, Any, float]] = []
    for i in range(n):
        name = f"{prefix}{i}"
        out.append((f"{prefix}-s-new-{i}", sub(name, 2000 + i), 10 + i))
        out.append((f"{prefix}-s-old-{i}", sub(name, 1000 + i), i))  # older, arrives later: must not win
        out.append((f"{prefix}-u-{i}", user(f"{prefix}user{i}", 50 + i), i))
        out.append((f"{prefix}-p-{i}", posts(name, [f"{prefix}p{i}a", f"{prefix}p{i}b"], i), i))
    return out


def psettings(nats_url: str, namespace: str, database_url: str) -> PSettings:
    return PSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, database_url=database_url)


@contextlib.asynccontextmanager
async def live_persistence(settings: PSettings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(PERSISTENCE, settings, stop=stop, grace=5))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def drained(rt: Runtime, stream: str = "SCRAPE", name: str = "persistence", within: float = 30) -> None:
    s = rt.topology.stream(stream)

    async def check() -> bool:
        try:
            info = await rt.js.consumer_info(s, name)
        except Exception:
            return False
        last = (await rt.js.stream_info(s)).state.last_seq
        return not info.num_pending and not info.num_ack_pending and info.delivered.stream_seq >= last

    await until(check, within, f"{name} to drain {stream}")


async def table_hashes(url: str) -> dict[str, tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        out = {}
        for table, key in TABLES.items():
            n = await conn.fetchval(f"SELECT count(*) FROM {table}")
            h = await conn.fetchval(f"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), '')) "
                                    f"FROM {table} t")
            out[table] = (n, h)
        return out
    finally:
        await conn.close()


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def cli(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    """Run `b9 <args>` through typer's CliRunner in a thread (it runs its own event loop)."""
    runner = CliRunner()

    def invoke() -> Result:
        return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    return await asyncio.to_thread(invoke)
