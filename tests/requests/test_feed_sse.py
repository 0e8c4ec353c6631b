"""The live feed over real HTTP (uvicorn): a client of GET /api/v1/events?subject=request.changed
gets each change of a followed request -- queued when it is opened, then failed with the reason
when Reddit cannot be reached."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_reddit_scraper.tracked import StaticTracked
from reqkit import API_KEY, gateway_server, request_changes
from stack import put_control, reddit_service, reddit_settings, running
from upstreams import closed_port


async def test_the_feed_sends_each_change_of_a_request(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    changes: list[dict[str, Any]] = []
    async with (
        running((reddit_service(StaticTracked([])), reddit_settings(common_settings, dead))),
        gateway_server(common_settings, database_url, tmp_path) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as api,
    ):
        ready = asyncio.Event()
        task = asyncio.create_task(request_changes(api, ready, changes, max_seconds=25))
        await asyncio.wait_for(ready.wait(), 15)
        r = await api.post("/api/v1/subreddits", json={"name": "nowhere_sub"})
        rid = r.json()["request_id"]
        await asyncio.wait_for(task, 30)
    assert [c["id"] for c in changes] == [rid] * len(changes)
    statuses = [c["status"] for c in changes]
    assert statuses[0] == "queued" and statuses[-1] == "failed", statuses
    assert set(statuses) <= {"queued", "running", "failed"}, statuses
    assert changes[-1]["reason"] == "connection" and "refused" in changes[-1]["message"]
