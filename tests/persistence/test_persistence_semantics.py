"""Idempotency, replay, newer-wins, people-owned fields, DLQ."""

from __future__ import annotations

import uuid

import asyncpg
import pfactories as f
from b9_common.events import (
    AccountLinked,
    Actor,
    CreatorNiched,
    CreatorReviewed,
    Envelope,
    ModelCreated,
    SubredditReviewed,
    SubredditTagged,
    UserMarkedOurs,
)
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import Runtime
from b9_persistence.handler import Persistence
from b9_persistence.main import consumer_specs
from b9_persistence.staging import init_connection
from phelpers import drained, table_hashes


def _mixed_facts(rt: Runtime) -> list[Envelope[object]]:
    """Many versions of the same keys, discoveries, tags, media and attempts, out of order."""
    p = rt.publisher
    envs = []
    for i in range(40):
        t = f.at((i * 7) % 13)  # occurred_at not in publish order
        envs.append(p.envelope(f.subreddit(f"sub{i % 5}", subscribers=1000 + i), occurred_at=t))
        envs.append(p.envelope(f.posts([f"p{i % 9}", f"q{i}"], sub=f"sub{i % 5}", score=i),
                               occurred_at=t))
        envs.append(p.envelope(f.user(f"user{i % 4}", total_karma=i), occurred_at=t))
        envs.append(p.envelope(f.discovered(f"disc{i % 3}", user_feed=i % 2 == 0),
                               occurred_at=f.at(i % 6)))
        envs.append(p.envelope(f.creator(str(5000 + i % 3), f"cr{i % 3}", followers=i),
                               occurred_at=t))
        envs.append(p.envelope(f.creator_discovered(f"cr{i % 4}"), occurred_at=f.at(i % 5)))
        envs.append(p.envelope(f.attempt(f"sub{i % 5}", "success" if i % 3 else "failed"),
                               occurred_at=t))
        envs.append(p.envelope(f.sub_tags(f"sub{i % 5}", [f"tag{i}"]), occurred_at=t))
        envs.append(p.envelope(f.stored(str(500001 + i % 4)), occurred_at=t))
    return envs


async def _replay(rt: Runtime, pool: asyncpg.Pool, name: str, batch: int) -> None:
    handler = Persistence(pool)
    consumers = []
    for spec in consumer_specs():
        c = Consumer(rt.nc, rt.js, rt.topology,
                     ConsumerSpec(name=name, stream=spec.stream, subjects=spec.subjects,
                                  max_deliver=spec.max_deliver),
                     publisher=rt.publisher, batch_handler=handler.handle, batch=batch)
        await c.start()
        consumers.append(c)
    try:
        await drained(rt, name)
    finally:
        for c in consumers:
            await c.stop()


async def test_twice_and_replay_give_identical_tables(
        rt: Runtime, service: object, pool: asyncpg.Pool, pg_admin_url: str,
        template_db: str, database_url: str) -> None:
    envs = _mixed_facts(rt)
    await rt.publisher.publish_many(envs)
    await drained(rt)
    async with pool.acquire() as c:
        first = await table_hashes(c)
        assert await c.fetchval("SELECT count(*) FROM reddit_posts") == 49
        assert await c.fetchval("SELECT sum(attempts) FROM scraper_daily") == 40

    # The same facts delivered again (a replay into a fresh consumer on the same database).
    same = await asyncpg.create_pool(database_url, min_size=1, max_size=4, init=init_connection)
    try:
        await _replay(rt, same, "again", batch=7)
    finally:
        await same.close()
    async with pool.acquire() as c:
        assert await table_hashes(c) == first

    # Replaying everything into a fresh database, in small concurrent batches, converges.
    name = f"b9t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        url = database_url.rsplit("/", 1)[0] + f"/{name}"
        fresh = await asyncpg.create_pool(url, min_size=1, max_size=4, init=init_connection)
        try:
            await _replay(rt, fresh, "fresh", batch=5)
            async with fresh.acquire() as c:
                assert await table_hashes(c) == first
        finally:
            await fresh.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_late_older_fact_does_not_overwrite(rt: Runtime, service: object,
                                                  pool: asyncpg.Pool) -> None:
    p = rt.publisher
    await p.publish(f.subreddit("Late", subscribers=200), occurred_at=f.at(10))
    await p.publish(f.posts(["lp1"], sub="Late", score=99), occurred_at=f.at(10))
    await p.publish(f.user("lateuser", total_karma=900), occurred_at=f.at(10))
    await p.publish(f.creator("7007", "late.one", followers=900), occurred_at=f.at(10))
    await drained(rt)
    await p.publish(f.subreddit("Late", subscribers=100), occurred_at=f.at(5))
    await p.publish(f.posts(["lp1"], sub="Late", score=1), occurred_at=f.at(5))
    await p.publish(f.user("lateuser", total_karma=1), occurred_at=f.at(5))
    await p.publish(f.creator("7007", "late.one", followers=1), occurred_at=f.at(5))
    await drained(rt)
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT subscribers FROM subreddits WHERE name='Late'") == 200
        assert await c.fetchval("SELECT score FROM reddit_posts WHERE reddit_id='lp1'") == 99
        assert await c.fetchval(
            "SELECT total_karma FROM reddit_users WHERE username='lateuser'") == 900
        assert await c.fetchval(
            "SELECT followers_count FROM instagram_creators WHERE ig_user_id='7007'") == 900
        # ... but history keeps both observations
        snaps = await c.fetch("SELECT subscribers FROM subreddit_snapshots ORDER BY fact_at")
        assert [r[0] for r in snaps] == [100, 200]
        hist = await c.fetch("SELECT followers_count FROM creator_follower_history "
                             "ORDER BY fact_at")
        assert [r[0] for r in hist] == [1, 900]


async def test_people_owned_fields_survive_rescrapes(rt: Runtime, service: object,
                                                     pool: asyncpg.Pool) -> None:
    p = rt.publisher
    await p.publish(f.subreddit("Mine"), occurred_at=f.at(0))
    await p.publish(f.subreddit("Auto", suggested_review="No Seller"), occurred_at=f.at(0))
    await p.publish(f.user("ours"), occurred_at=f.at(0))
    await p.publish(f.creator("8008", "our.creator"), occurred_at=f.at(0))
    await drained(rt)
    assert await pool.fetchval("SELECT review FROM subreddits WHERE name='Auto'") == "No Seller"
    model_id = 5  # people's fields are decisions (DECISIONS stream), applied by persistence
    who = Actor(id="acc-1", name="mia", role="reviewer", channel="api")
    for decision in (
        ModelCreated(model_id=model_id, name="Mia", assigned_tags=["fitness"], actor=who),
        SubredditReviewed(name="Mine", review="Ok", actor=who),
        SubredditTagged(name="Mine", tags=["hand"], actor=who),
        UserMarkedOurs(username="ours", our_creator=True, actor=who),
        AccountLinked(username="ours", model_id=model_id, actor=who),
        CreatorReviewed(ig_user_id="8008", review_status="non_related", actor=who),
        CreatorNiched(ig_user_id="8008", niche="cooking", actor=who),
    ):
        await p.publish(decision, occurred_at=f.at(1))
    await drained(rt)
    await p.publish(f.subreddit("Mine", suggested_review="Non Related"), occurred_at=f.at(5))
    await p.publish(f.sub_tags("Mine", ["auto"]), occurred_at=f.at(6))
    await p.publish(f.user("ours"), occurred_at=f.at(5))
    await p.publish(f.creator("8008", "our.creator", requested_niche="fitness"),
                    occurred_at=f.at(5))
    await p.publish(f.discovered("Mine", user_feed=True), occurred_at=f.at(6))
    await drained(rt)
    async with pool.acquire() as c:
        mine = await c.fetchrow("SELECT * FROM subreddits WHERE name='Mine'")
        assert (mine["review"], mine["review_source"]) == ("Ok", "manual")
        assert (mine["tags"], mine["tags_source"]) == (["hand"], "manual")
        assert mine["suggested_review"] == "Non Related" and mine["fact_at"] == f.at(5)
        assert await c.fetchval("SELECT count(*) FROM categorizations WHERE subject='Mine'") == 1
        u = await c.fetchrow("SELECT * FROM reddit_users WHERE username='ours'")
        assert u["our_creator"] and u["model_id"] == model_id and u["fact_at"] == f.at(5)
        cr = await c.fetchrow("SELECT * FROM instagram_creators WHERE ig_user_id='8008'")
        assert (cr["review_status"], cr["niche"]) == ("non_related", "cooking")
        assert cr["fact_at"] == f.at(5)


async def test_invalid_facts_go_to_dlq_and_the_batch_is_written(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    good = [p.envelope(f.subreddit(f"good{i}")) for i in range(20)]
    bad_name = p.envelope(f.subreddit("bad name/../x"))
    bad_review = p.envelope(f.subreddit("odd", suggested_review="Maybe"))
    bad_conf = p.envelope(f.sub_tags("good1").__class__(
        **{**{k: getattr(f.sub_tags("good1"), k) for k in f.sub_tags().__struct_fields__},
           "confidence": 7.0}))
    await p.publish_many([*good[:10], bad_name, bad_review, bad_conf, *good[10:]])
    subj = rt.topology.subject("subreddit.fetched")
    negative = '{"id":"neg1","type":"subreddit.fetched","version":1,"occurred_at":' \
               '"2025-03-01T12:00:00Z","source":"t","trace":"t","data":{"name":"neg",' \
               '"subscribers":-5}}'
    await rt.js.publish(subj, negative.encode())
    await rt.js.publish(subj, b'{"id":"nokey","type":"subreddit.fetched","version":1,'
                              b'"occurred_at":"2025-03-01T12:00:00Z","source":"t","trace":"t",'
                              b'"data":{"title":"no name"}}')
    await drained(rt)
    async with pool.acquire() as c:
        names = {r[0] for r in await c.fetch("SELECT name FROM subreddits")}
    assert names == {f"good{i}" for i in range(20)}
    dlq = rt.topology.stream("DLQ")
    info = await rt.js.stream_info(dlq)
    reasons = sorted([(await rt.js.get_msg(dlq, s)).headers["B9-Dlq-Reason"]
                      for s in range(1, info.state.messages + 1)])
    assert len(reasons) == 5, reasons
    text = "\n".join(reasons)
    assert "invalid subreddit name" in text
    assert "suggested_review 'Maybe'" in text
    assert "confidence 7.0 outside [0, 1]" in text
    assert "subscribers" in text and ">= 0" in text
    assert "missing required field `name`" in text
