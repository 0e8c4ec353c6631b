"""Insights' inputs: subreddits' growth over their own snapshots, creators' follower histories.

Shared by the gateway's insight pages and the alerts service's rules on ``subreddit.rising`` /
``creator.flagged``; the signals computed from the creators' rows are
``b9_common.alerting.insights``'s.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db

RISING_SORTS = {
    "growth_pct": "growth_pct DESC NULLS LAST",
    "growth": "growth DESC NULLS LAST",
    "active_growth_pct": "active_growth_pct DESC NULLS LAST",
    "subscribers": "end_subscribers DESC NULLS LAST",
}
# $1 = days, $2 = snapshots needed: subscriber and activity growth over the window of each
# subreddit's own snapshots, only for subreddits with enough history; ``total`` = how many.
RISING_SQL = """
WITH s AS (
    SELECT subreddit, fact_at, subscribers, active_users, max(fact_at) OVER (PARTITION BY subreddit) AS last_at
    FROM subreddit_snapshots WHERE subscribers IS NOT NULL
), w AS (
    SELECT subreddit, min(fact_at) AS since, max(fact_at) AS until, count(*) AS points,
           (array_agg(subscribers ORDER BY fact_at))[1] AS start_subscribers,
           (array_agg(subscribers ORDER BY fact_at DESC))[1] AS end_subscribers,
           (array_agg(active_users ORDER BY fact_at))[1] AS start_active,
           (array_agg(active_users ORDER BY fact_at DESC))[1] AS end_active,
           array_agg(subscribers ORDER BY fact_at) AS sparkline
    FROM s WHERE fact_at >= last_at - make_interval(days => $1)
    GROUP BY subreddit
    HAVING count(*) >= $2 AND max(fact_at) - min(fact_at) >= make_interval(days => $1 - 1)
)
SELECT subreddit, start_subscribers, end_subscribers, end_subscribers - start_subscribers AS growth,
       CASE WHEN start_subscribers > 0 THEN (end_subscribers - start_subscribers)::float8 / start_subscribers END
           AS growth_pct,
       start_active, end_active,
       CASE WHEN start_active > 0 THEN (end_active - start_active)::float8 / start_active END AS active_growth_pct,
       points, since, until, sparkline, count(*) OVER () AS total
FROM w
"""

CREATORS_SQL = """
SELECT c.ig_user_id, c.username, c.followers_count, c.engagement_rate, c.avg_reel_views,
       coalesce(array_agg(h.followers_count ORDER BY h.fact_at) FILTER (WHERE h.fact_at IS NOT NULL), '{}')
           AS history,
       coalesce(array_agg(h.fact_at ORDER BY h.fact_at) FILTER (WHERE h.fact_at IS NOT NULL), '{}') AS history_at
FROM instagram_creators c LEFT JOIN creator_follower_history h USING (ig_user_id)
WHERE c.followers_count > 0
GROUP BY c.ig_user_id
"""


async def rising(db: Db, days: int, min_points: int) -> list[asyncpg.Record]:
    """Every subreddit with ``min_points`` snapshots spanning the last ``days`` of its own (``RISING_SQL``)."""
    return await db.fetch(RISING_SQL, days, min_points)


async def rising_page(
    db: Db, days: int, min_points: int, sort: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """A page of ``rising`` in ``RISING_SORTS[sort]`` then name; each row's ``total`` counts them all."""
    return await db.fetch(
        f"{RISING_SQL} ORDER BY {RISING_SORTS[sort]}, subreddit LIMIT $3 OFFSET $4", days, min_points, limit, offset
    )


async def creator_histories(db: Db) -> list[asyncpg.Record]:
    """Every creator with followers: ig_user_id, username, followers_count, engagement_rate,
    avg_reel_views and the follower counts of each scrape (``history``, ``history_at``), oldest first."""
    return await db.fetch(CREATORS_SQL)
