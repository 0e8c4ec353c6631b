"""The dashboard overview's numbers: table counts (big tables estimated from the planner's
statistics), subreddits and creators by review, today's scraper totals and categorization cost."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

TODAY = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
# Subreddits per review, and how many were discovered (or, not discovered, first scraped) today:
# one index-only pass over subreddits_review_new (0094), where a count, a scan for today's and a
# GROUP BY each read the table.
SUBREDDITS_SQL = f"""
SELECT coalesce(review, 'unreviewed') AS r, count(*) AS n,
       count(*) FILTER (WHERE discovered_at >= {TODAY} OR (discovered_at IS NULL AND fact_at >= {TODAY})) AS new_today
FROM subreddits GROUP BY 1
"""
COUNTS_SQL = """
SELECT
  (SELECT count(*) FROM reddit_users) AS users,
  (SELECT count(*) FROM reddit_users WHERE our_creator) AS our_creators,
  (SELECT count(*) FROM instagram_creators) AS creators,
  (SELECT count(*) FROM models) AS models,
  (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'reddit_posts'::regclass) AS posts_estimate,
  (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'instagram_media'::regclass) AS media_estimate,
  (SELECT count(*) FROM media_assets WHERE status = 'stored') AS media_stored
"""


@dataclass(frozen=True)
class OverviewRows:
    counts: dict[str, int | None]  # subreddits, subreddits_new_today, then the columns of COUNTS_SQL
    subreddits_by_review: list[asyncpg.Record]  # r ('unreviewed' for none), n, new_today
    creators_by_review: list[asyncpg.Record]  # r ('pending' for none), n
    scrapers_today: list[asyncpg.Record]  # scraper, attempts, ok, calls, cost (UTC day)
    categorization_cost_today: float | None


async def overview(conn: asyncpg.Connection) -> OverviewRows:
    """Every number of the overview, on one connection, in one transaction without JIT (at 10x the
    counts' plan is estimated dear enough for PostgreSQL to compile it first: time for nothing)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        subs = await conn.fetch(SUBREDDITS_SQL)
        row = await conn.fetchrow(COUNTS_SQL)
        by_creator = await conn.fetch(
            "SELECT coalesce(review_status, 'pending') AS r, count(*) AS n FROM instagram_creators GROUP BY 1"
        )
        daily = await conn.fetch(
            "SELECT scraper, sum(attempts) AS attempts, sum(attempts) FILTER (WHERE outcome = 'success') AS ok, "
            "sum(calls) AS calls, sum(cost_usd)::float8 AS cost FROM scraper_daily "
            "WHERE day = (now() AT TIME ZONE 'UTC')::date GROUP BY scraper"
        )
        cat_cost = await conn.fetchval(
            f"SELECT coalesce(sum(cost_usd), 0)::float8 FROM categorizations WHERE fact_at >= {TODAY}"
        )
    assert row is not None  # a SELECT of scalar subqueries has one row
    counts = {"subreddits": sum(r["n"] for r in subs), "subreddits_new_today": sum(r["new_today"] for r in subs)}
    return OverviewRows(counts | dict(row), subs, by_creator, daily, cat_cost)
