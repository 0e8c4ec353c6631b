"""The fast read path: query strings parsed by msgspec Structs (documented in OpenAPI), the
QueryRoute lists and detail pages (FastAPI's error shapes), Struct-encoded pages, and list
totals (single count per key, stale-while-revalidate, dropped after writes)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from b9_gateway.http import page_bytes
from b9_gateway.query import QueryRoute, parse_query
from b9_gateway.readlane import ReadLane
from b9_gateway.routes import subreddits
from b9_gateway.routes.posts import PostQuery
from b9_gateway.routes.subreddits import SubredditItem, SubredditQuery
from b9_gateway.sql import Totals
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from gwenv import Env


def test_query_struct_parses_like_fastapi() -> None:
    q = parse_query(SubredditQuery, b"tags=niche:cosplay&tags=body:petite&over18=true&tagged=0&page=2&x=1")
    assert q.tags == ["niche:cosplay", "body:petite"] and q.over18 is True and q.tagged is False
    assert q.page == 2 and q.sort == "score" and q.per_page == 50  # defaults, unknown keys ignored
    assert parse_query(SubredditQuery, b"sort=name&sort=subscribers").sort == "subscribers"  # last wins
    assert parse_query(PostQuery, b"").page == 1
    for qs, field in (
        (b"page=0", "page"),
        (b"sort=hot", "sort"),
        (b"over18=maybe", "over18"),
        (b"per_page=", "per_page"),
    ):
        with pytest.raises(RequestValidationError) as err:
            parse_query(SubredditQuery, qs)
        assert err.value.errors()[0]["loc"] == ("query", field), qs


async def test_list_parameters_are_documented_from_the_structs(env: Env) -> None:
    spec = (await env.client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/subreddits"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == set(SubredditQuery.__struct_fields__)
    assert all(p["in"] == "query" and p["required"] is False for p in params.values())
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1}
    assert params["sort"]["schema"]["type"] == "string" and "avg_upvotes" in params["sort"]["schema"]["enum"]
    assert params["tags"]["schema"]["type"] == "array" and params["tags"]["schema"]["maxItems"] == 20
    assert params["q"]["description"] and params["q"]["schema"]["maxLength"] == 200
    assert {"200", "401", "422"} <= set(op["responses"])
    for path in ("/api/v1/creators", "/api/v1/posts", "/api/v1/posts/viral", "/api/v1/users", "/api/v1/reels"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"page", "per_page", "sort"} <= names, path


# One valid query per list route (each with a non-default sort).
LIST_QUERIES: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/subreddits", {"review": "Ok", "sort": "subscribers", "per_page": 4, "page": 2}),
        ("/api/v1/creators", {"sort": "engagement", "order": "asc"}),
        ("/api/v1/posts", {"content_type": "image", "sort": "comments", "per_page": 7}),
        ("/api/v1/users", {"sort": "username"}),
        ("/api/v1/reels", {"sort": "likes"}),
]


async def test_struct_routes_validate_like_fastapi(env: Env) -> None:
    gets = {r.path: r for r in subreddits.router.routes if isinstance(r, APIRoute) and "GET" in r.methods}
    assert isinstance(gets["/subreddits"], QueryRoute) and gets["/subreddits/{name}"].query_spec is not None
    queries = [*LIST_QUERIES, ("/api/v1/subreddits/sub00", {"history": 3})]
    got = [await env.client.get(p, params=q) for p, q in queries]
    assert [r.status_code for r in got] == [200] * len(queries)
    assert len(got[0].json()["items"]) <= 4 and got[-1].json()["subreddit"]["name"] == "sub00"
    for path, query, loc in (
        ("/api/v1/subreddits", {"page": 0}, ["query", "page"]),
        ("/api/v1/subreddits/not-a-name", {}, ["path", "name"]),
        ("/api/v1/users/u", {"posts": 501}, ["query", "posts"]),
        ("/api/v1/creators/1", {"media": -1}, ["query", "media"]),
    ):
        bad = await env.client.get(path, params=query)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == loc, path
    for path in ("/api/v1/subreddits", "/api/v1/subreddits/sub00"):
        unauth = await env.anon.get(path)
        assert unauth.status_code == 401 and unauth.headers["www-authenticate"] == "Bearer"


def _lane(app: Any) -> ReadLane:
    layer = app.middleware_stack
    while not isinstance(layer, ReadLane):
        layer = layer.app
    return layer


async def test_read_lane_answers_exactly_as_fastapi_routing(env: Env) -> None:
    await env.client.get("/api/v1/overview")  # the middleware stack is built on the first request
    lane = _lane(env.client._transport.app)  # type: ignore[attr-defined]
    assert "/api/v1/subreddits" in lane.exact and [t[2] for t in lane.templates] == [
        "/api/v1/subreddits/{name}", "/api/v1/users/{username}", "/api/v1/creators/{key}"]
    queries = [
        *LIST_QUERIES,
        ("/api/v1/subreddits", {"page": 0}),
        ("/api/v1/subreddits/sub00", {"history": 2}),
        ("/api/v1/subreddits/nope", {}),
        ("/api/v1/subreddits/not-a-name", {}),
        ("/api/v1/creators/related/status", {}),
    ]
    fast = [await env.client.get(p, params=q) for p, q in queries]
    exact, templates = lane.exact, lane.templates
    lane.exact, lane.templates = {}, []  # FastAPI's own routing -> QueryRoute.handle
    try:
        slow = [await env.client.get(p, params=q) for p, q in queries]
    finally:
        lane.exact, lane.templates = exact, templates
    for (path, _), a, b in zip(queries, fast, slow, strict=True):
        assert (a.status_code, a.content) == (b.status_code, b.content), path
    assert [r.status_code for r in fast[5:9]] == [422, 200, 404, 422]


async def test_pages_are_encoded_through_the_item_structs(env: Env) -> None:
    r = await env.client.get("/api/v1/subreddits", params={"sort": "name", "order": "asc", "per_page": 2})
    item = r.json()["items"][0]
    assert list(item) == list(SubredditItem.__struct_fields__) and item["name"] == "sub00"

    class Pair(msgspec.Struct):
        two: int
        one: int

    row = await env.pool.fetchrow("SELECT 1 AS one, 2 AS two")
    with pytest.raises(RuntimeError, match="do not match"):  # checked on the first row
        page_bytes(Pair, [row], 1, 1, 50)


async def test_list_total_follows_a_write_at_once_and_cookies_work(fresh: Env) -> None:
    params = {"review": "Ok", "per_page": 2}
    assert (await fresh.client.get("/api/v1/subreddits", params=params)).json()["total"] == 6
    r = await fresh.client.put("/api/v1/subreddits/sub09/review", json={"review": "Ok"})
    assert r.status_code == 200
    assert (await fresh.client.get("/api/v1/subreddits", params=params)).json()["total"] == 7
    # the session cookie is accepted on the fast path too
    assert (await fresh.anon.get("/api/v1/creators")).status_code == 401
    r = await fresh.anon.post("/api/v1/login", json={"key": fresh.settings.gateway_api_key})
    assert r.status_code == 200
    assert (await fresh.anon.get("/api/v1/creators")).status_code == 200


class _Counter:
    def __init__(self, values: list[int], delay: float = 0.05) -> None:
        self.values, self.delay, self.calls = values, delay, 0

    async def __call__(self) -> int:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.values[min(self.calls - 1, len(self.values) - 1)]


async def test_totals_single_flight_stale_while_revalidate_and_invalidation() -> None:
    totals = Totals()
    count = _Counter([10, 11, 12, 13])
    key = ("t", "cond")
    assert await asyncio.gather(*(totals.get(key, count) for _ in range(20))) == [10] * 20
    assert count.calls == 1  # one count for a herd of identical requests
    assert await totals.get(key, count) == 10 and count.calls == 1  # fresh
    totals._values[key] = (10, 0.0, 2.0)  # make it stale (but younger than MAX_STALE)
    totals.MAX_STALE = float("inf")
    assert await totals.get(key, count) == 10  # stale value at once...
    await asyncio.sleep(0.1)
    assert count.calls == 2 and await totals.get(key, count) == 11  # ...refreshed behind it
    slow = asyncio.create_task(totals.get(("t", "other"), _Counter([1], delay=0.2)))
    await asyncio.sleep(0.01)  # its count is under way
    totals.invalidate()  # a write: nothing cached survives, a count started before it is not kept
    assert await totals.get(key, count) == 12 and count.calls == 3
    assert await slow == 1 and ("t", "other") not in totals._values
    assert totals.ttl(0.001) == Totals.MIN_TTL and totals.ttl(0.15) == 15.0 and totals.ttl(5) == Totals.MAX_TTL
