"""The scrapers' attempts as persistence stores them: ``scrape_attempts`` (one row per
``scrape.attempted``; 0006 adds ``reason``, ``message``, ``http_status``) and ``scraper_daily``
(totals per UTC day and outcome)."""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db

# Attempts stored before the scrapers set a reason: derived from the outcome.
REASON_SQL = """coalesce(reason, CASE outcome WHEN 'success' THEN 'ok' WHEN 'not_found' THEN 'not_found'
  WHEN 'private' THEN 'private' WHEN 'quarantined' THEN 'private' WHEN 'banned' THEN 'banned'
  WHEN 'rate_limited' THEN 'budget_exhausted' WHEN 'not_configured' THEN 'not_configured'
  ELSE 'unknown' END)"""
TODAY_SQL = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


async def failures(db: Db, scraper: str, limit: int) -> list[asyncpg.Record]:
    """The scraper's newest ``limit`` attempts that did not succeed: fact_at, target_kind, target,
    outcome, reason, message, http_status, replica."""
    return await db.fetch(
        f"SELECT fact_at, target_kind, target, outcome, {REASON_SQL} AS reason, "
        "coalesce(message, error) AS message, http_status, replica FROM scrape_attempts "
        "WHERE scraper = $1 AND outcome <> 'success' ORDER BY fact_at DESC LIMIT $2",
        scraper, limit,
    )


async def recent(db: Db, scraper: str, window_seconds: float, limit: int) -> list[asyncpg.Record]:
    """(outcome, reason, message) of the newest ``limit`` attempts in the last ``window_seconds``."""
    return await db.fetch(
        f"SELECT outcome, {REASON_SQL} AS reason, coalesce(message, error) AS message "
        "FROM scrape_attempts WHERE scraper = $1 AND fact_at >= now() - make_interval(secs => $2) "
        "ORDER BY fact_at DESC LIMIT $3",
        scraper, window_seconds, limit,
    )


async def failures_today_by_reason(db: Db, scraper: str) -> dict[str, int]:
    """Reason -> attempts that did not succeed since 00:00 UTC."""
    rows = await db.fetch(
        f"SELECT {REASON_SQL} AS reason, count(*) AS n FROM scrape_attempts "
        f"WHERE scraper = $1 AND outcome <> 'success' AND fact_at >= {TODAY_SQL} GROUP BY 1",
        scraper,
    )
    return {r["reason"]: int(r["n"]) for r in rows}


async def today(db: Db, scraper: str) -> list[asyncpg.Record]:
    """(outcome, attempts, calls, cost) of the scraper today (UTC)."""
    return await db.fetch(
        "SELECT outcome, attempts, calls, cost_usd::float8 AS cost FROM scraper_daily "
        "WHERE scraper = $1 AND day = (now() AT TIME ZONE 'UTC')::date",
        scraper,
    )


async def last_attempt(db: Db, scraper: str) -> asyncpg.Record:
    """(fact_at of the newest attempt, cycle of the newest attempt that names one): NULLs if none."""
    row = await db.fetchrow(
        "SELECT (SELECT max(fact_at) FROM scrape_attempts WHERE scraper = $1) AS fact_at, "
        "(SELECT cycle FROM scrape_attempts WHERE scraper = $1 AND cycle IS NOT NULL "
        "ORDER BY fact_at DESC LIMIT 1) AS cycle",
        scraper,
    )
    assert row is not None  # a SELECT of two scalar subqueries has one row
    return row
