"""Replay while live consumption runs: the same final state as live alone or replay alone."""

from __future__ import annotations

import asyncio

from b9_common.replay.jobs import ReplayRequest, run_replay
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from rt_helpers import drained, facts, live_persistence, psettings, publish, table_hashes


async def test_replay_during_live_consumption_matches_either_alone(
        rt: Runtime, nats_url: str, namespace: str, database_url: str, make_db) -> None:
    events = facts("lv", 300)  # 1,200 events, older facts arriving after newer ones
    # 1. live alone
    async with live_persistence(psettings(nats_url, namespace, database_url)):
        await publish(rt, events)
        await drained(rt)
    live_alone = await table_hashes(database_url)
    assert live_alone["subreddits"][0] == 300 and live_alone["reddit_posts"][0] == 600

    # 2. live and replay at once, in a namespace of its own, on a database of its own
    ns2 = f"{namespace}b"
    rt2 = await connect(CommonSettings(nats_url=nats_url, b9_namespace=ns2, metrics_port=-1), "tests", "0")
    both_db = await make_db()
    try:
        half = len(events) // 2
        await publish(rt2, events[:half])
        both = psettings(nats_url, ns2, both_db)
        async with live_persistence(both):
            planned = asyncio.Event()
            replaying = asyncio.create_task(run_replay(PERSISTENCE, both, ReplayRequest("persistence", rate=400),
                                                       on_plan=lambda *_: planned.set()))
            await asyncio.wait_for(planned.wait(), 30)
            for i in range(half, len(events), 50):  # live traffic keeps arriving during the replay
                await publish(rt2, events[i:i + 50])
                await asyncio.sleep(0.02)
            assert not replaying.done()  # they really overlapped
            result = await asyncio.wait_for(replaying, 60)
            await drained(rt2)
        assert result.report is not None and result.report.complete and result.report.visited == half
        assert result.resolved.end == half  # the slice ended where the stream was when the replay began
        assert result.report.dead_lettered == 0
        assert await table_hashes(both_db) == live_alone

        # 3. replay alone (no live consumer) over the same stream, on a third database
        alone_db = await make_db()
        res = await run_replay(PERSISTENCE, psettings(nats_url, ns2, alone_db), ReplayRequest("persistence"))
        assert res.report is not None and res.report.visited == len(events)
        assert await table_hashes(alone_db) == live_alone
        consumers = [c.name for c in await rt2.js.consumers_info(rt2.topology.stream("SCRAPE"))]
        assert consumers == ["persistence"], consumers  # no replay / probe consumer left behind
    finally:
        await rt2.close()
