"""Seed generator: published through JetStream, stored by persistence; relative to now, with
what every dashboard page needs (requirements, windows, history, reviews); re-seeding dedups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from b9_common.service import Runtime
from b9_persistence.seed import SCALES, seed, this_hour
from phelpers import drained, table_hashes


async def test_small_seed_lands_relative_to_now_and_reseeding_changes_nothing(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    seen: list[tuple[str, int, int]] = []
    now = this_hour()
    counts = await seed(rt.publisher, "small", progress=lambda *a: seen.append(a), now=now)
    n = SCALES["small"]
    assert counts["subreddits"] == counts["subreddits now"] == counts["discoveries"] == n["subreddits"]
    assert counts["posts"] == n["posts"] // 100 and counts["creators"] == 4 * n["creators"]
    assert {s[0] for s in seen} == {"discoveries", "subreddits", "users", "posts", "subreddits now",
                                    "creators", "categorizations", "decisions"}
    await drained(rt, within=90)
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM subreddits") == n["subreddits"]
        assert await c.fetchval("SELECT count(*) FROM reddit_users") == n["users"]
        assert await c.fetchval("SELECT count(*) FROM reddit_posts") == n["posts"]
        assert await c.fetchval("SELECT count(*) FROM instagram_creators") == n["creators"]
        assert await c.fetchval("SELECT count(*) FROM instagram_media") == n["creators"] * 24
        # long-tailed: the biggest subreddit dwarfs the median one
        top, median = await c.fetchrow(
            "SELECT max(subscribers), percentile_cont(0.5) WITHIN GROUP (ORDER BY subscribers) FROM subreddits")
        assert top > 100 * median
        # relative to now: posts over the last 30 days, none in the future, every day has some
        first, last, days = await c.fetchrow(
            "SELECT min(created_utc), max(created_utc), count(DISTINCT date_trunc('day', created_utc)) "
            "FROM reddit_posts")
        assert now - timedelta(days=31) <= first and last <= now and days >= 30
        ok = await c.fetchval("SELECT count(*) FROM subreddits WHERE review = 'Ok'")
        assert ok > n["subreddits"] // 3
        # viral posts (Ok subreddits, score > 0) in the last 24 h and in 30 days
        for hours in (24, 24 * 30):
            assert await c.fetchval(
                "SELECT count(*) FROM reddit_posts p JOIN subreddits s ON s.name = p.subreddit "
                "WHERE s.review = 'Ok' AND p.score > 0 AND p.created_utc >= $1", now - timedelta(hours=hours)) > 50
        # requirements and best hour / day for (nearly) every Ok subreddit, computed from posters
        with_req = await c.fetchval(
            "SELECT count(*) FROM subreddits WHERE review = 'Ok' AND min_post_karma IS NOT NULL "
            "AND min_comment_karma IS NOT NULL AND min_account_age_days IS NOT NULL "
            "AND best_posting_hour IS NOT NULL AND best_posting_day IS NOT NULL AND authors_sampled > 0")
        assert with_req >= 0.9 * ok
        assert await c.fetchval("SELECT count(DISTINCT best_posting_hour) FROM subreddits") >= 6
        rules = await c.fetchval("SELECT count(*) FROM subreddits WHERE jsonb_array_length(rules) >= 2")
        assert rules == n["subreddits"]
        # new today, and history with two points per subreddit and four per creator (growing)
        assert await c.fetchval("SELECT count(*) FROM subreddits WHERE discovered_at >= $1",
                                now.replace(hour=0)) >= 1
        assert await c.fetchval(
            "SELECT min(k) FROM (SELECT count(*) k FROM subreddit_snapshots GROUP BY subreddit) x") == 2
        assert await c.fetchval(
            "SELECT count(*) FROM (SELECT ig_user_id FROM creator_follower_history GROUP BY 1 "
            "HAVING count(*) = 4 AND max(followers_count) > min(followers_count)) x") == n["creators"]
        reviews = dict(await c.fetch(
            "SELECT coalesce(review_status, 'pending'), count(*) FROM instagram_creators GROUP BY 1"))
        assert set(reviews) == {"ok", "non_related", "pending"} and reviews["ok"] > n["creators"] // 3
        assert await c.fetchval("SELECT count(*) FROM instagram_creators WHERE niche IS NOT NULL") > 20
        assert await c.fetchval("SELECT count(*) FROM models") == 2
        assert await c.fetchval("SELECT count(*) FROM reddit_users WHERE model_id IS NOT NULL") == 6
        # reels taken in the last weeks, posts' likes stored (Niching's averages)
        assert await c.fetchval("SELECT max(taken_at) FROM instagram_media") > now - timedelta(days=2)
        assert await c.fetchval("SELECT min(avg_post_likes) FROM instagram_creators") > 0
        before = await table_hashes(c)
    await seed(rt.publisher, "small", now=now)
    await drained(rt, within=60)
    async with pool.acquire() as c:
        assert await table_hashes(c) == before


def test_this_hour_is_utc_and_whole() -> None:
    h = this_hour()
    assert h.tzinfo == UTC and h.minute == h.second == h.microsecond == 0
    assert datetime.now(UTC) - h < timedelta(hours=1)
