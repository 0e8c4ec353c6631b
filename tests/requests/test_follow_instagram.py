"""Requests people can follow, Instagram side: without a key "Add creator" and "Get related
creators" are refused at once (409, nothing queued); with a loopback provider an added creator
ends done with a link, one that does not exist fails with not_found."""

from __future__ import annotations

import json
from pathlib import Path

from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from reqkit import events, gateway, poll_status, wait_for
from stack import ig_service, ig_settings, running
from upstreams import Answer, Upstream, closed_port

KEY = "test-key-123"
NO_MORE = json.dumps({"items": [], "paging_info": {"more_available": False}}).encode()


def profile(username: str, ig_id: str) -> bytes:
    return json.dumps({"status": True, "id": ig_id, "username": username, "full_name": username.title(),
                       "is_private": False, "edge_followed_by": {"count": 1200},
                       "edge_follow": {"count": 80}}).encode()


async def test_without_a_key_add_and_related_are_refused_at_once(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    keyless = ig_settings(common_settings, f"http://127.0.0.1:{closed_port()}", "")
    async with running((ig_service(), keyless)), gateway(common_settings, database_url, tmp_path) as (api, _):
        async def unconfigured() -> bool:
            s = (await api.get("/api/v1/scrapers/instagram")).json()
            return [r["status"] for r in s["replicas"]] == ["not_configured"]

        await wait_for(unconfigured, within=15)
        add = await api.post("/api/v1/creators", json={"username": "someone"})
        related = await api.post("/api/v1/creators/related", json={"batch_size": 5})
    for r in (add, related):
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "not_configured" and "INSTAGRAM_API_KEY" in r.json()["detail"]
    assert await events(rt, "scrape.requested.instagram") == []


async def test_an_added_creator_ends_done_or_failed_with_the_reason(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    up = Upstream({"profile?username=alice": Answer(200, profile("alice", "5550001")),
                   "profile?username=ghost": Answer(404, b'{"message": "user not found"}'),
                   "reels": Answer(200, NO_MORE), "user-feeds": Answer(200, NO_MORE)})
    await up.start()
    try:
        async with (
            running((ig_service(), ig_settings(common_settings, up.url, KEY))),
            gateway(common_settings, database_url, tmp_path) as (api, _),
        ):
            alice = (await api.post("/api/v1/creators", json={"username": "alice"})).json()
            ghost = (await api.post("/api/v1/creators", json={"username": "ghost"})).json()
            done = await poll_status(api, alice["status_url"], ("done", "failed"))
            gone = await poll_status(api, ghost["status_url"], ("done", "failed"))
    finally:
        await up.stop()
    assert done["status"] == "done", (done["reason"], done["message"], done["result"])
    assert done["result"]["page"] == "#/instagram/creators/5550001" and done["result"]["ig_user_id"] == "5550001"
    assert (gone["status"], gone["reason"]) == ("failed", "not_found"), gone
    attempts = {a.target: a.request_id for a in await events(rt, "scrape.attempted")}
    assert attempts == {"alice": alice["request_id"], "ghost": ghost["request_id"]}
