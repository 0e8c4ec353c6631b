"""The viral posts snapshot's refresher (b9_persistence.viral_refresh): when it refreshes (no
snapshot or an old one at start; something stored since; not while draining a backlog, unless
the last refresh is old), what a refresh keeps (the live query's answer for each dashboard
window), none below the 'Ok' subreddits threshold, and the service running it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from b9_persistence import viral_refresh
from b9_persistence.viral_refresh import ViralRefresher
from b9_readmodel import viral
from phelpers import make_settings, running

POST = (
    "INSERT INTO reddit_posts (reddit_id, subreddit, title, score, num_comments, created_utc, content_type,"
    " posting_hour, posting_day_of_week, listing, fact_at, fact_id) VALUES ($1, $2, '', $3, 1, $4, 'image',"
    " 3, 1, 'new', now(), $1)"
)
WINDOWS = (24, 72, 168, 720)


async def _load(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(
            "INSERT INTO subreddits (name, review) VALUES ($1, $2)", [("a", "Ok"), ("b", "Ok"), ("c", None)]
        )
        now = datetime.now(UTC)
        await conn.executemany(
            POST,
            [
                (f"{sub}{i}", sub, (i * 37) % 11 - 2, now - timedelta(hours=h))
                for sub in "abc"
                for i, h in enumerate([1, 2, 30, 40, 50, 100, 120, 200, 300, 500, 700, 800])
            ],
        )
    finally:
        await conn.close()


async def _snapshot(url: str) -> tuple[dict[int, datetime], list[tuple[int, str, int, str]]]:
    conn = await asyncpg.connect(url)
    try:
        at = {r["hours"]: r["as_of"] for r in await conn.fetch("SELECT hours, as_of FROM viral_snapshot")}
        top = [
            tuple(r)
            for r in await conn.fetch("SELECT hours, subreddit, rank, reddit_id FROM viral_top ORDER BY 1, 2, 3")
        ]
        return at, top
    finally:
        await conn.close()


async def _live(url: str) -> list[tuple[int, str, int, str]]:
    conn = await asyncpg.connect(url)
    try:
        out = []
        for h in WINDOWS:
            found, _ = await viral.viral_page(conn, viral.Viral(h, 3), "score", 1, 100)
            out += [(h, r["subreddit"], r["rank"], r["reddit_id"]) for r in found]
        return sorted(out)
    finally:
        await conn.close()


async def test_refresher_refreshes_when_due_and_keeps_the_live_answer(database_url: str) -> None:
    await _load(database_url)
    stored = [0]
    r = ViralRefresher(database_url, 300, 0, lambda: stored[0])
    assert await r.tick()  # no snapshot at start: refreshed
    at, top = await _snapshot(database_url)
    assert set(at) == set(WINDOWS) and top == await _live(database_url)
    assert {s for _, s, _, _ in top} == {"a", "b"} and len({h for h, *_ in top}) == 4
    assert not await r.tick()  # nothing stored since
    stored[0] += 10
    r.tick_at -= 100  # 10 deliveries in 100 s: not busy
    assert await r.tick()
    assert (await _snapshot(database_url))[0][72] > at[72]
    stored[0] += 1_000_000  # a backlog drained at 10^6/s: waits ...
    r.tick_at -= 1
    assert not await r.tick()
    stored[0] += 1_000_000
    r.tick_at -= 1
    r.last_at = (r.last_at or 0) - viral_refresh.BUSY_MAX_S  # ... up to BUSY_MAX_S
    assert await r.tick()
    # a restart with a snapshot does not refresh at once (the next ticks decide)
    at = (await _snapshot(database_url))[0]
    again = ViralRefresher(database_url, 300, 0, lambda: 5)
    assert not await again.tick()
    assert (await _snapshot(database_url))[0] == at
    again.last_at = (again.last_at or 0) - viral_refresh.IDLE_MAX_S
    assert await again.tick()
    assert (await _snapshot(database_url))[0][24] > at[24]
    # fewer 'Ok' subreddits than the threshold: no snapshot kept (the gateway computes live)
    assert await ViralRefresher(database_url, 300, 3, lambda: 0).refresh() == -1
    assert await _snapshot(database_url) == ({}, [])


async def test_the_service_refreshes_the_snapshot(nats_url: str, namespace: str, database_url: str) -> None:
    await _load(database_url)
    settings = make_settings(nats_url, namespace, database_url, viral_refresh_s=0.2, viral_snapshot_min_subreddits=1)
    async with running(settings):
        deadline = time.monotonic() + 20
        while not (await _snapshot(database_url))[0]:
            assert time.monotonic() < deadline, "the service did not refresh the viral snapshot"
            await asyncio.sleep(0.1)
    assert (await _snapshot(database_url))[1] == await _live(database_url)
