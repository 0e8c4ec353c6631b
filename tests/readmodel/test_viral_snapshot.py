"""The viral posts snapshot (migration 0098's ``viral_refresh``, read by b9_readmodel.viral_snapshot)
against the same plain reference as the live queries (test_viral): every dashboard window, each
per_subreddit it holds, the filters, every sort and page, the stats; what it does not hold is
computed live; a refresh after changes (scores, new posts, a subreddit no longer 'Ok', over18,
category) writes only what changed and gives the reference's answer again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import test_viral
from b9_readmodel import viral, viral_snapshot
from test_viral import POST, _load, _reference, _sorted, assert_stats

WINDOWS = (24, 72, 168, 720)
# Older posts than test_viral's (which are all within 48 h): each window differs from the next.
OLD = [("o1", "alpha", 900, 100), ("o2", "gamma", 800, 200), ("o3", "alpha", 700, 500), ("o4", "eta", 600, 800)]


async def _load_all(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    posts = await _load(pool)
    now = datetime.now(UTC)
    old: list[dict[str, Any]] = [
        {
            "reddit_id": k,
            "subreddit": s,
            "title": "old cat",
            "score": sc,
            "num_comments": 3,
            "upvote_ratio": 0.8,
            "age": h * 3600.0,
            "posting_hour": 5,
        }
        for k, s, sc, h in OLD
    ]
    await pool.executemany(
        POST,
        [
            (p["reddit_id"], p["subreddit"], p["title"], p["score"], 3, 0.8, now - timedelta(seconds=p["age"]), 5)
            for p in old
        ],
    )
    return posts + old


async def _pages(conn: asyncpg.Connection, v: viral.Viral, sort: str) -> tuple[list[asyncpg.Record], int, set[Any]]:
    got: list[asyncpg.Record] = []
    totals, as_of = set(), set()
    for page in range(1, 200):
        found, total, at = await viral_snapshot.viral_page(conn, v, sort, page, 7)
        totals.add(total)
        as_of.add(at)
        if not found:
            break
        got += found
    assert len(totals) == 1
    return got, totals.pop(), as_of


async def _check(conn: asyncpg.Connection, posts: list[dict[str, Any]], snapshot: bool) -> None:
    """Every window / per_subreddit <= 3 / filter, every sort: pages and stats equal the reference,
    read from the snapshot (``snapshot``) or live."""
    for hours in WINDOWS:
        for n, sfw, category in [(3, None, None), (1, True, None), (2, None, "art"), (3, False, "fitness")]:
            want = _reference(posts, n, sfw, category, hours=hours)
            v = viral.Viral(hours, n, sfw, category)
            for sort in viral.VIRAL_SORTS:
                got, total, as_of = await _pages(conn, v, sort)
                assert (None not in as_of) is snapshot and len(as_of) == 1, (hours, n, sort, as_of)
                assert total == len(want), (hours, n, sfw, category, sort)
                assert [r["reddit_id"] for r in got] == _sorted(want, sort), (hours, n, sfw, category, sort)
                assert {r["reddit_id"]: r["rank"] for r in got} == {p["reddit_id"]: p["rank"] for p in want}
                assert [(r["score"], r["num_comments"], r["posting_hour"]) for r in got] == [
                    (p["score"], p["num_comments"], p["posting_hour"])
                    for p in sorted(want, key=lambda p: _sorted(want, sort).index(p["reddit_id"]))
                ]
            stats, at = await viral_snapshot.viral_stats(conn, v)
            assert (at is not None) is snapshot
            assert_stats(stats, want)


async def test_snapshot_answers_equal_the_reference_and_the_rest_is_live(pool: asyncpg.Pool) -> None:
    posts = await _load_all(pool)
    async with pool.acquire() as conn:
        await _check(conn, posts, snapshot=False)  # no snapshot yet: live
        assert await conn.fetchval("SELECT viral_refresh(1000)") == -1  # 6 'Ok' subreddits: none kept
        assert await conn.fetchval("SELECT count(*) FROM viral_snapshot") == 0
        kept = await conn.fetchval("SELECT viral_refresh(0)")
        assert kept == sum(len(_reference(posts, 3, hours=h)) for h in WINDOWS) > 0
        await _check(conn, posts, snapshot=True)
        # not held: a title search, a subreddit, more per subreddit, another window -> live, same rows
        for v in (
            viral.Viral(24, 2, q="cat"),
            viral.Viral(24, 2, subreddit="ETA"),
            viral.Viral(24, 5),
            viral.Viral(48, 3),
        ):
            found, total, as_of = await viral_snapshot.viral_page(conn, v, "score", 1, 500)
            want = _reference(posts, v.per_subreddit, q=v.q, hours=v.hours)
            want = [p for p in want if v.subreddit is None or p["subreddit"] == v.subreddit.lower()]
            assert as_of is None and total == len(want)
            assert [r["reddit_id"] for r in found] == _sorted(want, "score")
        # a snapshot older than MAX_AGE is not used
        await conn.execute("UPDATE viral_snapshot SET as_of = now() - interval '7 hours' WHERE hours = 72")
        assert (await viral_snapshot.viral_page(conn, viral.Viral(72, 3), "score", 1, 5))[2] is None
        assert (await viral_snapshot.viral_page(conn, viral.Viral(24, 3), "score", 1, 5))[2] is not None


async def test_a_refresh_writes_only_the_changes_and_equals_the_reference(pool: asyncpg.Pool) -> None:
    posts = await _load_all(pool)
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT viral_refresh(0)")
        before = {
            (r["hours"], r["subreddit"], r["rank"]): r["xmin"]
            for r in await conn.fetch("SELECT xmin::text, * FROM viral_top")
        }
        assert await conn.fetchval("SELECT viral_refresh(0)") == len(before)  # nothing changed: nothing written
        assert {
            (r["hours"], r["subreddit"], r["rank"]): r["xmin"]
            for r in await conn.fetch("SELECT xmin::text, * FROM viral_top")
        } == before
        # a post's score, a new best post, a subreddit no longer 'Ok', over18 and category changed
        top = next(p["reddit_id"] for p in _reference(posts, 1, hours=24) if p["subreddit"] == "alpha")
        await conn.execute("UPDATE reddit_posts SET score = 1, num_comments = 77 WHERE reddit_id = $1", top)
        next(p for p in posts if p["reddit_id"] == top).update(score=1, num_comments=77)
        await conn.execute(POST, "n1", "gamma", "new", 1000, 4, None, datetime.now(UTC), 9)
        posts.append(
            {
                "reddit_id": "n1",
                "subreddit": "gamma",
                "title": "new",
                "score": 1000,
                "num_comments": 4,
                "upvote_ratio": None,
                "age": 0.0,
                "posting_hour": 9,
            }
        )
        await conn.execute("UPDATE subreddits SET review = 'Banned' WHERE name = 'beta'")
        await conn.execute("UPDATE subreddits SET over18 = true, primary_category = 'art' WHERE name = 'alpha'")
        subs = list(test_viral.SUBS)
        test_viral.SUBS[:] = [
            ("alpha", "Ok", True, "art")
            if s[0] == "alpha"
            else ("beta", "Banned", True, "fitness")
            if s[0] == "beta"
            else s
            for s in subs
        ]
        try:
            await conn.fetchval("SELECT viral_refresh(0)")
            after = {
                (r["hours"], r["subreddit"], r["rank"]): r["xmin"]
                for r in await conn.fetch("SELECT xmin::text, * FROM viral_top")
            }
            kept = {k for k, x in after.items() if before.get(k) == x}
            assert kept == {k for k in before if k[1] in ("eta", "theta", "zeta")} != set()
            await _check(conn, posts, snapshot=True)
        finally:
            test_viral.SUBS[:] = subs
