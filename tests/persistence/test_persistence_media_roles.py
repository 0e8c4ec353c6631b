"""An Instagram item that is both a reel and a post keeps both roles (#20.1)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
import pfactories as f
from b9_common.events import Envelope
from b9_common.service import Runtime
from b9_persistence.staging import init_connection
from b9_persistence.writers_instagram import write_creators

COLS = ("kind, is_reel, is_post, caption, image_urls, play_count, like_count, is_viral, "
        "thumbnail_url, fact_id")


async def _write(pool: asyncpg.Pool, envs: list[Envelope[Any]]) -> None:
    async with pool.acquire() as conn:
        await init_connection(conn)
        async with conn.transaction():
            await write_creators(conn, envs)


async def _rows(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    found = await pool.fetch(f"SELECT media_pk, {COLS} FROM instagram_media ORDER BY media_pk")
    return {r["media_pk"]: dict(r) for r in found}


def _reel_and_post(pk: str) -> tuple[Any, Any]:
    reel = msgspec.structs.replace(f.media(pk, "reel"), image_urls=[], caption="", is_viral=False)
    post = msgspec.structs.replace(f.media(pk, "post"), play_count=0, caption="post caption",
                                   thumbnail_url=None, is_viral=True)
    return reel, post


async def test_an_item_in_reels_and_posts_of_one_scrape_is_both(rt: Runtime, pool: asyncpg.Pool) -> None:
    reel, post = _reel_and_post("77")
    only_post = f.media("78", "post")
    env = rt.publisher.envelope(f.creator("1001", reels=[reel], posts=[post, only_post]))
    await _write(pool, [env])
    rows = await _rows(pool)
    assert set(rows) == {"77", "78"}
    both = rows["77"]
    assert (both["kind"], both["is_reel"], both["is_post"]) == ("reel", True, True)
    # the reel's figures, the post's caption and images (empty in the reel copy), viral in either
    assert both["play_count"] == 90_000 and both["caption"] == "post caption"
    assert both["image_urls"] == post.image_urls and both["thumbnail_url"] == reel.thumbnail_url
    assert both["is_viral"] is True
    assert (rows["78"]["kind"], rows["78"]["is_reel"], rows["78"]["is_post"]) == ("post", False, True)


async def test_roles_from_separate_scrapes_add_up_in_any_order(
        rt: Runtime, pool: asyncpg.Pool, database_url: str) -> None:
    """Newer scrape has the item as a reel only, an older one as a post only: both roles, the
    newer scrape's values, whatever the order (and in one batch)."""
    p = rt.publisher
    results = []
    for order in ("new-first", "old-first", "one-batch"):
        pk = {"new-first": "81", "old-first": "82", "one-batch": "83"}[order]
        reel, post = _reel_and_post(pk)
        newer = p.envelope(f.creator("1001", reels=[reel], posts=[]), occurred_at=f.at(10))
        older = p.envelope(f.creator("1001", reels=[], posts=[post]), occurred_at=f.at(5))
        if order == "new-first":
            await _write(pool, [newer])
            await _write(pool, [older])
        elif order == "old-first":
            await _write(pool, [older])
            await _write(pool, [newer])
        else:
            await _write(pool, [older, newer])
        row = (await _rows(pool))[pk]
        assert row["fact_id"] == newer.id
        row.pop("fact_id"), row.pop("media_pk")
        results.append(row)
    assert results[0] == results[1] == results[2]
    assert (results[0]["kind"], results[0]["is_reel"], results[0]["is_post"]) == ("reel", True, True)
    assert results[0]["caption"] == ""  # the newer (reel) scrape's values


async def test_a_post_that_becomes_a_reel_is_still_a_post(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    post = f.media("91", "post")
    await _write(pool, [p.envelope(f.creator("1001", reels=[], posts=[post]), occurred_at=f.at(1))])
    assert (await _rows(pool))["91"]["kind"] == "post"
    await _write(pool, [p.envelope(f.creator("1001", reels=[f.media("91")], posts=[]),
                                   occurred_at=f.at(2))])
    row = (await _rows(pool))["91"]
    assert (row["kind"], row["is_reel"], row["is_post"]) == ("reel", True, True)


async def test_a_private_scrape_never_erases_the_analytics(rt: Runtime, pool: asyncpg.Pool) -> None:
    """A private account's scrape reads no media: its analytics are zeros computed from nothing,
    and the figures of the last scrape that read media stay (in any order, and in one batch)."""
    p = rt.publisher
    rows = []
    for k, order in enumerate(("open-first", "private-first", "one-batch")):
        uid = f"55{k}"
        open_ = p.envelope(f.creator(uid, f"priv.{k}", followers=1000), occurred_at=f.at(1))
        private = p.envelope(f.creator(uid, f"priv.{k}", followers=1200, availability="private",
                                       is_private=True, reels=[], posts=[],
                                       analytics=type(f.creator().analytics)()),
                             occurred_at=f.at(2))
        batches = {"open-first": [[open_], [private]], "private-first": [[private], [open_]],
                   "one-batch": [[open_, private]]}[order]
        for batch in batches:
            await _write(pool, batch)
        row = dict(await pool.fetchrow(
            "SELECT availability, followers_count, avg_reel_views, viral_reels, engagement_rate, "
            "analytics_fact_id = $2 AS from_open FROM instagram_creators WHERE ig_user_id = $1",
            uid, open_.id))
        rows.append(row)
    assert rows[0] == rows[1] == rows[2]
    assert rows[0] == {"availability": "private", "followers_count": 1200, "avg_reel_views": 80_000.0,
                       "viral_reels": 2, "engagement_rate": 0.08, "from_open": True}
