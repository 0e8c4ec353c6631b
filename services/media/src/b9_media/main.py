"""Entry point: ``SERVICE`` and ``main()``; ``bootstrap`` assembles the adapters."""

from __future__ import annotations

from typing import Any

from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, open_book
from b9_common.replay.owner import replayable
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run
from b9_common.storage import open_store

from b9_media import __version__
from b9_media.download import Downloader
from b9_media.handlers import make_handlers
from b9_media.images import ImageSpec, ImageWorker
from b9_media.index import KvIndex
from b9_media.pipeline import Limits, MediaPipeline
from b9_media.safety import UrlPolicy
from b9_media.settings import Settings
from b9_media.video import Transcoder

SCRAPED = ConsumerSpec(
    name="media",
    stream="SCRAPE",
    subjects=("creator.scraped",),
    max_deliver=6,
    ack_wait=120.0,
    max_ack_pending=64,
    description="media: store creators' photos, videos and profile pictures",
)
REQUESTED = ConsumerSpec(
    name="media-requests",
    stream="COMMANDS",
    subjects=("media.requested",),
    max_deliver=6,
    ack_wait=120.0,
    max_ack_pending=64,
    description="media: backfill of CDN URLs",
)


def ffmpeg_path(settings: Settings) -> str:
    if settings.ffmpeg_binary:
        return settings.ffmpeg_binary
    import imageio_ffmpeg

    path: str = imageio_ffmpeg.get_ffmpeg_exe()
    return path


def image_specs(s: Settings) -> tuple[ImageSpec, ImageSpec]:
    common: dict[str, Any] = {
        "format": s.media_image_format,
        "quality": s.media_image_quality,
        "min_quality": s.media_image_min_quality,
        "max_pixels": s.media_max_pixels,
    }
    return (
        ImageSpec(s.media_photo_max_edge, s.media_photo_max_bytes, **common),
        ImageSpec(s.media_profile_max_edge, s.media_profile_max_bytes, **common),
    )


def url_policy(s: Settings) -> UrlPolicy:
    return UrlPolicy(
        allowed_hosts=s.allowed_hosts(),
        allow_http=s.media_allow_http,
        allow_private=s.media_allow_private_addresses,
        allowed_networks=s.allowed_networks(),
        allowed_origins=s.allowed_origins(),
    )


async def bootstrap(settings: Settings, rt: Runtime, **overrides: Any) -> App:
    """Build the pipeline; ``overrides`` replaces adapters (tests pass a resolver or a store)."""
    store = overrides.get("store") or open_store(settings.media_store_url, settings)
    index = overrides.get("index") or await KvIndex.open(rt.js, rt.topology)
    downloader = Downloader(
        url_policy(settings),
        max_redirects=settings.media_max_redirects,
        concurrency=settings.media_download_concurrency,
        resolver=overrides.get("resolver"),
        user_agent=f"b9-media/{__version__}",
    )
    await downloader.start()
    images = ImageWorker(settings.media_image_workers)
    transcoder = Transcoder(
        ffmpeg_path(settings),
        max_edge=settings.media_video_max_edge,
        target_bytes=settings.media_video_target_bytes,
        timeout=settings.media_video_timeout,
        max_seconds=settings.media_video_max_seconds,
        preset=settings.media_video_preset,
    )
    photo, profile = image_specs(settings)

    async def publish(payload: Any, id_: str) -> object:
        return await rt.publisher.publish(payload, id_=id_)

    pipeline = MediaPipeline(
        store=store,
        index=index,
        downloader=downloader,
        images=images,
        transcoder=transcoder,
        publish=publish,
        photo=photo,
        profile=profile,
        limits=Limits(
            settings.media_max_image_bytes,
            settings.media_max_video_bytes,
            settings.media_image_download_timeout,
            settings.media_video_download_timeout,
        ),
    )
    on_creator, on_request = make_handlers(pipeline, Reporter(await open_book(rt.js, rt.topology), rt.replica))
    return App(
        consumers=[
            ConsumerDef(SCRAPED, handler=on_creator, concurrency=4),
            ConsumerDef(REQUESTED, handler=on_request, concurrency=4),
        ],
        closers=[downloader.close, images.close, store.close],
        status=lambda: {"status": "ok", "store": store.scheme, **pipeline.counts},
    )


# replayable: also runs replay.requested.media (b9_common.replay.owner)
SERVICE = replayable(ServiceDef(name="media", version=__version__, settings_cls=Settings, bootstrap=bootstrap))


def main() -> None:
    run(SERVICE)
