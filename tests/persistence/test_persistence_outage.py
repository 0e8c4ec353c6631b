"""PostgreSQL refusing connections mid-stream: the consumer naks with backoff, nothing is lost."""

from __future__ import annotations

import asyncio

import asyncpg
import pfactories as f
from b9_common.service import Runtime
from phelpers import drained


async def _count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM reddit_posts"))
    finally:
        await conn.close()


async def test_database_outage_loses_nothing(rt: Runtime, service: object, database_url: str,
                                             pg_admin_url: str) -> None:
    db = database_url.rsplit("/", 1)[1].split("?")[0]
    p = rt.publisher
    first = [p.envelope(f.posts([f"a{i}_{j}" for j in range(100)], sub=f"s{i}"))
             for i in range(20)]
    await p.publish_many(first)
    await drained(rt)
    assert await _count(database_url) == 2000

    admin = await asyncpg.connect(pg_admin_url)
    try:
        # A real outage for this database: no new connections, existing ones killed.
        await admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid()", db)
        second = [p.envelope(f.posts([f"b{i}_{j}" for j in range(100)], sub=f"s{i}"))
                  for i in range(20)]
        second += [p.envelope(f.subreddit(f"s{i}")) for i in range(20)]
        await p.publish_many(second)
        await asyncio.sleep(20)  # the outage: 20 s
        info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "persistence")
        assert info.num_ack_pending + info.num_pending > 0  # held back, not acked
        assert info.num_redelivered > 0  # naked and redelivered while the database was down
    finally:
        await admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        await admin.close()
    await drained(rt, within=30)
    assert await _count(database_url) == 4000
    conn = await asyncpg.connect(database_url)
    try:
        scraped = "SELECT count(*) FROM subreddits WHERE fact_at IS NOT NULL"
        assert await conn.fetchval(scraped) == 20
    finally:
        await conn.close()
    dlq = await rt.js.stream_info(rt.topology.stream("DLQ"))
    assert dlq.state.messages == 0
