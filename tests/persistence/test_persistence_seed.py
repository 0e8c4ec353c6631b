"""Seed generator: published through JetStream, stored by persistence; re-seeding dedups."""

from __future__ import annotations

import asyncpg
from b9_common.service import Runtime
from b9_persistence.seed import SCALES, seed
from phelpers import drained, table_hashes


async def test_small_seed_lands_and_reseeding_changes_nothing(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    seen: list[tuple[str, int, int]] = []
    counts = await seed(rt.publisher, "small", progress=lambda *a: seen.append(a))
    n = SCALES["small"]
    assert counts["subreddits"] == n["subreddits"] and counts["posts"] == n["posts"] // 100
    assert {s[0] for s in seen} == {"subreddits", "users", "posts", "creators", "categorizations"}
    await drained(rt, within=60)
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM subreddits") == n["subreddits"]
        assert await c.fetchval("SELECT count(*) FROM reddit_users") == n["users"]
        assert await c.fetchval("SELECT count(*) FROM reddit_posts") == n["posts"]
        assert await c.fetchval("SELECT count(*) FROM instagram_creators") == n["creators"]
        assert await c.fetchval("SELECT count(*) FROM instagram_media") == n["creators"] * 24
        # long-tailed: the biggest subreddit dwarfs the median one
        top, median = await c.fetchrow(
            "SELECT max(subscribers), percentile_cont(0.5) WITHIN GROUP (ORDER BY subscribers) "
            "FROM subreddits")
        assert top > 100 * median
        before = await table_hashes(c)
    await seed(rt.publisher, "small")
    await drained(rt, within=60)
    async with pool.acquire() as c:
        assert await table_hashes(c) == before
