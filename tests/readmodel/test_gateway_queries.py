"""The gateway's read-model queries on the real schema, where the function itself decides
something: identifiers from allowed names only, totals past the last page, counts before paging,
attempts with and without rows. (The pages' contents are tested through the API in tests/gateway.)"""

from __future__ import annotations

import asyncpg
import pytest
from b9_readmodel import attempts, models, subreddits, viral
from b9_readmodel.sql import ListQuery, count_sql, page_sql

POST = (
    "INSERT INTO reddit_posts (reddit_id, subreddit, title, score, created_utc, content_type, posting_hour,"
    " posting_day_of_week, listing, fact_at, fact_id) VALUES ($1, $2, '', $3, now() - interval '1 hour',"
    " 'image', 1, 1, 'new', now(), $1)"
)


async def _page(pool: asyncpg.Pool, q: ListQuery, per_page: int, page: int) -> list[asyncpg.Record]:
    where = q.where
    cond, lim, off = where.sql(), where.p(per_page), where.p((page - 1) * per_page)
    sql = page_sql(q.select, q.from_, cond, q.order, lim, off, q.key)
    return await pool.fetch(sql, *where.params)


async def test_decided_values_read_only_the_decided_columns(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO subreddits (name, review, tags) VALUES ('Cats', 'Ok', '{pets}')")
    assert await subreddits.current(pool, ["cats", "dogs"], "review") == {"cats": ("Cats", "Ok")}
    assert await subreddits.current(pool, ["cats"], "tags") == {"cats": ("Cats", ["pets"])}
    with pytest.raises(ValueError, match="not a decided column"):
        await subreddits.current(pool, ["cats"], "name FROM subreddits; --")


async def test_recommendations_counted_over_all_then_paged(pool: asyncpg.Pool) -> None:
    await pool.executemany(
        "INSERT INTO subreddits (name, review, tags, over18, verification_required, min_post_karma)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [
            ("a", "Ok", ["fit"], False, True, 50),
            ("b", "Ok", ["fit", "yoga"], True, False, None),
            ("c", "Ok", ["yoga"], False, False, 10),
            ("d", None, ["fit"], False, False, 0),
        ],
    )
    q = models.recommendation_list(["fit", "yoga"], None, "min_karma", None)
    counts = await models.recommendation_counts(pool, q)
    assert dict(counts) == {"sfw": 2, "verification_required": 1}
    # min_karma ascends by nature, unknown requirements first (a ListQuery is paged once)
    assert [r["name"] for r in await _page(pool, q, 2, 1)] == ["b", "c"]
    again = models.recommendation_list(["fit", "yoga"], None, "min_karma", None)
    assert [r["name"] for r in await _page(pool, again, 2, 2)] == ["a"]
    sfw = models.recommendation_list(["fit"], True, "min_karma", "desc")
    assert await pool.fetchval(count_sql(sfw.from_, sfw.where.sql()), *sfw.where.params) == 1
    assert [r["name"] for r in await _page(pool, sfw, 10, 1)] == ["a"]


async def test_viral_page_total_past_the_end_and_grouped_stats(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO subreddits (name, review) VALUES ('ok1', 'Ok'), ('nope', NULL)")
    await pool.executemany(POST, [("p1", "ok1", 10), ("p2", "ok1", 30), ("p3", "ok1", 20), ("p4", "nope", 99)])
    async with pool.acquire() as conn:
        found, total = await viral.viral_page(conn, viral.Viral(24, 2), "score", 1, 10)
        assert [r["reddit_id"] for r in found] == ["p2", "p3"] and total == 2
        found, total = await viral.viral_page(conn, viral.Viral(24, 2), "score", 5, 10)
        assert found == [] and total == 2  # counted apart: no row carries it
        stats = await viral.viral_stats(conn, viral.Viral(24, 3))
    assert stats.best_by_avg_score == {"subreddit": "ok1", "posts": 3, "avg_score": 20.0, "comments": 0}
    assert stats.total == 3 and [(r["hour"], r["posts"]) for r in stats.by_hour] == [(1, 3)]


async def test_attempts_today_last_and_failures(pool: asyncpg.Pool) -> None:
    assert tuple(await attempts.last_attempt(pool, "reddit")) == (None, None)
    await pool.executemany(
        "INSERT INTO scrape_attempts (fact_id, scraper, target_kind, target, outcome, cycle, reason, fact_at)"
        " VALUES ($1, 'reddit', 'subreddit', $2, $3, $4, $5, now() - make_interval(secs => $6))",
        [
            ("f1", "a", "success", 7, None, 0.002),
            ("f2", "b", "not_found", None, None, 0.001),
            ("f3", "c", "failed", None, "http_5xx", 0.0),
        ],
    )
    await pool.execute(
        "INSERT INTO scraper_daily (scraper, day, outcome, attempts, calls, cost_usd)"
        " VALUES ('reddit', (now() AT TIME ZONE 'UTC')::date, 'success', 4, 5, 0.5)"
    )
    last = await attempts.last_attempt(pool, "reddit")
    assert last["cycle"] == 7 and last["fact_at"] is not None
    assert [tuple(r) for r in await attempts.today(pool, "reddit")] == [("success", 4, 5, 0.5)]
    failed = await attempts.failures(pool, "reddit", 10)
    assert [(r["target"], r["reason"]) for r in failed] == [("c", "http_5xx"), ("b", "not_found")]
    assert [r["reason"] for r in await attempts.recent(pool, "reddit", 60.0, 2)] == ["http_5xx", "not_found"]
    assert await attempts.failures_today_by_reason(pool, "reddit") == {"http_5xx": 1, "not_found": 1}
