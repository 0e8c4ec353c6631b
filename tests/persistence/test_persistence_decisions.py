"""People's decisions: applied once, newer wins, facts never overwrite them, history kept."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
import pfactories as f
from b9_common.events import (
    AccountLinked,
    Actor,
    CreatorNiched,
    CreatorReviewed,
    ModelCreated,
    ModelDeleted,
    ModelUpdated,
    SubredditReviewed,
    SubredditTagged,
    UserMarkedOurs,
)
from b9_common.service import Runtime
from phelpers import drained

ANNA = Actor(id="acc-anna", name="anna", role="reviewer", channel="dashboard")
BOB = Actor(id="acc-bob", name="bob", role="reviewer", channel="api")


async def _until(pool: asyncpg.Pool, sql: str, *args: Any, want: Any = True, within: float = 15) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = await pool.fetchval(sql, *args)
        if got == want:
            return got
        if loop.time() > deadline:
            raise AssertionError(f"{sql} -> {got!r}, wanted {want!r}")
        await asyncio.sleep(0.05)


async def test_decisions_apply_once_newer_wins_and_facts_keep_them(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    await p.publish(f.subreddit("FitGirls"))
    await p.publish(f.creator("1001", "fit.anna"))
    await drained(rt)

    newer = p.envelope(SubredditReviewed(name="fitgirls", review="Ok", before=None, actor=ANNA),
                       occurred_at=f.at(30))
    older = p.envelope(SubredditReviewed(name="FitGirls", review="Banned", actor=BOB), occurred_at=f.at(20))
    await p.publish_envelope(newer)
    await p.publish_envelope(newer)  # the same decision twice: one row in the log
    await p.publish_envelope(older)  # older, arriving late: history only
    await drained(rt)
    row = await pool.fetchrow("SELECT review, review_source, reviewed_by FROM subreddits WHERE name = 'FitGirls'")
    assert dict(row) == {"review": "Ok", "review_source": "manual", "reviewed_by": "anna"}
    assert await pool.fetchval("SELECT count(*) FROM decision_log WHERE entity_id = 'fitgirls'") == 2

    # A newer fact never overwrites the person's review (its suggestion is kept aside).
    await p.publish(f.subreddit("FitGirls", subscribers=999), occurred_at=f.at(60))
    await drained(rt)
    assert await pool.fetchval("SELECT review FROM subreddits WHERE name = 'FitGirls'") == "Ok"

    # Tags, creators, users, models.
    await p.publish(SubredditTagged(name="FitGirls", tags=["fitness:gym"], primary_category="fitness", actor=ANNA))
    await p.publish(CreatorReviewed(ig_user_id="1001", review_status="ok", actor=BOB))
    await p.publish(CreatorNiched(ig_user_id="1001", niche="fitness", actor=BOB))
    await p.publish(UserMarkedOurs(username="NewPerson", our_creator=True, actor=ANNA))
    await p.publish(ModelCreated(model_id=77, name="Lena", assigned_tags=["fitness:gym"], actor=ANNA))
    await p.publish(AccountLinked(username="NewPerson", model_id=77, actor=ANNA))
    await p.publish(ModelUpdated(model_id=77, status="paused", before={"status": "active"}, actor=BOB))
    await drained(rt)
    assert await pool.fetchval("SELECT tags FROM subreddits WHERE name = 'FitGirls'") == ["fitness:gym"]
    c = await pool.fetchrow("SELECT review_status, reviewed_by, niche FROM instagram_creators WHERE ig_user_id='1001'")
    assert dict(c) == {"review_status": "ok", "reviewed_by": "bob", "niche": "fitness"}
    u = await pool.fetchrow("SELECT our_creator, model_id FROM reddit_users WHERE username = 'NewPerson'")
    assert dict(u) == {"our_creator": True, "model_id": 77}
    m = await pool.fetchrow("SELECT name, status, created_by, updated_by FROM models WHERE id = 77")
    assert dict(m) == {"name": "Lena", "status": "paused", "created_by": "anna", "updated_by": "bob"}

    # A scrape of the creator does not undo the niche or the review; a user fact keeps our_creator.
    await p.publish(f.creator("1001", "fit.anna", followers=51_000), occurred_at=f.at(90))
    await p.publish(f.user("NewPerson", total_karma=5), occurred_at=f.at(90))
    await drained(rt)
    c = await pool.fetchrow("SELECT review_status, niche FROM instagram_creators WHERE ig_user_id = '1001'")
    assert dict(c) == {"review_status": "ok", "niche": "fitness"}
    u = await pool.fetchrow("SELECT our_creator, model_id, total_karma FROM reddit_users WHERE username='NewPerson'")
    assert dict(u) == {"our_creator": True, "model_id": 77, "total_karma": 5}

    # Deleting the model unlinks its accounts; a late update does not bring it back.
    deleted = p.envelope(ModelDeleted(model_id=77, name="Lena", actor=ANNA))
    await p.publish_envelope(deleted)
    late = p.envelope(ModelUpdated(model_id=77, name="Back", actor=BOB),
                      occurred_at=deleted.occurred_at - timedelta(seconds=1))
    await p.publish_envelope(late)
    await drained(rt)
    assert await pool.fetchval("SELECT count(*) FROM models WHERE id = 77") == 0
    assert await pool.fetchval("SELECT model_id FROM reddit_users WHERE username = 'NewPerson'") is None

    hist = await pool.fetch("SELECT type, actor_name, before, after FROM decision_log "
                            "WHERE entity_type = 'subreddit' ORDER BY decided_at DESC, id DESC")
    assert [(h["type"], h["actor_name"]) for h in hist] == [
        ("subreddit.tagged", "anna"), ("subreddit.reviewed", "anna"), ("subreddit.reviewed", "bob")]


async def test_a_decision_before_its_entity_waits_for_the_fact(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    """As in a rebuild, where DECISIONS and SCRAPE are read side by side."""
    p = rt.publisher
    await p.publish(SubredditReviewed(name="LateSub", review="Ok", actor=ANNA))
    await asyncio.sleep(0.3)
    assert await pool.fetchval("SELECT count(*) FROM subreddits WHERE name = 'LateSub'") == 0
    await p.publish(f.subreddit("LateSub"))
    await _until(pool, "SELECT review FROM subreddits WHERE name = 'LateSub'", want="Ok")
    await drained(rt)
    assert await pool.fetchval("SELECT count(*) FROM decision_log WHERE entity_id = 'latesub'") == 1


async def test_partial_model_updates_are_order_independent(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    """Newer wins per field: the same three updates in either order leave the same model."""
    p = rt.publisher
    rows = []
    for mid, order in ((31, (0, 1, 2)), (32, (2, 1, 0))):
        await p.publish(ModelCreated(model_id=mid, name=f"M{mid}", status="active", actor=ANNA), occurred_at=f.at(0))
        updates = [
            p.envelope(ModelUpdated(model_id=mid, status="paused", actor=BOB), occurred_at=f.at(10)),
            p.envelope(ModelUpdated(model_id=mid, description="newer", actor=ANNA), occurred_at=f.at(20)),
            p.envelope(ModelUpdated(model_id=mid, status="onboarding", description="older", actor=BOB),
                       occurred_at=f.at(15)),
        ]
        await drained(rt)
        for i in order:
            await p.publish_envelope(updates[i])
            await drained(rt)
        rows.append(await pool.fetchrow(
            "SELECT status, description, updated_by, updated_at, field_versions FROM models WHERE id = $1", mid))
    assert rows[0]["status"] == rows[1]["status"] == "onboarding"  # 15 > 10 for status
    assert rows[0]["description"] == rows[1]["description"] == "newer"  # 20 > 15 for description
    assert [r["updated_by"] for r in rows] == ["anna", "anna"] and rows[0]["updated_at"] == rows[1]["updated_at"]
    versions = [json.loads(r["field_versions"]) for r in rows]
    strip = [{k: v.split("|")[0] for k, v in vs.items()} for vs in versions]
    assert strip[0] == strip[1]
