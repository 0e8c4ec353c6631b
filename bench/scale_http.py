"""bench_scale's HTTP side: the endpoints measured at a scale, and the bare msgspec + asyncpg
ASGI app that answers the same paths and query strings with the same SQL (built from
``b9_readmodel`` as the gateway's routes build it), the gateway's pool and Struct encoding.

Lists: subreddits, users, posts and creators, the default order and each sort: the first page
and a deep page by cursor (``?after=``: the page after the row 90 % of the way through, read
as an index range); for the default order also the deep page by number (``offset page N``,
90 % through within each list's page limit: OFFSET, linear in N); search (subreddits,
creators: text; users: name prefix); the detail pages of the largest subreddit, user and
creator; the overview (the gateway caches it for a few seconds and adds the streams' state;
the bare endpoint runs its SQL on every request).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

import msgspec
from bench_gateway import bare_lifespan

API = "/api/v1"
SORTS = {  # list -> (its sorts, page limit); the first sort is the default
    "subreddits": (("score", "avg_upvotes", "engagement", "subscribers", "last_scraped", "name"), 100_000),
    "users": (("karma", "karma_per_day", "avg_post_score", "account_age", "last_scraped", "username"), 100_000),
    "posts": (("score", "recent", "comments"), 10_000),
    "creators": (("followers", "engagement", "discovered", "last_scraped", "avg_reel_views", "growth", "username"),
                 100_000),
}
TABLES = {"subreddits": "subreddits", "users": "reddit_users", "posts": "reddit_posts",
          "creators": "instagram_creators"}


async def _cursor(conn: Any, name: str, sort: str, row_no: int) -> str:
    """The ``after`` cursor of row ``row_no`` (0-based) of list ``name`` in ``sort`` (descending)."""
    from b9_gateway import cursor
    from b9_readmodel.sql import page_sql

    _, query = _list(name, {"sort": [sort]})
    sql = page_sql(query.select, query.from_, "", query.order, "1", str(row_no), query.key)
    row = await conn.fetchrow(sql)
    assert row is not None, (name, sort, row_no)
    return str(cursor.encode(query.sort, row))


async def endpoints(conn: Any, quick: bool = False) -> list[tuple[str, str]]:
    """(label, path with query) of every endpoint measured, chosen from the data loaded."""
    out: list[tuple[str, str]] = []
    for name, (sorts, limit) in SORTS.items():
        total = await conn.fetchval(f"SELECT count(*) FROM {TABLES[name]}")
        deep = max(2, min(limit, int(total * 0.9) // 50))
        for i, sort in enumerate(sorts[:1] if quick else sorts):
            label = f"{name} list, {'default (' + sort + ')' if i == 0 else 'sort ' + sort}"
            query = {} if i == 0 else {"sort": sort}
            out.append((f"{label}, page 1", f"{API}/{name}?{urlencode({**query, 'per_page': 50})}"))
            if i == 0:
                qs = urlencode({**query, "page": deep, "per_page": 50})
                out.append((f"{label}, offset page {deep:,}", f"{API}/{name}?{qs}"))
            after = await _cursor(conn, name, sort, max(0, int(total * 0.9) - 1))
            qs = urlencode({**query, "after": after, "per_page": 50})
            out.append((f"{label}, deep page by cursor", f"{API}/{name}?{qs}"))
    out += [
        ("search subreddits (text)", f"{API}/subreddits?q=yoga&per_page=50"),
        ("search creators (text)", f"{API}/creators?q=fitness&per_page=50"),
        ("search users (name prefix)", f"{API}/users?q=gym_hub&per_page=50"),
    ]
    sub = await conn.fetchval("SELECT name FROM subreddits ORDER BY subscribers DESC NULLS LAST LIMIT 1")
    user = await conn.fetchval("SELECT username FROM reddit_users ORDER BY total_karma DESC NULLS LAST LIMIT 1")
    creator = await conn.fetchval(
        "SELECT ig_user_id FROM instagram_creators ORDER BY followers_count DESC NULLS LAST LIMIT 1")
    out += [
        ("subreddit detail", f"{API}/subreddits/{sub}"),
        ("user detail", f"{API}/users/{user}"),
        ("creator detail", f"{API}/creators/{creator}"),
        ("overview", f"{API}/overview"),
    ]
    return out


# -- the bare app ---------------------------------------------------------------------------
def _one(qs: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    return qs[key][0] if key in qs else default


def _list(kind: str, qs: dict[str, list[str]]) -> tuple[Any, Any]:
    """(Struct, ListQuery) as the gateway's list route builds them for these parameters."""
    from b9_gateway.routes.creators import CreatorItem
    from b9_gateway.routes.posts import PostItem
    from b9_gateway.routes.subreddits import SubredditItem
    from b9_gateway.routes.users import UserItem
    from b9_readmodel import creators, posts, subreddits, users
    from b9_readmodel.sql import Where

    sort = _one(qs, "sort", SORTS[kind][0][0]) or ""
    order, q = _one(qs, "order", "desc") or "desc", _one(qs, "q")
    if kind == "subreddits":
        w = Where()
        subreddits.filters(w, _one(qs, "review"), None, "any", None, None, None, None, None, None, q)
        return SubredditItem, subreddits.subreddit_list(w, sort, order)
    if kind == "users":
        return UserItem, users.user_list(q.strip() if q else None, None, None, None, None, None, sort, order)
    if kind == "posts":
        return PostItem, posts.post_list(None, None, _one(qs, "content_type"), None, None, sort)
    return CreatorItem, creators.creator_list(_one(qs, "review"), None, None, None, None, None, None, None, q,
                                              sort, order)


async def _detail(pool: Any, kind: str, key: str) -> Any:
    """The queries of the gateway's detail route, the rows as dicts (no shaping)."""
    from b9_readmodel import creators, media, models, subreddits, users

    async with pool.acquire() as conn:
        if kind == "subreddits":
            row = await subreddits.subreddit(conn, key)
            if row is None:
                return None
            return {"subreddit": {k: v for k, v in dict(row).items() if k != "search"},
                    "history": [dict(r) for r in await subreddits.snapshots(conn, row["name"], 90)],
                    "top_posts": [dict(r) for r in await subreddits.recent_posts(conn, row["name"])]}
        if kind == "users":
            row = await users.user(conn, key)
            if row is None:
                return None
            found = await users.user_posts(conn, row["username"], 50)
            model = await models.model_brief(conn, row["model_id"]) if row["model_id"] is not None else None
            return {"user": dict(row), "model": dict(model) if model else None, "posts": [dict(r) for r in found]}
        row = await creators.creator(conn, key)
        if row is None:
            return None
        uid = row["ig_user_id"]
        return {"creator": {k: v for k, v in dict(row).items() if k != "search"},
                "follower_history": [dict(r) for r in await creators.follower_history(conn, uid)],
                "reels": [dict(r) for r in await media.creator_media(conn, uid, "reel", 30)],
                "posts": [dict(r) for r in await media.creator_media(conn, uid, "post", 30)],
                "media": [dict(r) for r in await media.creator_assets(conn, uid)]}


async def _overview(pool: Any) -> Any:
    from dataclasses import fields

    from b9_readmodel.overview import overview

    async with pool.acquire() as conn:
        got = await overview(conn)
    out: dict[str, Any] = {}
    for f in fields(got):
        v = getattr(got, f.name)
        out[f.name] = [dict(r) for r in v] if isinstance(v, list) else dict(v) if hasattr(v, "keys") else v
    return out


def bare_app() -> Any:
    """Raw ASGI: the same SQL as the gateway, no framework, no auth, no validation."""
    from b9_gateway.http import page_bytes
    from b9_gateway.sql import listing

    state: dict[str, Any] = {}
    enc = msgspec.json.Encoder()

    async def respond(send: Any, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await bare_lifespan(receive, send, state)
            return
        pool = state["pool"]
        parts = scope["path"].removeprefix(API + "/").split("/")
        if parts == ["overview"]:
            await respond(send, 200, enc.encode(await _overview(pool)))
            return
        if len(parts) == 2 and parts[0] in SORTS:
            found = await _detail(pool, parts[0], parts[1])
            await respond(send, 200 if found is not None else 404, enc.encode(found))
            return
        if len(parts) != 1 or parts[0] not in SORTS:
            await respond(send, 404, b"null")
            return
        qs = parse_qs(scope["query_string"].decode())
        struct, query = _list(parts[0], qs)
        page, per_page = int(_one(qs, "page", "1") or 1), int(_one(qs, "per_page", "50") or 50)
        items, total, nxt = await listing(pool, query, page, per_page, _one(qs, "after"))
        await respond(send, 200, page_bytes(struct, items, total, page, per_page, next=nxt))

    return app
