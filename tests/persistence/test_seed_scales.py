"""`b9 seed --scale 3x|10x|<factor>x`: the sizes the scale benchmark loads, a factor scale stored
end to end, and a generator whose memory does not grow with the posts (10x: 18.3 M)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from b9_common.service import Runtime
from b9_persistence.seed import SCALES, plan, scale_counts, seed
from phelpers import drained


def test_named_and_factor_scales() -> None:
    assert scale_counts("10x") == {"subreddits": 346_820, "users": 3_096_080, "posts": 18_300_000,
                                   "creators": 12_470}
    assert scale_counts("3x") == {k: 3 * v for k, v in SCALES["full"].items()}
    assert scale_counts("1x") == SCALES["full"]
    assert scale_counts("0.001x") == {"subreddits": 35, "users": 310, "posts": 1_830, "creators": 1}
    for bad in ("big", "0x", "-1x", "x", "200x", "10"):
        with pytest.raises(ValueError, match="scale must be"):
            scale_counts(bad)


class _Envelopes:
    def envelope(self, payload: Any, id_: str | None = None, occurred_at: datetime | None = None) -> Any:
        return id_


def _generate(scale: str) -> tuple[int, int]:
    """Events generated and the peak Python memory (bytes) while generating every phase."""
    tracemalloc.start()
    try:
        p = plan(_Envelopes(), scale, now=datetime(2026, 11, 1, 12, tzinfo=UTC))  # type: ignore[arg-type]
        n = sum(1 for _, make, _ in p.phases for _ in make())
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_generator_memory_grows_with_subreddits_and_users_not_posts() -> None:
    """Ten times the posts on the same subreddits and users: the peak barely moves (posts are
    streamed in chunks, per-subreddit sums are dropped once its requirements are known)."""
    SCALES["_few_posts"] = {"subreddits": 100, "users": 1_000, "posts": 1_000, "creators": 3}
    SCALES["_many_posts"] = {**SCALES["_few_posts"], "posts": 12_000}
    try:
        few, many = _generate("_few_posts"), _generate("_many_posts")
    finally:
        del SCALES["_few_posts"], SCALES["_many_posts"]
    assert many[0] - few[0] >= 100  # 11,000 more posts in events of 100 (other phases vary by seed)
    # the generator before this change: 355 -> 630 kB (1.77x); now 136 -> 142 kB
    assert many[1] < 1.2 * few[1], (few, many)


async def test_a_factor_scale_is_stored_end_to_end(rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    counts = await seed(rt.publisher, "0.002x")
    n = scale_counts("0.002x")
    assert counts["posts"] == (n["posts"] + 99) // 100 and counts["creators"] == 4 * n["creators"]
    await drained(rt, within=90)
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM subreddits") == n["subreddits"]
        assert await c.fetchval("SELECT count(*) FROM reddit_users") == n["users"]
        assert await c.fetchval("SELECT count(*) FROM reddit_posts") == n["posts"]
        assert await c.fetchval("SELECT count(*) FROM instagram_media") == 24 * n["creators"]
        assert await c.fetchval("SELECT count(*) FROM creator_follower_history") == 4 * n["creators"]
        assert await c.fetchval("SELECT count(*) FROM subreddits WHERE min_post_karma IS NOT NULL") > 0
