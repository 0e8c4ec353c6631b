"""Rules, notifications, read marks and the delivery log are rebuilt from the streams alone, identical."""

from __future__ import annotations

import pytest
from alenv import Stack, receiver, wait_for
from b9_common.events import SubredditDiscovered
from b9_persistence.rebuild_cmd import rebuild_main
from b9_persistence.settings import Settings as PSettings


async def test_alert_tables_rebuild_identical(st: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    async with receiver(plan=lambda n: 404 if n == 0 else 200) as rec:
        kept = (await st.client.post("/api/v1/alerts", json={"name": "kept", "on": "subreddit.discovered",
                                                             "webhook": rec.url})).json()
        await st.client.patch(f"/api/v1/alerts/{kept['id']}", json={"cap": 50})
        gone = (await st.client.post("/api/v1/alerts", json={"name": "gone", "on": "subreddit.fetched"})).json()
        assert (await st.client.delete(f"/api/v1/alerts/{gone['id']}")).status_code == 200
        await st.rt.publisher.publish_many([SubredditDiscovered(name=f"r{i}") for i in range(5)])
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 5 FROM webhook_deliveries"), what="5 outcomes")
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 5 FROM notifications"), what="5 stored")
        newest = (await st.client.get("/api/v1/notifications", params={"per_page": 3})).json()["items"]
        for n in (newest[1], newest[0], newest[2]):  # read marks, one arriving late: the newest stays
            r = await st.client.post("/api/v1/notifications/read", json={"up_to": n["created_at"], "up_to_id": n["id"]})
            assert r.status_code == 200, r.text
    await st.stop_alerts_now()
    s = st.alerts_settings
    settings = PSettings(nats_url=s.nats_url, b9_namespace=s.b9_namespace, metrics_port=-1,
                         database_url=s.database_url)
    assert await rebuild_main(settings, verify=True) == 0
    out = capsys.readouterr().out
    for table in ("alert_rules", "notifications", "webhook_deliveries", "decision_log", "notification_reads"):
        assert table in out, out
    assert await st.pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'failed'") == 1
    assert await st.pool.fetchval("SELECT read_up_to_id FROM notification_reads") == newest[0]["id"]
