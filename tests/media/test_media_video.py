"""A generated 15 s 1080p clip becomes 720p H.264 <= 1.5 MB with a poster (one ffmpeg run)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import pyvips
from _media_helpers import Origin, loopback_settings
from b9_common.events import MediaItem, MediaStored
from b9_media.main import ffmpeg_path
from b9_media.video import parse_probe, plan_bitrates


async def _ffmpeg(*args: str) -> str:
    ffmpeg = ffmpeg_path(loopback_settings())
    proc = await asyncio.create_subprocess_exec(ffmpeg, "-hide_banner", "-nostdin", *args,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = await proc.communicate()
    return err.decode()


def test_bitrate_plan_fits_the_budget() -> None:
    video, audio = plan_bitrates(15.0, 1_500_000, has_audio=True)
    assert (video + audio) * 1000 / 8 * 15 <= 1_500_000 * 0.9 + 1
    assert audio == 96 and video > 500
    assert plan_bitrates(15.0, 1_500_000, has_audio=False)[1] == 0
    assert plan_bitrates(3.0, 1_500_000, True)[0] == 2500  # short clips: capped, not huge


@pytest.mark.slow
async def test_1080p_clip_becomes_720p_h264_with_poster(make_pipeline, origin: Origin,
                                                        tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    err = await _ffmpeg("-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=15",
                        "-f", "lavfi", "-i", "sine=frequency=440:duration=15",
                        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M",
                        "-c:a", "aac", "-shortest", str(src))
    assert src.exists(), err
    source = parse_probe(await _ffmpeg("-i", str(src)))
    assert (source.width, source.height) == (1920, 1080) and source.duration >= 14.9
    data = src.read_bytes()
    assert len(data) > 5_000_000

    pipeline, published = make_pipeline(loopback_settings())
    url = origin.bytes("/reel.mp4", data)
    item = MediaItem(url=url, source_id="r1:video", owner="u1", kind="video")
    assert await pipeline.handle(item) == "stored"
    (stored,) = published.of(MediaStored)
    assert stored.content_type == "video/mp4" and stored.bytes_in == len(data)
    assert (stored.width, stored.height) == (1280, 720)
    assert 14.5 <= (stored.duration or 0) <= 15.5
    out = tmp_path / "store" / stored.storage_key
    body = out.read_bytes()
    assert len(body) == stored.bytes_out <= 1_500_000
    assert body.index(b"moov") < body.index(b"mdat")  # +faststart: index first
    info = await _ffmpeg("-i", str(out))
    assert "Video: h264" in info and "yuv420p" in info and "Audio: aac" in info
    assert stored.poster_key and stored.poster_key.endswith(".poster.jpg")
    poster = (tmp_path / "store" / stored.poster_key).read_bytes()
    img = pyvips.Image.new_from_buffer(poster, "")
    assert (img.width, img.height) == (1080, 608) and len(poster) <= 300_000
