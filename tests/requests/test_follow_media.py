"""A followed media request: the media service reports it (here every item is refused, so it
fails with the reason; the counts say how each item ended)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from b9_common.events import MediaItem, MediaRequested, new_id
from b9_common.ops.requests import open_book
from b9_common.service import Runtime, serve
from b9_media.main import SERVICE
from b9_media.settings import Settings
from reqkit import wait_for


async def test_a_media_request_is_reported(rt: Runtime, tmp_path: Path, nats_url: str, namespace: str) -> None:
    book = await open_book(rt.js, rt.topology)
    rid = new_id()
    rec, _ = await book.open({"id": rid, "kind": "media", "target": rid})
    assert rec["status"] == "queued"
    settings = Settings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1,
                        media_store_url=(tmp_path / "media").as_uri())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop))
    try:
        await rt.publisher.publish(MediaRequested(request_id=rid, items=[
            MediaItem(url="https://169.254.169.254/latest/meta-data", source_id="x1", kind="photo"),
            MediaItem(url="http://127.0.0.1:1/nothing.jpg", source_id="x2", kind="photo")]))

        async def finished() -> dict | None:
            got = await book.get(rid)
            return got if got and got["status"] in ("done", "failed") else None

        done = await wait_for(finished, within=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert done["status"] == "failed" and done["reason"] == "failed", done
    assert done["result"] == {"failed": 2}, done
