"""The alerts service keeps running with insight rules switched off (ALERTS_INSIGHTS_INTERVAL=0)."""

from __future__ import annotations

import asyncio

from alenv import stack, wait_for
from b9_common.events import SubredditDiscovered


async def test_insights_off_the_service_keeps_evaluating(nats_url: str, namespace: str, database_url: str) -> None:
    async with stack(nats_url, namespace, database_url, insights_interval=0) as st:
        r = await st.client.post("/api/v1/alerts", json={"name": "new", "on": "subreddit.discovered"})
        assert r.status_code == 201, r.text
        await asyncio.sleep(1.0)  # a background loop that returned would have ended the service by now
        assert st.alerts_task is not None and not st.alerts_task.done()
        await st.rt.publisher.publish(SubredditDiscovered(name="after_a_second"))
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 1 FROM notifications"), what="the notification")
