"""Viral posts (top N per 'Ok' subreddit in a window, b9_readmodel.viral) against a plain
reference computed here from the inserted rows: score ties broken by reddit_id, posts just inside
and just outside the window, zero and negative scores, subreddits not 'Ok', the filters, every
sort and page, and the stats (best subreddits with tied means, best hour)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from b9_readmodel import viral

SUBS = [  # name, review, over18, primary_category
    ("alpha", "Ok", False, "fitness"),
    ("beta", "Ok", True, "fitness"),
    ("gamma", "Ok", False, "art"),
    ("delta", None, False, "art"),
    ("eps", "Banned", False, "art"),
    ("zeta", "Ok", True, None),
    ("eta", "Ok", False, "art"),
    ("theta", "Ok", False, "art"),
]
POST = (
    "INSERT INTO reddit_posts (reddit_id, subreddit, title, score, num_comments, upvote_ratio, created_utc,"
    " content_type, posting_hour, posting_day_of_week, listing, fact_at, fact_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, 'image', $8, 1, 'new', now(), $1)"
)
HOURS = 24


def _posts() -> list[dict[str, Any]]:
    """Scores drawn from few values (many ties), ages around the 24 h edge, some ratios NULL."""
    r = random.Random(22)
    out = []
    for i in range(400):
        sub = SUBS[i % len(SUBS)][0] if i % 11 else "alpha"
        edge = 3600.0 * HOURS  # random ages keep 10 minutes off it: the test must not race the clock
        age = r.choice([60.0, edge - 120, edge + 120, r.uniform(0, edge - 600), r.uniform(edge + 600, 2 * edge)])
        ratio = None if i % 13 == 0 else r.choice([0.5, 0.75, 0.9])
        out.append(
            {
                "reddit_id": f"p{i:04d}",
                "subreddit": sub,
                "title": r.choice(["red cat", "blue dog", "cat nap"]),
                "score": r.choice([-3, 0, 1, 5, 5, 9, 20, 20, 40]),
                "num_comments": r.randrange(0, 30),
                "upvote_ratio": ratio,
                "age": age,
                "posting_hour": r.randrange(0, 24),
            }
        )
    # theta: its best post just outside the window; eta: two of its best tied on all but the key
    out += [
        {
            "reddit_id": "q1",
            "subreddit": "theta",
            "title": "x",
            "score": 99,
            "num_comments": 1,
            "upvote_ratio": 0.5,
            "age": 3600.0 * HOURS + 600,
            "posting_hour": 3,
        }
    ]
    out += [
        {
            "reddit_id": k,
            "subreddit": "eta",
            "title": "x",
            "score": 7,
            "num_comments": 2,
            "upvote_ratio": 0.5,
            "age": 30.0,
            "posting_hour": 4,
        }
        for k in ("e2", "e1")
    ]
    return out


def _reference(
    posts: list[dict[str, Any]],
    n: int,
    sfw: bool | None = None,
    category: str | None = None,
    q: str | None = None,
    hours: int = HOURS,
) -> list[dict[str, Any]]:
    ok = {
        s: over18
        for s, review, over18, cat in SUBS
        if review == "Ok" and (sfw is None or over18 != sfw) and (category is None or cat == category)
    }
    out = []
    for sub in ok:
        mine = [
            p
            for p in posts
            if p["subreddit"] == sub
            and p["age"] < 3600 * hours
            and p["score"] > 0
            and (q is None or q in p["title"].split())
        ]
        mine.sort(key=lambda p: (-p["score"], p["reddit_id"]))
        out += [p | {"rank": i + 1} for i, p in enumerate(mine[:n])]
    return out


def _sorted(rows: list[dict[str, Any]], sort: str) -> list[str]:
    keys = {
        "score": lambda p: (-p["score"], p["reddit_id"]),
        "comments": lambda p: (-p["num_comments"], p["reddit_id"]),
        "recent": lambda p: (p["age"], p["reddit_id"]),
        "ratio": lambda p: (p["upvote_ratio"] is None, -(p["upvote_ratio"] or 0), p["reddit_id"]),
    }
    return [p["reddit_id"] for p in sorted(rows, key=keys[sort])]


def assert_stats(got: viral.ViralStats, want: list[dict[str, Any]]) -> None:
    """``got`` are the stats of the viral posts ``want`` (plain aggregates; ties to the greater name)."""
    subs: dict[str, list[dict[str, Any]]] = {}
    hours: dict[int, list[int]] = {}
    for p in want:
        subs.setdefault(p["subreddit"], []).append(p)
        hours.setdefault(p["posting_hour"], []).append(p["score"])
    by_sub = [
        {
            "subreddit": s,
            "posts": len(v),
            "avg_score": sum(p["score"] for p in v) / len(v),
            "comments": sum(p["num_comments"] for p in v),
        }
        for s, v in subs.items()
    ]
    assert got.total == len(want)
    assert got.best_by_avg_score == max(by_sub, key=lambda s: (s["avg_score"], s["subreddit"]), default=None)
    assert got.best_by_comments == max(by_sub, key=lambda s: (s["comments"], s["subreddit"]), default=None)
    assert [(r["hour"], r["posts"], r["avg_score"]) for r in got.by_hour] == [
        (h, len(v), sum(v) / len(v)) for h, v in sorted(hours.items())
    ]


async def _load(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    await pool.executemany(
        "INSERT INTO subreddits (name, review, over18, primary_category, tags) VALUES ($1, $2, $3, $4, '{t}')", SUBS
    )
    posts, now = _posts(), datetime.now(UTC)  # the window's edge is 2 minutes from the posts beside it
    await pool.executemany(
        POST,
        [
            (
                p["reddit_id"],
                p["subreddit"],
                p["title"],
                p["score"],
                p["num_comments"],
                p["upvote_ratio"],
                now - timedelta(seconds=p["age"]),
                p["posting_hour"],
            )
            for p in posts
        ],
    )
    return posts


async def test_viral_pages_equal_the_plain_top_n_per_ok_subreddit(pool: asyncpg.Pool) -> None:
    posts = await _load(pool)
    async with pool.acquire() as conn:
        for n, sfw, category, q in [
            (3, None, None, None),
            (1, True, None, None),
            (5, None, "art", None),
            (2, False, None, "cat"),
            (50, None, None, None),
        ]:
            want = _reference(posts, n, sfw, category, q)
            assert want  # every case has an answer to compare
            for sort in viral.VIRAL_SORTS:
                got: list[asyncpg.Record] = []
                for page in range(1, 100):
                    found, total = await viral.viral_page(
                        conn, viral.Viral(HOURS, n, sfw, category, q=q), sort, page, 7
                    )
                    assert total == len(want), (n, sfw, category, q, sort)
                    if not found:
                        break
                    got += found
                assert [r["reddit_id"] for r in got] == _sorted(want, sort), (n, sfw, category, q, sort)
            ranks = {p["reddit_id"]: p["rank"] for p in want}
            assert {r["reddit_id"]: r["rank"] for r in got} == ranks
        found, total = await viral.viral_page(conn, viral.Viral(HOURS, 2, subreddit="ETA"), "score", 1, 10)
    eta = [(p["reddit_id"], p["rank"], ["t"], False) for p in _reference(posts, 2) if p["subreddit"] == "eta"]
    assert [(r["reddit_id"], r["rank"], r["sub_tags"], r["sub_over18"]) for r in found] == eta and total == 2


async def test_viral_stats_equal_the_plain_aggregates(pool: asyncpg.Pool) -> None:
    posts = await _load(pool)
    async with pool.acquire() as conn:
        for n, sfw, category in [(3, None, None), (1, None, "art"), (4, True, None)]:
            want = _reference(posts, n, sfw, category)
            assert want
            assert_stats(await viral.viral_stats(conn, viral.Viral(HOURS, n, sfw, category)), want)
        await conn.execute("UPDATE subreddits SET review = NULL")
        empty = await viral.viral_stats(conn, viral.Viral(HOURS, 3))
    assert (empty.total, empty.best_by_avg_score, empty.best_by_comments, empty.by_hour) == (0, None, None, [])


async def test_viral_stats_ties_go_to_the_greater_name(pool: asyncpg.Pool) -> None:
    await pool.executemany("INSERT INTO subreddits (name, review) VALUES ($1, 'Ok')", [("Bb",), ("aa",), ("b",)])
    now = datetime.now(UTC)
    await pool.executemany(
        "INSERT INTO reddit_posts (reddit_id, subreddit, title, score, num_comments, created_utc, content_type,"
        " posting_hour, posting_day_of_week, listing, fact_at, fact_id) VALUES ($1, $2, '', $3, $4, $5, 'image',"
        " $6, 1, 'new', now(), $1)",
        [
            ("x1", "Bb", 10, 5, now - timedelta(hours=1), 2),
            ("x2", "aa", 10, 5, now, 2),
            ("x3", "b", 4, 1, now, 7),
            ("x4", "b", 16, 4, now, 7),
        ],
    )
    async with pool.acquire() as conn:
        got = await viral.viral_stats(conn, viral.Viral(2, 3))
    # Python's max over (value, name): "b" > "aa" > "Bb" by code point, whatever the database collation
    assert (got.best_by_avg_score or {})["subreddit"] == "b" and (got.best_by_comments or {})["subreddit"] == "b"
    assert [(r["hour"], r["posts"], r["avg_score"]) for r in got.by_hour] == [(2, 2, 10.0), (7, 2, 10.0)]
