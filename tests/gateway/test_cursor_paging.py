"""Keyset paging of the four big lists: walking a list by its pages' ``next`` cursors
(``?after=``) visits every row exactly once, in the order the numbered pages give, for every
sort and order, with NULLs in the sort column, ties on it and filters; bad cursors are 422s
naming ``after``. The dataset is the module's own: the shared facts plus rows with NULL sort
values (known only by name: discovered) and rows tying the shared ones, all stored by the
persistence service from published facts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from b9_common.events import CreatorDiscovered, CreatorScraped, SubredditDiscovered, UserFetched
from b9_readmodel import creators, subreddits, users
from b9_readmodel.posts import LIST_SORTS
from gwdata import EXPECTED, subreddit
from gwenv import Env

API = "/api/v1"
KEYS = {"subreddits": "name", "users": "username", "posts": "reddit_id", "creators": "ig_user_id"}


def extra_facts() -> list[Any]:
    """Rows that tie the shared dataset's sort values, and rows whose sort values are NULL."""
    ties = []
    for i, base in ((0, 4), (1, 4), (2, 5)):  # same subscribers, score, upvotes, engagement as sub04/sub05
        fact = subreddit(base)
        fact.name = f"tie{i}"
        ties.append(fact)
    out: list[Any] = [*ties, *(SubredditDiscovered(name=f"known{i}", via_user="user_1") for i in range(4))]
    out += [UserFetched(username=f"nulls_{i}") for i in range(4)]  # every sort value NULL
    out += [
        UserFetched(username=f"tie_{i}", account_age_days=102, total_karma=2020, karma_per_day=2.0, avg_post_score=10.0)
        for i in range(3)
    ]  # as user_2
    out += [CreatorDiscovered(username=f"seen.{i}", followers_count=None) for i in range(3)]
    out += [CreatorScraped(ig_user_id=f"8{i:03d}", username=f"twin.{i}", followers_count=20_000) for i in range(3)]
    return out


MORE = {"subreddits": 3 + 4, "reddit_users": 4 + 3, "instagram_creators": 3 + 3}


@pytest.fixture(scope="module")
async def env(env: Env) -> Env:
    """The conftest's module-wide ``env`` with ``extra_facts`` stored."""
    await env.rt.publisher.publish_many(extra_facts())
    for table, n in MORE.items():
        for _ in range(300):
            if await env.pool.fetchval(f"SELECT count(*) FROM {table}") >= EXPECTED[table] + n:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{table}: the extra facts were not stored")
    return env


async def _send(env: Env, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    r = await env.client.get(path, params=params)
    while r.status_code == 429:  # the walks send more than the key's rate limit allows
        await asyncio.sleep(float(r.headers["Retry-After"]))
        r = await env.client.get(path, params=params)
    return r


async def _get(env: Env, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = await _send(env, path, params)
    assert r.status_code == 200, (path, params, r.text)
    body: dict[str, Any] = r.json()
    return body


async def walk_by_number(env: Env, path: str, params: dict[str, Any], key: str) -> tuple[list[Any], int]:
    seen: list[Any] = []
    page = 1
    while True:
        body = await _get(env, path, {**params, "page": page})
        if not body["items"]:
            return seen, body["total"]
        seen += [item[key] for item in body["items"]]
        page += 1


async def walk_by_cursor(env: Env, path: str, params: dict[str, Any], key: str) -> tuple[list[Any], list[Any]]:
    """(keys, items) of the whole list, following ``next`` from the first page."""
    body = await _get(env, path, params)
    items = list(body["items"])
    while body["next"] is not None:
        assert len(body["items"]) == params["per_page"], "next only on a full page"
        body = await _get(env, path, {**params, "after": body["next"]})
        items += body["items"]
    assert len(body["items"]) < params["per_page"] or not body["items"]
    return [item[key] for item in items], items


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name, sorts in (("subreddits", subreddits.SORTS), ("users", users.SORTS), ("creators", creators.SORTS)):
        out += [(name, {"sort": s, "order": o}) for s in sorts for o in ("desc", "asc")]
    out += [("posts", {"sort": s}) for s in LIST_SORTS]
    out += [  # filters: the cursor pages keep them
        ("subreddits", {"sort": "subscribers", "over18": "false"}),
        ("subreddits", {"sort": "score", "order": "asc", "review": "unreviewed"}),
        ("users", {"sort": "karma", "min_karma": 1000}),
        ("posts", {"sort": "comments", "content_type": "image", "min_score": 25}),
        ("creators", {"sort": "followers", "review": "pending"}),
        ("creators", {"sort": "username", "order": "asc", "min_followers": 15_000}),
        # searches: their pages are read as a deferred join (ListQuery.defer)
        ("subreddits", {"q": "fitness", "sort": "score"}),
        ("subreddits", {"q": "fitness", "sort": "engagement", "order": "asc"}),
        ("users", {"q": "user", "sort": "karma", "order": "asc"}),
        ("creators", {"q": "yoga"}),
        ("creators", {"q": "yoga", "sort": "username", "order": "asc"}),
    ]
    return out


@pytest.mark.parametrize(("name", "params"), _cases(), ids=lambda v: v if isinstance(v, str) else repr(v))
async def test_walking_next_visits_every_row_once_in_page_order(env: Env, name: str, params: dict[str, Any]) -> None:
    path, key = f"{API}/{name}", KEYS[name]
    params = {**params, "per_page": 3}
    numbered, total = await walk_by_number(env, path, params, key)
    by_cursor, _ = await walk_by_cursor(env, path, params, key)
    assert by_cursor == numbered
    assert len(set(numbered)) == len(numbered) == total > 3


@pytest.mark.parametrize(
    ("name", "sort", "field"),
    [
        ("subreddits", "score", "subreddit_score"),
        ("subreddits", "subscribers", "subscribers"),
        ("users", "karma", "total_karma"),
        ("users", "account_age", "account_age_days"),
        ("creators", "followers", "followers_count"),
        ("posts", "comments", "num_comments"),
    ],
)
async def test_the_walks_cross_ties_and_the_null_tail(env: Env, name: str, sort: str, field: str) -> None:
    """The dataset really has what the walks must get right: ties across page boundaries and
    (except posts, NOT NULL) a NULL tail longer than a page, in both orders."""
    for order in ("desc", "asc"):
        if name == "posts" and order == "asc":
            continue
        _, items = await walk_by_cursor(env, f"{API}/{name}", {"sort": sort, "order": order, "per_page": 2}, KEYS[name])
        values = [item[field] for item in items]
        nulls = values.count(None)
        assert nulls == 0 if name == "posts" else nulls > 2, (order, values)
        assert values[len(values) - nulls :] == [None] * nulls, "NULLS LAST"
        pairs = list(zip(values[1::2], values[2::2], strict=False))  # last of one page, first of the next
        assert any(a == b for a, b in pairs if a is not None), ("no tie across a page boundary", values)


async def test_bad_cursors_are_422s_naming_after(env: Env) -> None:
    first = await _get(env, f"{API}/subreddits", {"sort": "score", "per_page": 2})
    good = first["next"]
    other_sort = (await _get(env, f"{API}/subreddits", {"sort": "engagement", "per_page": 2}))["next"]
    other_order = (await _get(env, f"{API}/subreddits", {"sort": "score", "order": "asc", "per_page": 2}))["next"]
    users_next = (await _get(env, f"{API}/users", {"per_page": 2}))["next"]
    flipped = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"after": "nonsense"}, "not a cursor"),
        ({"after": "é€"}, "regex"),  # the schema's pattern: base64url
        ({"after": "a+b/c="}, "regex"),
        ({"after": ""}, "length"),
        ({"after": flipped}, "altered"),
        ({"after": good[:-3]}, "altered"),
        ({"after": other_sort}, "subreddits:engagement:desc"),
        ({"after": other_order, "sort": "score"}, "subreddits:score:asc"),
        ({"after": users_next}, "users:karma:desc"),
        ({"after": good, "page": 2}, "page"),
    ]
    for params, reason in cases:
        r = await _send(env, f"{API}/subreddits", {"sort": "score", "per_page": 2, **params})
        assert r.status_code == 422, (params, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["query", "after"] and reason in detail["msg"], (params, detail)
    ok = await _send(env, f"{API}/subreddits", {"sort": "score", "per_page": 2, "after": good, "page": 1})
    assert ok.status_code == 200 and ok.json()["items"][0]["name"] != first["items"][0]["name"]


async def test_cursor_pages_carry_the_whole_lists_total_and_next_is_documented(env: Env) -> None:
    first = await _get(env, f"{API}/posts", {"per_page": 7})
    second = await _get(env, f"{API}/posts", {"per_page": 7, "after": first["next"]})
    assert second["total"] == first["total"] == EXPECTED["reddit_posts"] and second["page"] == 1
    last = await _get(env, f"{API}/posts", {"per_page": 7, "page": first["pages"]})
    assert last["next"] is None and 0 < len(last["items"]) < 7
    spec = (await _send(env, "/openapi.json")).json()
    for name in KEYS:
        op = spec["paths"][f"{API}/{name}"]["get"]
        assert "after" in {p["name"] for p in op["parameters"]}, name
        page = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert "next" in page["required"] and "next" in page["properties"], name
