"""`b9 seed` + `b9 replay` end to end through the CLI against real NATS + PostgreSQL (the replays
run in persistence's replay owner, started here without its live consumers)."""

from __future__ import annotations

import msgspec
from b9_common.replay.log import ReplayRecord, list_records
from b9_common.replay.owner import replays_only
from b9_common.service import Runtime
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.seed import SCALES
from rt_helpers import cli, fetchval, psettings, table_hashes


async def test_seed_then_replaying_scrape_twice_leaves_identical_tables(
        rt: Runtime, cli_env: dict[str, str], nats_url: str, namespace: str, database_url: str) -> None:
    async with replays_only(PERSISTENCE, psettings(nats_url, namespace, database_url)):
        await seed_then_replay_twice(rt, cli_env, database_url)


async def seed_then_replay_twice(rt: Runtime, cli_env: dict[str, str], database_url: str) -> None:
    res = await cli(cli_env, "seed", "--scale", "small")
    assert res.exit_code == 0, res.output
    n = SCALES["small"]
    assert "subreddits" in res.output and f"{n['subreddits']:,}" in res.output
    scrape = (await rt.js.stream_info(rt.topology.stream("SCRAPE"))).state.messages
    assert scrape > n["subreddits"] + n["users"]

    dry = await cli(cli_env, "replay", "persistence", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and f"{scrape:,}" in dry.output
    assert f"{n['subreddits']:,}" in dry.output  # subreddit.fetched row
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 0  # nothing ran

    first = await cli(cli_env, "replay", "persistence")
    assert first.exit_code == 0, first.output
    assert "replaying" in first.output and "complete" in first.output
    assert f"{scrape:,} of {scrape:,}" in first.output
    after_first = await table_hashes(database_url)
    assert after_first["subreddits"][0] == n["subreddits"]
    assert after_first["reddit_posts"][0] == n["posts"]

    second = await cli(cli_env, "replay", "persistence", "--stream", "SCRAPE")
    assert second.exit_code == 0, second.output
    assert await table_hashes(database_url) == after_first

    listed = await cli(cli_env, "replay", "--list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("persistence:persistence") == 2 and listed.output.count("complete") == 2
    # both stores hold the records
    assert await fetchval(database_url, "SELECT count(*) FROM replays WHERE finished_at IS NOT NULL") == 2
    kv = await rt.js.key_value(rt.topology.bucket("replays"))
    keys = await kv.keys()
    assert len(keys) == 2
    rec = msgspec.json.decode((await kv.get(keys[0])).value or b"", type=ReplayRecord)
    assert rec.outcome["status"] == "complete" and rec.outcome["visited"] == scrape
    assert "@" in rec.started_by and rec.slice["stream"] == "SCRAPE"
    merged = await list_records(rt.js, rt.topology, database_url)
    assert len(merged) == 2
