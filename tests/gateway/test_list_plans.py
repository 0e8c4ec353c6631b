"""List sorts are read in index order (no sort node in the plan: a deep page costs an index
walk, not a sort of everything before it), and deep pages, read as a deferred join, answer
exactly what plain LIMIT/OFFSET pages answer. At full scale posts page 10,000 took 1.1-1.4 s
before migration 0093 and the deferred join, ~25 ms after."""

from __future__ import annotations

import json
from typing import Any

import pytest
from b9_gateway import sql
from b9_readmodel import creators, posts, subreddits, users
from b9_readmodel.posts import LIST_SORTS, POST_COLS
from b9_readmodel.sql import ListQuery, Where, first_sql, keyset_sql, page_sql
from gwenv import Env


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for p in plan.get("Plans", []) for n in _nodes(p))]


POSTS = [(POST_COLS, "reddit_posts", LIST_SORTS[s], "") for s in sorted(LIST_SORTS)]
USERS = [  # descending, as the route orders them by default
    (users.LIST_COLS, "reddit_users", f"{c} DESC NULLS LAST, username" if c != "username" else "username DESC", "")
    for c in users.SORTS.values()
]
CASES = [*POSTS, *USERS, (POST_COLS, "reddit_posts", LIST_SORTS["score"], " WHERE content_type = 'image'")]


@pytest.mark.parametrize(("cols", "table", "order", "where"), CASES)
async def test_list_pages_come_from_an_index_in_order(env: Env, cols: str, table: str, order: str, where: str) -> None:
    async with env.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # the test table is small
        await conn.execute("SET LOCAL enable_sort = off")  # a plan that must sort still does
        explained = await conn.fetchval(
            f"EXPLAIN (FORMAT JSON) SELECT {cols} FROM {table}{where} ORDER BY {order} LIMIT 50 OFFSET 1000"
        )
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    nodes = _nodes(plan)
    assert not {"Sort", "Incremental Sort"} & set(nodes), (order, where, nodes)


LISTS = [
    *(f"/api/v1/posts?sort={s}" for s in sorted(LIST_SORTS)),
    "/api/v1/posts?content_type=image",
    "/api/v1/users?sort=karma_per_day",
    "/api/v1/users?sort=username&order=asc",
    "/api/v1/subreddits?sort=subscribers",
    "/api/v1/subreddits?sort=name&order=asc&over18=false",
]


@pytest.mark.parametrize("path", LISTS)
async def test_deep_pages_answer_exactly_as_plain_offset_pages(
    env: Env, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages past ``DEFER_OFFSET`` are read as a deferred join: the same rows in the same order
    (and the same bytes) as the plain ``LIMIT/OFFSET`` query, on every page of the list."""
    pages = []
    for deep_from in (10**9, 0):  # plain everywhere, then deferred everywhere
        monkeypatch.setattr(sql, "DEFER_OFFSET", deep_from)
        got = []
        for page in range(1, 6):
            r = await env.client.get(f"{path}&per_page=2&page={page}")
            assert r.status_code == 200, r.text
            got.append(r.content)
        pages.append(got)
    assert pages[0] == pages[1]
    assert len({p for p in pages[0]}) > 2, "the list must have several distinct pages"


def _list(name: str, sort: str, order: str) -> ListQuery:
    if name == "subreddits":
        return subreddits.subreddit_list(Where(), sort, order)
    if name == "users":
        return users.user_list(None, None, None, None, None, None, sort, order)
    if name == "posts":
        return posts.post_list(None, None, None, None, None, sort)
    return creators.creator_list(None, None, None, None, None, None, None, None, None, sort, order)


KEYSET = [
    *((n, s, o) for n, m in (("subreddits", subreddits), ("users", users), ("creators", creators))
      for s in m.SORTS for o in ("desc", "asc")),
    *(("posts", s, "desc") for s in LIST_SORTS),
]


@pytest.mark.parametrize(("name", "sort", "order"), KEYSET)
async def test_cursor_pages_are_index_ranges_in_order(env: Env, name: str, sort: str, order: str) -> None:
    """A page after a row (``keyset_sql``), and the first page of an ascending order of a nullable
    column (``first_sql``), read each of their ranges from an index in the list's order: no sort
    below the one ordering the page's few rows, no scan of the table (ascending orders read the
    index backwards and sort only within ties: an incremental sort)."""
    q = _list(name, sort, order)
    sk = q.sort
    assert sk is not None
    async with env.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # the test tables are small
        await conn.execute("SET LOCAL enable_sort = off")
        row = await conn.fetchrow(page_sql(q.select, q.from_, "", q.order, "1", "1", None))
        value = row[sk.field] if sk.col is not None else None
        args = [50, *([value] if value is not None else []), row[sk.key]]
        sql = keyset_sql(q.select, q.from_, "", sk, "$1", "$2" if value is not None else None, f"${len(args)}")
        plans = [(sql, await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))]
        if sk.col is not None and sk.nullable and order == "asc":
            first = first_sql(q.select, q.from_, "", sk, "50")
            plans.append((first, await conn.fetchval(f"EXPLAIN (FORMAT JSON) {first}")))
    for sql, explained in plans:
        plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
        nodes = _nodes(plan)
        assert "Seq Scan" not in nodes and any("Index" in n for n in nodes), (sql, nodes)
        assert order == "asc" or "Incremental Sort" not in nodes, (sql, nodes)
        assert all(kind in _BOUNDED for kind in _sorted_inputs(plan)), (sql, nodes)


# What a Sort may read: a range's LIMITed rows, or the ranges (Append, Merge Append) of one page.
_BOUNDED = {"Limit", "Append", "Merge Append", "Subquery Scan"}


def _sorted_inputs(plan: dict[str, Any]) -> list[str]:
    """The node types a (full) Sort of ``plan`` reads from."""
    here = [p["Node Type"] for p in plan.get("Plans", [])] if plan["Node Type"] == "Sort" else []
    return here + [t for p in plan.get("Plans", []) for t in _sorted_inputs(p)]
