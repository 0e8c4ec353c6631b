"""A command that is dead-lettered fails its followed request within seconds, with the DLQ's
reason, and the live feed sends the change (#18). Real services (reddit-scraper, media) on real
NATS; the commands are malformed the way a bad publisher or an old schema would make them (they
do not decode), so no handler ever runs and only the dead-lettering can tell the request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
from b9_common.events import new_id
from b9_common.ops.requests import open_book
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_media.main import SERVICE as MEDIA
from b9_media.settings import Settings as MediaSettings
from b9_reddit_scraper.tracked import StaticTracked
from reqkit import API_KEY, gateway_server, request_changes, wait_for
from stack import base, reddit_service, reddit_settings, running
from upstreams import closed_port

WITHIN = 10.0  # seconds from the publish to a failed request ("within seconds")


def _malformed(type_: str, rid: str, data: dict[str, Any]) -> bytes:
    return msgspec.json.encode({"id": rid, "type": type_, "version": 1, "occurred_at": "2026-12-02T00:00:00Z",
                                "source": "old-publisher", "trace": "", "data": {**data, "request_id": rid}})


async def _consumer(rt: Runtime, name: str) -> None:
    async def exists() -> bool:
        try:
            await rt.js.consumer_info(rt.topology.stream("COMMANDS"), name)
            return True
        except Exception:
            return False

    await wait_for(exists, within=20)


async def _publish_and_wait(rt: Runtime, type_: str, rid: str, data: dict[str, Any]) -> tuple[dict[str, Any], float]:
    book = await open_book(rt.js, rt.topology)
    t0 = time.monotonic()
    await rt.publisher.publish_raw(rt.topology.subject(type_), _malformed(type_, rid, data), {"Nats-Msg-Id": rid})

    async def failed() -> dict[str, Any] | None:
        rec = await book.get(rid)
        return rec if rec and rec["status"] != "queued" else None

    rec = await wait_for(failed, within=30)
    return rec, time.monotonic() - t0


async def test_a_malformed_command_fails_its_request_and_the_feed_sends_it(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    changes: list[dict[str, Any]] = []
    async with (
        running((reddit_service(StaticTracked([])), reddit_settings(common_settings, dead))),
        gateway_server(common_settings, database_url, tmp_path) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as api,
    ):
        await _consumer(rt, "reddit-scraper-commands")
        book = await open_book(rt.js, rt.topology)
        rid = new_id()
        ready = asyncio.Event()
        task = asyncio.create_task(request_changes(api, ready, changes, rid=lambda: rid))
        await asyncio.wait_for(ready.wait(), 15)
        await book.open({"id": rid, "kind": "subreddit", "target": "malformed_sub"})  # as the gateway does
        rec, took = await _publish_and_wait(rt, "scrape.requested.reddit", rid,
                                            {"kind": "channel", "name": "malformed_sub"})  # no such kind
        await asyncio.wait_for(task, 30)
        answer = (await api.get(f"/api/v1/requests/{rid}")).json()
    assert rec["status"] == "failed" and rec["reason"] == "dead_lettered", rec
    assert took < WITHIN, f"failed {took:.1f} s after the publish"
    assert "dead-lettered by reddit-scraper-commands" in rec["message"] and "channel" in rec["message"], rec
    assert rec["dead_letter"]["type"] == "scrape.requested.reddit"
    assert [c["status"] for c in changes] == ["queued", "failed"], changes  # the feed pushed both
    assert changes[-1]["reason"] == "dead_lettered" and changes[-1]["message"] == rec["message"]
    assert answer["status"] == "failed" and answer["reason"] == "dead_lettered", answer
    # the dead letter itself is where it always was
    dlq = await rt.js.stream_info(rt.topology.stream("DLQ"), subjects_filter=rt.topology.dlq_subject(">"))
    assert dlq.state.messages >= 1


async def test_a_media_command_that_does_not_decode_fails_too_and_finished_requests_stay(
        rt: Runtime, common_settings: CommonSettings, tmp_path: Path) -> None:
    settings = MediaSettings(**base(common_settings), media_store_url=(tmp_path / "m").as_uri())
    book = await open_book(rt.js, rt.topology)
    async with running((MEDIA, settings)):
        await _consumer(rt, "media-requests")
        rid = new_id()
        await book.open({"id": rid, "kind": "media", "target": rid})
        rec, took = await _publish_and_wait(rt, "media.requested", rid,
                                            {"items": [{"url": 7, "source_id": "x", "kind": "photo"}]})
        assert rec["status"] == "failed" and rec["reason"] == "dead_lettered" and took < WITHIN, (rec, took)
        assert "dead-lettered by media-requests" in rec["message"], rec

        # a request that already ended keeps its outcome; one never opened is not created
        done_id, ghost = new_id(), new_id()
        await book.open({"id": done_id, "kind": "media", "target": done_id})
        await book.set(done_id, "done", result={"stored": 1})
        await rt.publisher.publish_raw(rt.topology.subject("media.requested"),
                                       _malformed("media.requested", done_id, {"items": 3}), {"Nats-Msg-Id": done_id})
        await rt.publisher.publish_raw(rt.topology.subject("media.requested"),
                                       _malformed("media.requested", ghost, {"items": 3}), {"Nats-Msg-Id": ghost})

        async def both_dead_lettered() -> bool:
            info = await rt.js.consumer_info(rt.topology.stream("COMMANDS"), "media-requests")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await wait_for(both_dead_lettered, within=20)
        await asyncio.sleep(1.0)  # the reports are written just after the dead letter
    assert (await book.get(done_id) or {}).get("status") == "done"
    assert await book.get(ghost) is None
