"""Issue 17's acceptance: after `b9 seed --scale small`, single and bulk decisions of every kind,
a replay of persistence and a SIGKILL of persistence mid-way, `b9 rebuild --verify` reports
identical tables."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from b9_common.events import (
    AccountLinked,
    AccountUnlinked,
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
from b9_common.jetstream.publisher import Publisher
from b9_common.replay.jobs import ReplayRequest, run_replay
from b9_common.service import Runtime
from b9_persistence.main import SERVICE, STREAMS
from b9_persistence.rebuild_cmd import rebuild_main
from b9_persistence.seed import SCALES, seed, subreddit_name, username
from phelpers import make_settings, running, wait_consumers

PERSISTENCE = Path(sys.executable).parent / "b9-persistence"
ANNA = Actor(id="acc-anna", name="anna", role="reviewer", channel="dashboard")
BOB = Actor(id="acc-bob", name="bob", role="reviewer", channel="api")
CARL = Actor(id="acc-carl", name="carl", role="admin", channel="cli")


def creator_id(i: int) -> str:
    return str(4_000_000 + i)


def decisions(p: Publisher, round_: int) -> list[Any]:
    """Single and bulk (one event per entity, one batch id) decisions of every kind."""
    r = round_
    bulk = f"bulk-{r}"
    envs = [
        p.envelope(SubredditReviewed(name=subreddit_name(r), review="Ok", actor=ANNA)),
        *[p.envelope(SubredditReviewed(name=subreddit_name(i), review="Non Related", actor=BOB, batch=bulk))
          for i in range(10 + r * 20, 30 + r * 20)],
        p.envelope(SubredditTagged(name=subreddit_name(r + 1), tags=["niche:fitness"], primary_category="niche",
                                   actor=ANNA)),
        *[p.envelope(SubredditTagged(name=subreddit_name(i), tags=["style:goth", "hair:redhead"], actor=BOB,
                                     batch=bulk + "t")) for i in range(100 + r * 5, 105 + r * 5)],
        *[p.envelope(UserMarkedOurs(username=username(i), our_creator=True, actor=ANNA, batch=bulk + "u"))
          for i in range(r * 10, r * 10 + 10)],
        p.envelope(UserMarkedOurs(username=f"not_seen_yet_{r}", our_creator=True, actor=CARL)),
        p.envelope(ModelCreated(model_id=100 + r, name=f"Model {r}", assigned_tags=["niche:yoga"], actor=ANNA)),
        p.envelope(ModelCreated(model_id=200 + r, name=f"Doomed {r}", actor=ANNA)),
        p.envelope(ModelUpdated(model_id=100 + r, status="paused", description="on hold", actor=BOB)),
        *[p.envelope(AccountLinked(username=username(i), model_id=100 + r, actor=ANNA, batch=bulk + "l"))
          for i in range(r * 10, r * 10 + 5)],
        p.envelope(AccountLinked(username=username(r * 10 + 6), model_id=200 + r, actor=BOB)),
        p.envelope(AccountUnlinked(username=username(r * 10 + 1), actor=BOB)),
        p.envelope(ModelDeleted(model_id=200 + r, name=f"Doomed {r}", actor=CARL)),
        p.envelope(CreatorReviewed(ig_user_id=creator_id(r), review_status="ok", actor=ANNA)),
        *[p.envelope(CreatorReviewed(ig_user_id=creator_id(i), review_status="non_related", actor=BOB,
                                     batch=bulk + "c")) for i in range(20 + r * 10, 30 + r * 10)],
        *[p.envelope(CreatorNiched(ig_user_id=creator_id(i), niche="fitness", actor=ANNA, batch=bulk + "n"))
          for i in range(50 + r * 5, 55 + r * 5)],
        p.envelope(CreatorNiched(ig_user_id=creator_id(r), niche=None, actor=BOB)),
    ]
    first = envs[0]
    # The same decision again (same id: stored once) and an older one arriving late (history only).
    envs.append(first)
    envs.append(p.envelope(SubredditReviewed(name=subreddit_name(r), review="Banned", actor=BOB),
                           occurred_at=first.occurred_at - timedelta(minutes=5)))
    return envs


@contextlib.asynccontextmanager
async def subprocess_persistence(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(str(PERSISTENCE), env=env, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()


async def delivered(rt: Runtime, within: float = 30) -> None:
    """Every message of every stream persistence reads has been delivered to the live consumer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for stream in STREAMS:
        s = rt.topology.stream(stream)
        while (await rt.js.consumer_info(s, "persistence")).num_pending:
            assert loop.time() < deadline, stream
            await asyncio.sleep(0.05)


async def wait_for(conn: asyncpg.Connection, sql: str, *args: Any, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await conn.fetchval(sql, *args):
        assert loop.time() < deadline, sql
        await asyncio.sleep(0.01)


async def test_rebuild_after_seed_decisions_replay_and_sigkill_is_identical(
        rt: Runtime, nats_url: str, namespace: str, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    p = rt.publisher
    settings = make_settings(nats_url, namespace, database_url)
    counts = await seed(p, "small")
    assert counts["subreddits"] == SCALES["small"]["subreddits"]
    rounds = [decisions(p, r) for r in range(3)]
    ids = list({e.id for envs in rounds for e in envs})  # every decision once; the duplicates once
    await p.publish_many(rounds[0])
    conn = await asyncpg.connect(database_url)
    env = dict(os.environ, NATS_URL=nats_url, B9_NAMESPACE=namespace, DATABASE_URL=database_url,
               METRICS_PORT="-1", LOG_LEVEL="ERROR")
    try:
        # 1. persistence as its own process, SIGKILLed as soon as it has written something.
        async with subprocess_persistence(env) as proc:
            await wait_for(conn, "SELECT EXISTS (SELECT 1 FROM subreddits)")
            os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()
        info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "persistence")
        assert info.num_pending + info.num_ack_pending > 0  # killed mid-way, not after the end
        await p.publish_many(rounds[1])  # decided while persistence was down

        # 2. persistence again (in-process), a replay of it over every stream meanwhile, and more
        #    decisions published during the replay. The messages the killed process held are
        #    redelivered to the live consumer only after its ack wait (60 s): the replays, which
        #    read every stream from its start, complete the read model without waiting for that.
        async with running(settings):
            await wait_consumers(rt)
            replays = [run_replay(SERVICE, settings, ReplayRequest(target="persistence", stream=s))
                       for s in ("SCRAPE", "DERIVED", "DECISIONS")]
            results = await asyncio.gather(*replays, p.publish_many(rounds[2]))
            assert all(r.status == "complete" for r in results[:3]), [(r.resolved.stream, r.report)
                                                                      for r in results[:3]]
            await delivered(rt)
            await wait_for(conn, "SELECT count(*) = $2 FROM decision_log WHERE id = ANY($1::text[])", ids, len(ids))
        assert await conn.fetchval("SELECT count(*) FROM reddit_posts") == SCALES["small"]["posts"]
        kept = await conn.fetch("SELECT id FROM models WHERE id = ANY('{100,101,102,200,201,202}'::bigint[])")
        assert sorted(r["id"] for r in kept) == [100, 101, 102]  # 3 created and kept, 3 deleted
        assert await conn.fetchval("SELECT review FROM subreddits WHERE name = $1", subreddit_name(0)) == "Ok"
        assert await conn.fetchval("SELECT count(*) FROM reddit_users WHERE model_id BETWEEN 100 AND 202") == 12
        assert await rebuild_main(settings, verify=True, wait=1.0) == 0
    finally:
        await conn.close()

    out = capsys.readouterr().out
    assert "identical:" in out, out
    for table in ("decision_log", "models", "model_tombstones", "subreddits", "reddit_users",
                  "instagram_creators"):
        line = next(x for x in out.splitlines() if x.startswith(table + " "))
        assert line.endswith("identical") and "live          0" not in line, line
