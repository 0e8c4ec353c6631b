"""`b9 replay categorizer` (rule path) end to end, then persistence over DERIVED (each replay
runs in its service's replay owner, started here without the live consumers)."""

from __future__ import annotations

import re

from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.replay.owner import replays_only
from b9_common.service import Runtime
from b9_persistence.main import SERVICE as PERSISTENCE
from rt_helpers import cli, fetchval, psettings, publish, sub


def _row(output: str, label: str) -> int:
    m = re.search(rf"{re.escape(label)}[^│]*│\s*([\d,]+)", output)
    assert m, f"{label!r} not in:\n{output}"
    return int(m.group(1).replace(",", ""))


async def test_categorizer_replay_then_unchanged_then_persist_results(
        rt: Runtime, cli_env: dict[str, str], nats_url: str, namespace: str, database_url: str) -> None:
    cat = CSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1)
    async with (replays_only(CATEGORIZER, cat),
                replays_only(PERSISTENCE, psettings(nats_url, namespace, database_url))):
        await categorize_then_persist(rt, cli_env, database_url)


async def categorize_then_persist(rt: Runtime, cli_env: dict[str, str], database_url: str) -> None:
    words = ("fitness gym workout", "cosplay anime costume", "yoga stretch", "gaming gamer girls", "goth alt style")
    await publish(rt, [(f"c{i}", sub(f"cat{i}", 1000 + i, description=words[i % len(words)]), i) for i in range(60)])
    await publish(rt, [(f"q{i}", sub(f"gone{i}", availability="banned"), i) for i in range(5)])
    derived = rt.topology.stream("DERIVED")

    first = await cli(cli_env, "replay", "categorizer")
    assert first.exit_code == 0, first.output
    assert "categorizer:categorizer" in first.output and "complete" in first.output
    assert _row(first.output, "handled") == 60 and _row(first.output, "failed → DLQ") == 0
    assert _row(first.output, "skipped (unchanged") == 5  # the banned ones
    assert (await rt.js.stream_info(derived)).state.messages == 60  # banned ones are skipped, not tagged

    again = await cli(cli_env, "replay", "categorizer", "--subject", "subreddit.fetched")
    assert again.exit_code == 0, again.output
    # The rule path keeps its unchanged-cache per process, and both replays ran in the same
    # categorizer replica: the second finds the 60 unchanged (a fresh replica would re-tag them
    # and publish the same event ids, which JetStream drops as duplicates). Nothing new either way.
    assert _row(again.output, "handled") + _row(again.output, "skipped (unchanged") == 65
    assert _row(again.output, "failed → DLQ") == 0
    assert (await rt.js.stream_info(derived)).state.messages == 60

    stored = await cli(cli_env, "replay", "persistence", "--stream", "DERIVED")
    assert stored.exit_code == 0, stored.output
    assert await fetchval(database_url, "SELECT count(*) FROM categorizations") == 60

    wrong = await cli(cli_env, "replay", "categorizer", "--subject", "user.fetched")
    assert wrong.exit_code == 2 and "not consumed by categorizer" in wrong.output
    unknown = await cli(cli_env, "replay", "nosuchservice")
    assert unknown.exit_code == 2 and "unknown service" in unknown.output
