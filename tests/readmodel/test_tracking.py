"""The scrapers' queries on the real schema: order, limits, the pending ids, empty asks."""

from __future__ import annotations

import asyncpg
from b9_readmodel import tracking
from b9_readmodel.tracking import DirectoryCreator, TrackedSubreddit


async def test_tracked_subreddits_ok_first_then_never_scraped_then_stalest(pool: asyncpg.Pool) -> None:
    await pool.execute("""
        INSERT INTO subreddits (name, review, fact_at) VALUES
        ('fresh_ok', 'Ok', now()), ('stale_ok', 'Ok', now() - interval '2 days'),
        ('never_ok', 'Ok', NULL), ('noseller', 'No Seller', now() - interval '9 days'),
        ('NoSeller2', 'No Seller', NULL), ('ignored', 'Non Related', NULL), ('unreviewed', NULL, NULL)
    """)
    got = await tracking.tracked_subreddits(pool, ["Ok", "No Seller"], 100)
    assert got == [TrackedSubreddit("never_ok", "Ok"), TrackedSubreddit("stale_ok", "Ok"),
                   TrackedSubreddit("fresh_ok", "Ok"), TrackedSubreddit("NoSeller2", "No Seller"),
                   TrackedSubreddit("noseller", "No Seller")]
    assert [t.name for t in await tracking.tracked_subreddits(pool, ["No Seller"], 1)] == ["NoSeller2"]
    async with pool.acquire() as conn:  # a connection works as well as a pool
        assert await tracking.known_subreddit_names(conn) == {
            "fresh_ok", "stale_ok", "never_ok", "noseller", "noseller2", "ignored", "unreviewed"}


async def test_creator_directory_queries(pool: asyncpg.Pool) -> None:
    await pool.executemany(
        "INSERT INTO instagram_creators (ig_user_id, username, review_status, niche, related_processed, fact_at)"
        " VALUES ($1, $2, $3, $4, $5, now() - make_interval(days => $6))",
        [("1", "Old", "ok", "fitness", False, 9), ("2", "new", "ok", None, False, 1),
         ("3", "done", "ok", None, True, 5), ("4", "nope", "non_related", None, False, 3),
         ("pending:erin", "erin", "ok", "yoga", False, 0)],
    )
    await pool.execute("INSERT INTO instagram_creators (ig_user_id, username, review_status)"
                       " VALUES ('5', NULL, 'ok'), ('6', 'never', 'ok')")
    approved = await tracking.approved_creators(pool, 100)
    assert [c.username for c in approved] == ["never", "Old", "done", "new", "erin"]
    assert approved[1] == DirectoryCreator("1", "Old", "fitness")
    assert [c.username for c in await tracking.approved_creators(pool, 2)] == ["never", "Old"]
    # newest scraped first; not processed ones only; never a pending id; NULL fact_at last
    assert [c.ig_user_id for c in await tracking.related_pending_creators(pool, 10)] == ["2", "1", "6"]
    assert await tracking.known_usernames(pool, ["OLD", "Erin", "zed"]) == {"old", "erin"}
    assert await tracking.known_usernames(pool, []) == set()
    assert await tracking.known_creator_ids(pool, ["1", "pending:erin", "999"]) == {"1", "pending:erin"}
    assert await tracking.known_creator_ids(pool, []) == set()
