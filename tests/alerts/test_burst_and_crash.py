"""A burst becomes the cap plus one digest; a SIGKILLed alerts service loses nothing and stores
nothing twice; a replay rebuilds notifications (marked replayed) and sends no webhook."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from alenv import SECRET, Stack, receiver, stack, wait_for
from b9_common.events import SubredditDiscovered
from b9_common.replay.jobs import ReplayRequest, load_service, run_replay

BIN = Path(sys.executable).parent / "b9-alerts"


async def test_a_burst_of_1000_matches_becomes_the_cap_plus_one_digest(st: Stack) -> None:
    async with receiver() as rec:
        r = await st.client.post("/api/v1/alerts", json={"name": "burst", "on": "subreddit.discovered", "cap": 5,
                                                         "window_seconds": 5, "webhook": rec.url})
        rule = r.json()
        await st.rt.publisher.publish_many([SubredditDiscovered(name=f"b{i}") for i in range(1000)])
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) FROM notifications WHERE digest"), within=20,
                       what="the digest")
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 6 FROM webhook_deliveries"), what="6 deliveries")
        rows = await st.pool.fetch("SELECT digest, count, entities FROM notifications WHERE rule_id = $1",
                                   rule["id"])
        assert sorted(r["digest"] for r in rows) == [False] * 5 + [True]
        [digest] = [r for r in rows if r["digest"]]
        assert digest["count"] == 995 and len(digest["entities"]) == 20
        assert len(rec.got) == 6 and sum(1 for g in rec.got if g["notification"]["digest"]) == 1
        assert [g["notification"]["count"] for g in rec.got if g["notification"]["digest"]] == [995]


def _env(st: Stack) -> dict[str, str]:
    s = st.alerts_settings
    return {**os.environ, "NATS_URL": s.nats_url, "B9_NAMESPACE": s.b9_namespace, "DATABASE_URL": s.database_url,
            "METRICS_PORT": "-1", "ALERT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "ALERT_WEBHOOK_SECRET": SECRET,
            "ALERT_WEBHOOK_RETRY_SECONDS": "2", "ALERT_WEBHOOK_TIMEOUT": "2", "ALERTS_ACK_WAIT": "2",
            "ALERT_WEBHOOK_CONCURRENCY": "8", "ALERTS_BATCH": "20", "LOG_LEVEL": "WARNING"}


async def test_killing_the_alerts_service_mid_way_loses_none_and_stores_none_twice(
        nats_url: str, namespace: str, database_url: str) -> None:
    async with stack(nats_url, namespace, database_url, alerts=False) as st, receiver() as rec:
        r = await st.client.post("/api/v1/alerts", json={"name": "all", "on": "subreddit.discovered", "cap": 10_000,
                                                         "webhook": rec.url})
        assert r.status_code == 201, r.text
        names = [f"k{i}" for i in range(300)]
        proc = await asyncio.create_subprocess_exec(str(BIN), env=_env(st))
        try:
            await wait_for(lambda: _ready(st), what="the alerts service")
            await st.rt.publisher.publish_many([SubredditDiscovered(name=n) for n in names])
            await wait_for(lambda: len(rec.got) >= 60, what="some deliveries")
            proc.send_signal(signal.SIGKILL)
            assert await proc.wait() == -signal.SIGKILL
            killed_at = len(rec.got)
            assert killed_at < 300  # mid-way
            proc = await asyncio.create_subprocess_exec(str(BIN), env=_env(st))
            await wait_for(lambda: len({g["delivery"] for g in rec.got}) >= 300, within=40, what="every delivery")
            await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 300 FROM webhook_deliveries"), what="logged")
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        assert sorted(set(rec.entities())) == sorted(names)  # none lost
        by_delivery = {g["delivery"]: g["notification"]["entity"] for g in rec.got}
        assert len(by_delivery) == 300 and sorted(by_delivery.values()) == sorted(names)  # one id per entity
        assert await st.pool.fetchval("SELECT count(*) FROM notifications") == 300  # none stored twice
        assert await st.pool.fetchval("SELECT count(DISTINCT entity) FROM notifications") == 300
        assert await st.pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'delivered'") == 300
        assert rec.bad_signatures == 0
        print(f"killed after {killed_at} deliveries; raw deliveries {len(rec.got)} (repeats carry the same id)")


async def _ready(st: Stack) -> bool:
    try:
        await st.rt.js.consumer_info(st.rt.topology.stream("DERIVED"), "alerts-webhooks")
    except Exception:
        return False
    return True


async def test_a_replay_rebuilds_notifications_marked_replayed_and_sends_nothing(st: Stack) -> None:
    await st.rt.publisher.publish_many([SubredditDiscovered(name=f"old{i}") for i in range(5)])
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 5 FROM subreddits"), what="the facts")
    async with receiver() as rec:
        r = await st.client.post("/api/v1/alerts", json={"name": "back", "on": "subreddit.discovered",
                                                         "webhook": rec.url})
        rule = r.json()
        result = await run_replay(load_service("alerts"), st.alerts_settings,
                                  ReplayRequest(target="alerts:alerts", stream="SCRAPE"),
                                  database_url=st.alerts_settings.database_url)
        assert result.report is not None and result.report.handled == 5, result
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 5 FROM notifications"), what="5 rebuilt")
        rows = await st.pool.fetch("SELECT entity, replayed, rule_id FROM notifications ORDER BY entity")
        assert [(r["entity"], r["replayed"], r["rule_id"]) for r in rows] == [
            (f"old{i}", True, rule["id"]) for i in range(5)]
        await st.rt.publisher.publish(SubredditDiscovered(name="new1"))  # the live path still sends
        await wait_for(lambda: rec.got, what="the live delivery")
        await asyncio.sleep(0.3)
        assert rec.entities() == ["new1"]
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 1 FROM webhook_deliveries"), what="one logged")
