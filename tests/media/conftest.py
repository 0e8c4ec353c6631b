"""Fixtures for the media tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _media_helpers import Origin, Published
from b9_common.storage import FileStore
from b9_media.download import Downloader
from b9_media.images import ImageWorker
from b9_media.index import MemoryIndex
from b9_media.main import ffmpeg_path, image_specs, url_policy
from b9_media.pipeline import Limits, MediaPipeline
from b9_media.settings import Settings
from b9_media.video import Transcoder

Factory = Callable[..., tuple[MediaPipeline, Published]]


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    o = Origin()
    await o.start()
    yield o
    await o.stop()


@pytest.fixture
async def make_pipeline(tmp_path: Path) -> AsyncIterator[Factory]:
    """Build a pipeline over a FileStore in tmp_path and an in-memory index."""
    made: list[MediaPipeline] = []

    def factory(settings: Settings, *, store: Any = None, resolver: Any = None
                ) -> tuple[MediaPipeline, Published]:
        published = Published()
        photo, profile = image_specs(settings)
        pipeline = MediaPipeline(
            store=store or FileStore(tmp_path / "store"), index=MemoryIndex(),
            downloader=Downloader(url_policy(settings), resolver=resolver),
            images=ImageWorker(1),
            transcoder=Transcoder(ffmpeg_path(settings),
                                  target_bytes=settings.media_video_target_bytes),
            publish=published, photo=photo, profile=profile,
            limits=Limits(settings.media_max_image_bytes, settings.media_max_video_bytes, 10, 60))
        made.append(pipeline)
        return pipeline, published

    yield factory
    for p in made:
        await p.downloader.close()
        await p.images.close()
