"""The posts and users writers (one statement per batch, rows sent as arrays): a rescrape is one
row version, ``requested`` sticks from any fact, and a value the database refuses sends only
its own fact to DLQ."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
import pfactories as f
from b9_common.events import Envelope, UserFetched
from b9_common.service import Runtime
from b9_persistence.staging import init_connection
from b9_persistence.writers_users import write_posts, write_users
from phelpers import drained


async def _updates(pool: asyncpg.Pool, writer: Any, table: str, *batches: list[Envelope[Any]]) -> list[int]:
    """Rows updated in ``table`` by each batch, each written in a transaction of its own (the
    transaction's own counter: before and after the write, inside it)."""
    sql = "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = $1"
    out = []
    async with pool.acquire() as conn:
        await init_connection(conn)
        for batch in batches:
            async with conn.transaction():
                before = await conn.fetchval(sql, table)
                await writer(conn, batch)
                out.append(await conn.fetchval(sql, table) - before)
    return out


async def test_a_user_rescrape_is_one_row_version(rt: Runtime, pool: asyncpg.Pool) -> None:
    """The newer scrape's profile, availability and requested land in one update of the row:
    one new version, one round of index maintenance (three statements wrote it twice)."""
    p = rt.publisher
    first = p.envelope(msgspec.structs.replace(f.user("rescraped", 100), requested=False), occurred_at=f.at(1))
    again = p.envelope(msgspec.structs.replace(f.user("rescraped", 900), requested=False), occurred_at=f.at(2))
    asked = p.envelope(f.user("rescraped", 50), occurred_at=f.at(0))  # older, but a person asked
    assert await _updates(pool, write_users, "reddit_users", [first], [again, asked], [again]) == [0, 1, 0]
    row = await pool.fetchrow(
        "SELECT total_karma, requested, fact_id, profile_fact_id FROM reddit_users WHERE username = 'rescraped'"
    )
    assert dict(row) == {"total_karma": 900, "requested": True, "fact_id": again.id, "profile_fact_id": again.id}


async def test_requested_sticks_from_an_older_fact_written_alone(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    new = p.envelope(msgspec.structs.replace(f.user("asker", 700), requested=False), occurred_at=f.at(5))
    old = p.envelope(f.user("asker", 10), occurred_at=f.at(1))
    gone = p.envelope(UserFetched(username="asker", availability="suspended"), occurred_at=f.at(3))
    assert await _updates(pool, write_users, "reddit_users", [new], [old], [old], [gone]) == [0, 1, 0, 0]
    row = await pool.fetchrow(
        "SELECT total_karma, requested, availability, fact_id FROM reddit_users WHERE username = 'asker'"
    )
    assert dict(row) == {"total_karma": 700, "requested": True, "availability": "ok", "fact_id": new.id}


async def test_a_post_rescrape_is_one_row_version_and_an_older_one_none(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    first = p.envelope(f.posts(["h1", "h2"], score=5), occurred_at=f.at(1))
    newer = p.envelope(f.posts(["h1"], score=70), occurred_at=f.at(3))
    older = p.envelope(f.posts(["h1", "h2"], score=1), occurred_at=f.at(0))
    assert await _updates(pool, write_posts, "reddit_posts", [first], [newer, older], [older]) == [0, 1, 0]
    scores = dict(await pool.fetch("SELECT reddit_id, score FROM reddit_posts WHERE reddit_id IN ('h1', 'h2')"))
    assert scores == {"h1": 70, "h2": 5}


async def test_a_value_the_database_refuses_sends_only_its_fact_to_dlq(
    rt: Runtime, service: object, pool: asyncpg.Pool
) -> None:
    """Karma or a score beyond PostgreSQL's integer: the group is written one by one, only the
    culprit goes to DLQ with the database's reason, the rest is stored."""
    p = rt.publisher
    users = [p.envelope(f.user(f"fine{i}")) for i in range(6)]
    huge = p.envelope(msgspec.structs.replace(f.user("huge"), link_karma=2**40))
    posts = [p.envelope(f.posts([f"ok{i}"])) for i in range(4)]
    bad_post = p.envelope(f.posts(["big1", "big2"], score=2**40))
    await p.publish_many([*users[:3], huge, *users[3:], *posts[:2], bad_post, *posts[2:]])
    await drained(rt)
    names = {r[0] for r in await pool.fetch("SELECT username FROM reddit_users")}
    assert names == {f"fine{i}" for i in range(6)}
    ids = {r[0] for r in await pool.fetch("SELECT reddit_id FROM reddit_posts")}
    assert ids == {f"ok{i}" for i in range(4)}
    dlq = rt.topology.stream("DLQ")
    info = await rt.js.stream_info(dlq)
    reasons = sorted(
        [(await rt.js.get_msg(dlq, s)).headers["B9-Dlq-Reason"] for s in range(1, info.state.messages + 1)]
    )
    assert len(reasons) == 2, reasons
    assert reasons[0].startswith("database refused posts.fetched")
    assert reasons[1].startswith("database refused user.fetched")
