"""The overview's subreddit numbers (b9_readmodel.overview), read in one pass: total, new today
(discovered today, or never discovered and first scraped today) and per review, against the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from b9_readmodel import overview


async def test_subreddits_total_new_today_and_by_review(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(seconds=1)
    rows = [  # name, review, discovered_at, fact_at, new today
        ("a", "Ok", today, None, True),
        ("b", "Ok", yesterday, now, False),  # scraped today, discovered before
        ("c", None, None, now, True),  # never discovered, first scraped today
        ("d", None, None, yesterday, False),
        ("e", "Banned", None, None, False),
        ("f", "No Seller", now, yesterday, True),
        ("g", None, yesterday, None, False),
    ]
    await pool.executemany(
        "INSERT INTO subreddits (name, review, discovered_at, fact_at) VALUES ($1, $2, $3, $4)",
        [r[:4] for r in rows],
    )
    async with pool.acquire() as conn:
        got = await overview.overview(conn)
    assert got.counts["subreddits"] == 7 and got.counts["subreddits_new_today"] == 3
    assert list(got.counts)[:3] == ["subreddits", "subreddits_new_today", "users"]  # the API's order
    assert {r["r"]: r["n"] for r in got.subreddits_by_review} == {"Ok": 2, "unreviewed": 3, "Banned": 1, "No Seller": 1}
