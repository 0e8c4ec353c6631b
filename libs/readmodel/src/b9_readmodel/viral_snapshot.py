"""Viral posts read from the snapshot persistence keeps (migration 0098: ``viral_top``,
``viral_snapshot`` and the stats' sums ``viral_sub`` / ``viral_hour``), with the live queries of
``b9_readmodel.viral`` for what it does not hold.

The snapshot holds, for the dashboard's windows (24, 72, 168, 720 h), each 'Ok' subreddit's top
``per_subreddit`` (3) posts as they were at ``as_of`` (the rows the live query returned then),
with their subreddit's over18 and primary_category then. It answers a request without a title
search or a subreddit, for a window it holds and per_subreddit <= its own, while it is younger
than ``MAX_AGE``: a page reads its ~0.4 M rows of the window (at 10x) instead of probing
156 k subreddits' posts. Everything else is computed live (``as_of`` None). A page and its
total, and the stats, read one snapshot (a repeatable-read transaction: a refresh that commits
meanwhile is not seen half).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from b9_readmodel import viral
from b9_readmodel.sql import Where

# Older than this, the refresher (every few minutes while persistence runs) has stopped: live.
MAX_AGE = timedelta(hours=6)
# The row of a viral post, as viral.VIRAL_COLS, with the sort and stats columns from the
# snapshot (``k``): the page shows the values it is ordered by.
SNAPSHOT_COLS = (
    "p.reddit_id, p.subreddit, p.author, p.title, p.url, p.permalink, p.thumbnail, k.score, k.num_comments, "
    "k.upvote_ratio::float8 AS upvote_ratio, p.over_18, p.content_type, k.posting_hour, k.created_utc, "
    "s.primary_category AS sub_primary_category, s.tags AS sub_tags, s.over18 AS sub_over18, k.rank"
)


async def _held(conn: asyncpg.Connection, v: viral.Viral) -> tuple[datetime, int] | None:
    """(``as_of``, ranks kept per subreddit) of the snapshot that answers ``v``, or None."""
    if (v.q and v.q.strip()) or v.subreddit:
        return None
    row = await conn.fetchrow(
        "SELECT as_of, per_subreddit, as_of > now() - $2::interval AS recent FROM viral_snapshot WHERE hours = $1",
        v.hours,
        MAX_AGE,
    )
    if row is None or not row["recent"] or v.per_subreddit > row["per_subreddit"]:
        return None
    return row["as_of"], row["per_subreddit"]


def _viral(w: Where, v: viral.Viral) -> str:
    """``WITH viral AS (...)`` from the snapshot: the same columns as ``viral.viral_cte``."""
    return (
        "WITH viral AS (SELECT reddit_id, subreddit, score, num_comments, created_utc, upvote_ratio, posting_hour, "
        f"rank::bigint AS rank FROM viral_top WHERE {_top(w, v)}) "
    )


def _top(w: Where, v: viral.Viral) -> str:
    """The condition on ``viral_top`` rows: the window, the filters, the ranks asked for."""
    return " AND ".join([*_filters(w, v), f"rank <= {w.p(v.per_subreddit)}"])


async def _page(
    conn: asyncpg.Connection, v: viral.Viral, sort: str, page: int, per_page: int, kept: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the window's snapshot rows: the first ``per_page`` of an index in the sort's order
    (0098: one per sort, after ``hours``), then their posts' other columns; the total from the
    per-hour sums at the snapshot's own per_subreddit (``kept``), else counted."""
    w = Where()
    cond = _top(w, v)
    order = f"{viral.VIRAL_SORTS[sort]}, reddit_id"
    n = len(w.params)
    lim, off = w.p(per_page), w.p((page - 1) * per_page)
    found = await conn.fetch(
        "WITH k AS (SELECT reddit_id, score, num_comments, created_utc, upvote_ratio, posting_hour, "
        f"rank::bigint AS rank FROM viral_top WHERE {cond} ORDER BY {order} LIMIT {lim} OFFSET {off}) "
        f"SELECT {SNAPSHOT_COLS} FROM k JOIN reddit_posts p USING (reddit_id) "
        f"JOIN subreddits s ON s.name = p.subreddit ORDER BY {order}",
        *w.params,
    )
    if v.per_subreddit == kept:
        t = Where()
        total = await conn.fetchval(
            f"SELECT coalesce(sum(posts), 0) FROM viral_hour WHERE {' AND '.join(_filters(t, v))}", *t.params
        )
    else:
        total = await conn.fetchval(f"SELECT count(*) FROM viral_top WHERE {cond}", *w.params[:n])
    return found, int(total)


def _filters(w: Where, v: viral.Viral) -> list[str]:
    cond = [f"hours = {w.p(v.hours)}"]
    if v.sfw is not None:
        cond.append(f"over18 = {w.p(not v.sfw)}")
    if v.category:
        cond.append(f"primary_category = {w.p(v.category)}")
    return cond


async def _stats(conn: asyncpg.Connection, v: viral.Viral, kept: int) -> viral.ViralStats:
    """At the snapshot's own per_subreddit (``kept``, the dashboard's): from its per-subreddit
    and per-hour sums (``viral_sub``, ``viral_hour``: the best subreddits are the first row of an
    index, the hours a few hundred rows); else from the window's ``viral_top`` rows."""
    w = Where()
    if v.per_subreddit == kept:
        cond = " AND ".join(_filters(w, v))
        found = await conn.fetch(
            viral.best_sql(f"viral_sub WHERE {cond}", posts="posts::bigint AS posts")
            # avg(integer) is numeric sum / count: the same division here, the same float8
            + "UNION ALL SELECT 'hour', NULL, sum(posts)::bigint, (sum(sum_score)::numeric / sum(posts))::float8, "
            f"NULL, posting_hour FROM viral_hour WHERE {cond} GROUP BY posting_hour",
            *w.params,
        )
        return viral.stats_of(found)
    found = await conn.fetch(
        _viral(w, v) + ", by_sub AS (SELECT subreddit, count(*) AS posts, avg(score)::float8 AS avg_score, "
        "sum(num_comments) AS comments FROM viral GROUP BY subreddit) "
        + viral.best_sql("by_sub")
        + "UNION ALL SELECT 'hour', NULL, count(*), avg(score)::float8, NULL, posting_hour "
        "FROM viral GROUP BY posting_hour",
        *w.params,
    )
    return viral.stats_of(found)


async def viral_page(
    conn: asyncpg.Connection, v: viral.Viral, sort: str, page: int, per_page: int
) -> tuple[list[asyncpg.Record], int, datetime | None]:
    """``viral.viral_page`` (rows, total) and the ``as_of`` of the snapshot it was read from
    (None: computed live now)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        held = await _held(conn, v)
        if held is None:
            found, total = await viral.viral_page(conn, v, sort, page, per_page)
        else:
            found, total = await _page(conn, v, sort, page, per_page, held[1])
    return found, total, None if held is None else held[0]


async def viral_stats(conn: asyncpg.Connection, v: viral.Viral) -> tuple[viral.ViralStats, datetime | None]:
    """``viral.viral_stats`` and the ``as_of`` of the snapshot they were read from (None: live)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        held = await _held(conn, v)
        got = await (viral.viral_stats(conn, v) if held is None else _stats(conn, v, held[1]))
    return got, None if held is None else held[0]
