"""`b9 rebuild`: the read model rebuilt from the streams alone equals the live one; a changed
live row is reported (and fails the command); `--into` refuses a non-empty database."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

import asyncpg
import pfactories as f
import pytest
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings, ConfigError
from b9_persistence.main import STREAMS
from b9_persistence.rebuild import database_of, drop_database, with_database
from b9_persistence.rebuild_cmd import rebuild_main
from b9_persistence.rebuild_compare import LOCAL_COLUMNS, NOT_FROM_STREAMS, compare
from b9_persistence.rebuild_verify import migrations_apart
from b9_persistence.seed import seed
from b9_persistence.settings import Settings
from phelpers import drained

B9 = Path(sys.executable).parent / "b9"


async def publish_every_kind(rt: Runtime) -> None:
    p = rt.publisher
    await p.publish(f.subreddit(), occurred_at=f.at(0))
    await p.publish(f.subreddit(subscribers=130_000), occurred_at=f.at(9))  # newer wins
    await p.publish(f.subreddit(subscribers=1), occurred_at=f.at(-9))  # late and older
    await p.publish(f.posts(["p1", "p2"]), occurred_at=f.at(0))
    await p.publish(f.user(), occurred_at=f.at(0))
    await p.publish(f.discovered("u_bob", user_feed=True), occurred_at=f.at(1))
    await p.publish(f.creator(), occurred_at=f.at(0))
    await p.publish(f.creator_discovered("no.id.yet"), occurred_at=f.at(2))
    await p.publish(f.related(), occurred_at=f.at(3))
    await p.publish(f.attempt("FitGirls"), occurred_at=f.at(0))
    await p.publish(f.sub_tags(), occurred_at=f.at(4))
    await p.publish(f.creator_tags(), occurred_at=f.at(4))
    await p.publish(f.stored("1001", "profile_picture"), occurred_at=f.at(5))
    await p.publish(f.failed(), occurred_at=f.at(5))


async def db_names(pg_admin_url: str) -> set[str]:
    conn = await asyncpg.connect(pg_admin_url)
    try:
        return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")
                if r["datname"].startswith("b9_rebuild_")}
    finally:
        await conn.close()


async def test_seeded_read_model_rebuilds_identical(rt: Runtime, service: Settings, pg_admin_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    await publish_every_kind(rt)
    await seed(rt.publisher, "small")
    await drained(rt, within=90)
    before = await db_names(pg_admin_url)

    assert await rebuild_main(service, verify=True) == 0

    out = capsys.readouterr().out
    print(out)
    assert "identical:" in out and "differing" not in out
    for table in ("subreddits", "reddit_posts", "reddit_users", "instagram_media", "categorizations",
                  "media_assets", "scrape_attempts", "scraper_daily", "instagram_discoveries"):
        line = next(x for x in out.splitlines() if x.startswith(table + " "))
        assert "identical" in line and "live          0" not in line, line
    assert "replays " not in out  # not made from the streams: not compared
    assert await db_names(pg_admin_url) == before  # the scratch database is gone


async def test_a_changed_live_row_is_a_difference_and_fails(rt: Runtime, service: Settings,
                                                            database_url: str) -> None:
    await publish_every_kind(rt)
    await drained(rt)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE reddit_posts SET score = score + 1 WHERE reddit_id = 'p2'")
        await conn.execute("DELETE FROM reddit_users WHERE username = 'alice'")
    finally:
        await conn.close()
    env = dict(os.environ, NATS_URL=service.nats_url, B9_NAMESPACE=service.b9_namespace,
               DATABASE_URL=database_url, METRICS_PORT="-1", COLUMNS="200")
    proc = await asyncio.create_subprocess_exec(str(B9), "rebuild", "--verify", "--keep", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 1, text + err.decode()
    kept = text.split("scratch database kept: ")[1].split()[0]
    conn = await asyncpg.connect(kept)  # kept, and holds the rebuilt (unchanged) post
    try:
        assert await conn.fetchval("SELECT score FROM reddit_posts WHERE reddit_id = 'p2'") == 50
    finally:
        await conn.close()
        await drop_database(kept)
    posts = next(x for x in text.splitlines() if x.startswith("reddit_posts "))
    assert "1 differing keys" in posts
    assert "(p2): score: 51 (live) vs 50 (rebuilt)" in text
    users = next(x for x in text.splitlines() if x.startswith("reddit_users "))
    assert "live          0  rebuilt          1" in users and "1 differing keys" in users
    assert "(alice): only in the rebuilt table" in text
    assert "different: 2 of" in text and "identical:" not in text


async def test_compare_ignores_only_the_local_columns(database_url: str, pg_admin_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # No column is local today (see rebuild_compare); declare one to see that it is ignored.
    monkeypatch.setitem(LOCAL_COLUMNS, ("models", "updated_at"), "for this test")
    other = with_database(pg_admin_url, database_of(database_url) + "_b")
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{database_of(other)}" TEMPLATE "{database_of(database_url)}"')
    try:
        for url, stamp in ((database_url, "2020-01-01"), (other, "2024-06-01")):
            conn = await asyncpg.connect(url)
            await conn.execute("INSERT INTO models (id, name, created_at, updated_at) "
                               "VALUES (7, 'Ann', '2019-01-01Z', $1)",
                               datetime.fromisoformat(stamp + "T00:00:00+00:00"))
            await conn.execute("INSERT INTO replays (id, consumer, slice) VALUES ($1, 'x', '{}')", stamp)
            await conn.close()
        diffs = {d.table: d for d in await compare(database_url, other)}
        assert "replays" in NOT_FROM_STREAMS
        assert diffs["models"].identical and diffs["models"].live_rows == 1
        assert "replays" not in diffs
        conn = await asyncpg.connect(other)
        await conn.execute("UPDATE models SET description = 'changed', created_at = created_at - interval '1 day' "
                           "WHERE id = 7")
        await conn.close()
        diffs = {d.table: d for d in await compare(database_url, other)}
        assert not diffs["models"].identical and diffs["models"].differing == 1
        assert "description: '' (live) vs 'changed' (rebuilt)" in diffs["models"].examples[0]
        assert "created_at: " in diffs["models"].examples[0]  # not a local column: compared
        assert all(d.identical for name, d in diffs.items() if name != "models")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_of(other)}" WITH (FORCE)')
        await admin.close()


async def test_into_refuses_a_database_with_rows_and_fills_an_empty_one(
        rt: Runtime, service: Settings, database_url: str, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    await publish_every_kind(rt)
    await drained(rt)
    assert await rebuild_main(service, verify=False, into=database_url) == 2
    assert "is not empty" in capsys.readouterr().out
    target = with_database(database_url, database_of(database_url) + "_dr")
    try:
        # The command, with no live database known at all (the case it is for): created, migrated, filled.
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(NATS_URL=service.nats_url, B9_NAMESPACE=service.b9_namespace, METRICS_PORT="-1",
                   B9_DATA_DIR=str(tmp_path))
        proc = await asyncio.create_subprocess_exec(str(B9), "rebuild", "--into", target, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()
        assert "rebuilt from" in out.decode()
        diffs = await compare(database_url, target)
        assert all(d.identical for d in diffs), [d for d in diffs if not d.identical]
        assert sum(d.rebuilt_rows for d in diffs) > 20
    finally:
        admin = await asyncpg.connect(with_database(database_url, "postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_of(target)}" WITH (FORCE)')
        await admin.close()


async def test_refused_facts_are_reported_not_dead_lettered_again(
        rt: Runtime, service: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    p = rt.publisher
    await p.publish_many([p.envelope(f.subreddit(f"good{i}")) for i in range(5)]
                         + [p.envelope(f.subreddit("bad name/../x"))])
    await rt.js.publish(rt.topology.subject("subreddit.fetched"), b'{"id":"undecodable"}')
    await drained(rt)
    dlq = rt.topology.stream("DLQ")
    assert (await rt.js.stream_info(dlq)).state.messages == 2  # the live run dead-lettered both

    assert await rebuild_main(service, verify=True) == 0

    out = capsys.readouterr().out
    assert "2 messages refused by the handler" in out and "invalid subreddit name" in out
    assert (await rt.js.stream_info(dlq)).state.messages == 2  # none added by the rebuild


async def test_every_stream_a_rebuild_reads_keeps_its_messages_for_ever(rt: Runtime) -> None:
    for stream in STREAMS:
        cfg = (await rt.js.stream_info(rt.topology.stream(stream))).config
        assert not cfg.max_age and cfg.max_msgs in (None, -1) and cfg.max_bytes in (None, -1), (stream, cfg)


async def test_a_configured_age_limit_reaches_the_fact_streams_only(nats_url: str, namespace: str) -> None:
    with pytest.raises(ConfigError, match="FACTS_MAX_AGE_DAYS"):
        CommonSettings(facts_max_age_days=-1).validate()
    limited = await connect(CommonSettings(nats_url=nats_url, b9_namespace=namespace, facts_max_age_days=400),
                            "tests", "0")
    try:
        ages = {s: (await limited.js.stream_info(limited.topology.stream(s))).config.max_age
                for s in ("SCRAPE", "DERIVED", "DECISIONS")}
    finally:
        await limited.close()
    assert ages == {"SCRAPE": 400 * 86_400, "DERIVED": 400 * 86_400, "DECISIONS": 0}


async def test_verify_names_a_migration_the_live_database_lacks(database_url: str, pg_admin_url: str) -> None:
    other = with_database(pg_admin_url, database_of(database_url) + "_m")
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{database_of(other)}" TEMPLATE "{database_of(database_url)}"')
    try:
        assert await migrations_apart(database_url, other) == []
        conn = await asyncpg.connect(database_url)
        newest = await conn.fetchval("DELETE FROM schema_migrations WHERE name = "
                                     "(SELECT max(name) FROM schema_migrations) RETURNING name")
        await conn.close()
        notes = await migrations_apart(database_url, other)
        assert notes == [f"the live database lacks migrations ['{newest}'] (restart persistence to apply them)"]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_of(other)}" WITH (FORCE)')
        await admin.close()
