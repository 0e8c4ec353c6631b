"""The post analysis routes read the viral snapshot persistence keeps (migration 0098) when it
holds the request, with the time it was taken (``as_of``), and compute live otherwise
(``as_of`` null): the same answers either way for an unchanged read model."""

from __future__ import annotations

from typing import Any

from gwenv import Env

ASKS: list[dict[str, Any]] = [
    {"hours": 72, "per_page": 200},
    {"hours": 24, "per_page": 5, "page": 2, "sort": "comments"},
    {"hours": 720, "per_subreddit": 2, "sfw": "true", "per_page": 200, "sort": "ratio"},
    {"hours": 168, "per_page": 200, "sort": "recent"},
]
STATS: list[dict[str, Any]] = [{}, {"hours": 720, "sfw": "true"}, {"hours": 24, "per_subreddit": 1}]


async def _get(env: Env, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = await env.client.get(f"/api/v1/posts/{path}", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_viral_routes_read_the_snapshot_and_say_when_it_was_taken(env: Env) -> None:
    live = [await _get(env, "viral", p) for p in ASKS]
    live_stats = [await _get(env, "viral/stats", p) for p in STATS]
    assert all(b["as_of"] is None for b in live + live_stats)
    assert live[0]["total"] == 18 and live_stats[0]["total_posts"] == 18
    try:
        assert await env.pool.fetchval("SELECT viral_refresh(0)") > 0
        as_of = (await env.pool.fetchval("SELECT min(as_of) FROM viral_snapshot")).isoformat()
        for params, want in zip(ASKS, live, strict=True):
            got = await _get(env, "viral", params)
            assert got["as_of"] is not None and got["as_of"][:19] == as_of[:19]
            assert {k: v for k, v in got.items() if k != "as_of"} == {k: v for k, v in want.items() if k != "as_of"}
        for params, want in zip(STATS, live_stats, strict=True):
            got = await _get(env, "viral/stats", params)
            assert got["as_of"] is not None
            assert {k: v for k, v in got.items() if k != "as_of"} == {k: v for k, v in want.items() if k != "as_of"}
        # not held by the snapshot: live
        for params in ({"q": "post"}, {"subreddit": "sub01"}, {"per_subreddit": 4}, {"hours": 48}):
            assert (await _get(env, "viral", params))["as_of"] is None
        assert (await _get(env, "viral/stats", {"per_subreddit": 5}))["as_of"] is None
    finally:
        await env.pool.fetchval("SELECT viral_refresh(1000000)")  # no snapshot kept
    assert (await _get(env, "viral", ASKS[0]))["as_of"] is None
