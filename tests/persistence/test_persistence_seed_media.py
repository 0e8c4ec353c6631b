"""The seed's media origin and how `b9 seed` reports a media service that refuses it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from b9_common.service import Runtime, serve
from b9_media.main import SERVICE as MEDIA
from b9_media.settings import Settings as MSettings
from b9_persistence.seed_media import MediaOrigin
from b9_persistence.seed_run import ENABLE, run


async def test_origin_serves_distinct_jpegs_and_a_playable_clip() -> None:
    async with MediaOrigin() as origin, aiohttp.ClientSession() as http:
        bodies = {}
        for path in ("thumb/1.jpg", "thumb/2.jpg", "profile/3.jpg", "video/4.mp4"):
            async with http.get(f"{origin.base}/{path}") as r:
                assert r.status == 200, path
                bodies[path] = (r.content_type, await r.read())
        async with http.get(f"{origin.base}/other/x") as r:
            assert r.status == 404
    assert bodies["thumb/1.jpg"][1] != bodies["thumb/2.jpg"][1]  # content-addressed storage keeps both
    assert all(b[:3] == b"\xff\xd8\xff" and t == "image/jpeg" for p, (t, b) in bodies.items() if p.endswith(".jpg"))
    ctype, clip = bodies["video/4.mp4"]
    assert ctype == "video/mp4" and clip[4:8] == b"ftyp" and 10_000 < len(clip) < 2_000_000


async def test_a_media_service_with_production_settings_refuses_and_seed_says_how_to_allow(
        rt: Runtime, nats_url: str, namespace: str, tmp_path: Path) -> None:
    stop = asyncio.Event()
    media = asyncio.create_task(serve(MEDIA, MSettings(  # defaults: https only, no private addresses
        nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, media_store_url=(tmp_path / "m").as_uri()),
        stop=stop, grace=5))
    said: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # the media service's consumer of media.requested exists
            try:
                await rt.js.consumer_info(rt.topology.stream("COMMANDS"), "media-requests")
                break
            except Exception:
                assert loop.time() < deadline, "media service did not start"
                await asyncio.sleep(0.1)
        counts = await run(rt, "small", media=True, media_wait=45, say=said.append)
    finally:
        stop.set()
        await asyncio.wait_for(media, 30)
    assert counts["media stored"] == 0 and counts["media requests"] == 8
    assert any(s.startswith("media: 58 failed (blocked_scheme: 58)") for s in said), said
    assert ENABLE in said
