"""The service end to end on real NATS: creator.scraped and media.requested in, results out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from _media_helpers import Origin, loopback_settings, photo_12mp, png_with_alpha
from b9_common.events import (
    CreatorScraped,
    IgMedia,
    MediaFailed,
    MediaItem,
    MediaRequested,
    MediaStored,
    decoder_for,
)
from b9_common.service import Runtime, serve
from b9_media.main import SERVICE


async def _derived(rt: Runtime) -> list[Any]:
    stream = rt.topology.stream("DERIVED")
    info = await rt.js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        msg = await rt.js.get_msg(stream, seq)
        out.append(decoder_for(rt.topology.type_of(msg.subject)).decode(msg.data).data)
    return out


async def _until(rt: Runtime, n: int, within: float = 30.0) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        events = await _derived(rt)
        if len(events) >= n:
            return events
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {n} derived events, got {events}")
        await asyncio.sleep(0.1)


async def test_service_stores_creator_media_and_answers_requests(
        rt: Runtime, origin: Origin, tmp_path: Path, nats_url: str, namespace: str) -> None:
    settings = loopback_settings(nats_url=nats_url, b9_namespace=namespace,
                                 media_store_url=(tmp_path / "media").as_uri())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop))
    photo = photo_12mp()
    creator = CreatorScraped(
        ig_user_id="42", username="alice",
        profile_pic_url=origin.bytes("/v/t51/profile_42.jpg", png_with_alpha()) + "?oh=1",
        posts=[IgMedia(media_pk="p1", kind="post", post_type="carousel",
                       image_urls=[origin.bytes("/p1.jpg", photo)]),
               IgMedia(media_pk="p2", kind="post", image_urls=[origin.bytes("/p2.jpg", photo)])])
    try:
        await rt.publisher.publish(creator)
        events = await _until(rt, 3)
        stored = [e for e in events if isinstance(e, MediaStored)]
        assert sorted(e.kind for e in stored) == ["photo", "photo", "profile_picture"]
        profile = next(e for e in stored if e.kind == "profile_picture")
        assert max(profile.width or 0, profile.height or 0) == 320 and profile.bytes_out <= 200_000
        photos = [e for e in stored if e.kind == "photo"]
        assert photos[0].storage_key == photos[1].storage_key  # same bytes, one object
        assert sorted(e.deduplicated for e in photos) == [False, True]
        assert (tmp_path / "media" / photos[0].storage_key).stat().st_size == photos[0].bytes_out

        # The same creator scraped again (new CDN signature): recognised, nothing downloaded.
        hits = dict(origin.hits)
        assert creator.profile_pic_url is not None
        new_sig = creator.profile_pic_url.replace("?oh=1", "?oh=2")
        again = CreatorScraped(ig_user_id="42", username="alice", profile_pic_url=new_sig,
                               posts=creator.posts)
        await rt.publisher.publish(again)
        # A backfill request with a refused URL and a known item.
        await rt.publisher.publish(MediaRequested(items=[
            MediaItem(url="https://169.254.169.254/latest/meta-data", source_id="x1", kind="photo"),
            MediaItem(url=photos[0].source_url, source_id="p1:0", owner="42", kind="photo")]))
        events = await _until(rt, 5)
        failed = [e for e in events if isinstance(e, MediaFailed)]
        assert [(f.source_id, f.reason) for f in failed] == [("x1", "blocked_host")]
        answer = [e for e in events if isinstance(e, MediaStored) and e.source_id == "p1:0"]
        assert len(answer) == 2 and answer[1].deduplicated
        assert answer[1].storage_key == photos[0].storage_key
        await asyncio.sleep(0.5)
        assert len(await _derived(rt)) == 5  # the re-scrape published nothing new
        assert origin.hits == hits
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
