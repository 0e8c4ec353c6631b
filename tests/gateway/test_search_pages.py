"""Text searches (subreddits, creators) and name prefixes (users) are paged as a deferred join from
page 1 (``ListQuery.defer``, indexes of migration 0097): every page and total is exactly what
the plain filter's ``LIMIT/OFFSET`` query answers, whichever plan PostgreSQL picks (the index
walks are forced too), in every sort, both orders, with ties and NULL sort values."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest
from b9_gateway.sql import paged
from b9_readmodel import creators, subreddits, users
from b9_readmodel.sql import ListQuery, Where, page_sql

WORDS = ("yoga", "cats", "dogs", "fit", "about", "the", "girls")
# The planner's own choice, then the index walks (and index-only scans) forced on a small table.
PLANS: tuple[dict[str, str], ...] = ({}, {"enable_seqscan": "off", "enable_bitmapscan": "off", "enable_sort": "off"})


async def _seed(pool: asyncpg.Pool) -> None:
    r = random.Random(22)
    text = lambda n: " ".join(r.choice(WORDS) for _ in range(n))  # noqa: E731
    await pool.executemany(
        "INSERT INTO subreddits (name, title, public_description, subreddit_score, subscribers) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (
                f"{r.choice(['Yoga', 'yo', 'cat', 'x_'])}{i}",
                text(2),
                text(6),
                r.choice([None, 0.0, 1.5, float(i)]),
                r.choice([None, 10, i]),
            )
            for i in range(80)
        ],
    )
    await pool.executemany(
        "INSERT INTO reddit_users (username, total_karma, karma_per_day) VALUES ($1, $2, $3)",
        [
            (f"{r.choice(['gym_hub', 'Gym_Hub', 'gymahub', 'gy'])}{i}", r.choice([None, 5, i]), r.choice([None, 1.0]))
            for i in range(80)
        ],
    )
    await pool.executemany(
        "INSERT INTO instagram_creators (ig_user_id, username, full_name, biography, followers_count) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (f"id{i:03d}", f"{r.choice(['fitness.', 'Fit', 'yoga_'])}{i}", text(2), text(5), r.choice([None, 100, i]))
            for i in range(80)
        ],
    )
    await pool.execute("ANALYZE subreddits, reddit_users, instagram_creators")


def _subreddits(q: str, sort: str, order: str) -> ListQuery:
    w = Where()
    subreddits.filters(w, None, None, "any", None, None, None, None, None, None, q)
    return subreddits.subreddit_list(w, sort, order)


def _creators(q: str, sort: str, order: str) -> ListQuery:
    return creators.creator_list(None, None, None, None, None, None, None, None, q, sort, order)


def _users(q: str, sort: str, order: str) -> ListQuery:
    return users.user_list(q, None, None, None, None, None, sort, order)


LISTS = {
    "subreddits": (
        _subreddits,
        ("yoga", "yo", "cats dogs", '"about yoga"', "-yoga", "x_", "zzz"),
        ("score", "subscribers", "name"),
    ),
    "creators": (_creators, ("fitness", "@fit", "yoga girls", "zzz"), ("followers", "username")),
    "users": (_users, ("gym_hub", "gy", "GYM", "zzz"), ("karma", "karma_per_day", "username")),
}


async def _plain(conn: asyncpg.Connection, lq: ListQuery, page: int, per_page: int) -> list[Any]:
    """The page as the plain filter reads it: LIMIT/OFFSET, no deferred join."""
    where = Where()
    where.params, where.clauses = list(lq.where.params), list(lq.where.clauses)
    cond, lim, off = where.sql(), where.p(per_page), where.p((page - 1) * per_page)
    sql = page_sql(lq.select, lq.from_, cond, lq.order, lim, off, None)
    return [tuple(r) for r in await conn.fetch(sql, *where.params)]


async def _expected(pool: asyncpg.Pool, name: str, q: str) -> set[str] | None:
    """The keys a single-word search or a name prefix must find, computed here (None: not computed)."""
    if name == "subreddits" and q in ("yoga", "yo", "zzz"):
        rows = await pool.fetch("SELECT name, title, public_description FROM subreddits")
        return {r["name"] for r in rows if r["name"].lower().startswith(q) or q in " ".join(r).lower().split()}
    if name == "users":
        names = await pool.fetchval("SELECT array_agg(username) FROM reddit_users")
        return {u for u in names if u.lower().startswith(q.lower())}
    return None


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_search_pages_are_the_plain_filters_pages(pool: asyncpg.Pool, database_url: str, name: str) -> None:
    await _seed(pool)
    make, searches, sorts = LISTS[name]
    planned = [await asyncpg.create_pool(database_url, min_size=1, max_size=2, server_settings=p) for p in PLANS]
    try:
        for q, sort, order in ((q, s, o) for q in searches for s in sorts for o in ("desc", "asc")):
            assert make(q, sort, order).defer, "a search is read as a deferred join"
            want: list[list[Any]] = []
            async with pool.acquire() as conn:
                while not want or want[-1]:
                    want.append(await _plain(conn, make(q, sort, order), len(want) + 1, 7))
            expected = await _expected(pool, name, q)
            if expected is not None:
                assert {row[0] if name != "creators" else row[1] for page in want for row in page} == expected, q
            if q != "zzz":
                assert len(want) > 2, f"{q!r} must span pages"
            for plan in planned:
                got = []
                for page in range(1, len(want) + 1):
                    rows, total = await paged(plan, make(q, sort, order), page, 7)
                    got.append([tuple(r) for r in rows])
                    assert total == sum(map(len, want)), (q, sort, order, page)
                assert got == want, (q, sort, order)
    finally:
        for p in planned:
            await p.close()
