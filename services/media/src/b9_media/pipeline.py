"""One media item from URL to object store: known? -> download -> dedup -> process -> upload.

Returns what happened; publishes ``media.stored`` / ``media.failed``. ``MediaError`` becomes
``media.failed`` (a result), ``TransientError`` propagates (the caller retries the event).
Order of writes: object -> ``media.stored`` -> index, so a crash in between only repeats
work that dedup makes cheap, and the deterministic event id lets JetStream drop repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from b9_common.events import MediaFailed, MediaItem, MediaStored
from b9_common.storage import ObjectStore, StorageError, content_type_for

from b9_media.download import Downloader
from b9_media.errors import MediaError, TransientError
from b9_media.images import ImageSpec, ImageWorker, process_image
from b9_media.index import Asset, Index
from b9_media.sniff import IMAGE_TYPES, VIDEO_TYPES
from b9_media.video import Transcoder

log = logging.getLogger(__name__)
Outcome = Literal["stored", "deduplicated", "known", "failed"]
Publish = Callable[[Any, str], Awaitable[object]]
PREFIX = {
    "photo": "photos",
    "thumbnail": "photos",
    "poster": "photos",
    "profile_picture": "profile_pictures",
    "video": "videos",
}


def object_key(kind: str, sha256: str, ext: str) -> str:
    """``photos/ab/cd/<sha256>.jpg``: content-addressed, spread over directories."""
    return f"{PREFIX[kind]}/{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


def event_id(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("|".join(parts).encode()).digest()[:16]))


@dataclass(frozen=True)
class Limits:
    max_image_bytes: int
    max_video_bytes: int
    image_timeout: float
    video_timeout: float


class MediaPipeline:
    def __init__(
        self,
        *,
        store: ObjectStore,
        index: Index,
        downloader: Downloader,
        images: ImageWorker,
        transcoder: Transcoder,
        publish: Publish,
        photo: ImageSpec,
        profile: ImageSpec,
        limits: Limits,
    ) -> None:
        self.store, self.index, self.downloader = store, index, downloader
        self.images, self.transcoder, self.publish = images, transcoder, publish
        self.photo, self.profile, self.limits = photo, profile, limits
        self.counts: dict[str, int] = {"stored": 0, "deduplicated": 0, "known": 0, "failed": 0}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def _single_flight(self, key: str) -> AsyncIterator[None]:
        """One item per object key at a time in this process: a twin waits, then deduplicates."""
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def handle(self, item: MediaItem, *, announce_known: bool = False) -> Outcome:
        outcome = await self._handle(item, announce_known)
        self.counts[outcome] += 1
        return outcome

    async def _handle(self, item: MediaItem, announce_known: bool) -> Outcome:
        known = await self.index.source(item.kind, item.source_id)
        if known is not None:
            asset = await self.index.asset(known)
            if asset is not None:
                if announce_known:
                    await self._stored(item, asset, bytes_in=asset.bytes_in, dedup=True, known=True)
                return "known"
        try:
            if item.kind == "video":
                return await self._video(item)
            return await self._image(item)
        except MediaError as exc:
            log.info(
                "media refused",
                extra={"url": item.url[:200], "reason": exc.reason, "detail": exc.detail},
            )
            failed = MediaFailed(
                source_url=item.url,
                source_id=item.source_id,
                owner=item.owner,
                kind=item.kind,
                reason=exc.reason,
                detail=exc.detail,
            )
            await self.publish(failed, event_id("failed", item.kind, item.source_id, exc.reason))
            return "failed"
        except StorageError as exc:
            raise TransientError(str(exc)) from exc

    async def _existing(self, key: str, sha: str, size_in: int) -> Asset | None:
        """The asset under ``key`` if it is already in the store (dedup before any work)."""
        asset = await self.index.asset(key)
        stored_size = await self.store.size(key)
        if stored_size is None:
            return None
        if asset is None:  # stored, but the index lost it: report what the store knows
            asset = Asset(
                storage_key=key,
                content_hash=sha,
                content_type="",
                bytes_in=size_in,
                bytes_out=stored_size,
            )
        return asset

    async def _finish(self, item: MediaItem, asset: Asset, bytes_in: int, dedup: bool) -> Outcome:
        await self._stored(item, asset, bytes_in=bytes_in, dedup=dedup)
        await self.index.remember_source(item.kind, item.source_id, asset.storage_key)
        return "deduplicated" if dedup else "stored"

    async def _stored(self, item: MediaItem, asset: Asset, *, bytes_in: int, dedup: bool,
                      known: bool = False) -> None:
        event = MediaStored(
            source_url=item.url,
            source_id=item.source_id,
            owner=item.owner,
            kind=item.kind,
            content_hash=asset.content_hash,
            storage_key=asset.storage_key,
            content_type=asset.content_type or content_type_for(asset.storage_key),
            bytes_in=bytes_in,
            bytes_out=asset.bytes_out,
            width=asset.width,
            height=asset.height,
            duration=asset.duration,
            poster_key=asset.poster_key,
            deduplicated=dedup,
        )
        # A re-announcement (backfill of a known item) gets its own id: the first one may be
        # inside JetStream's duplicate window.
        tag = "stored-known" if known else "stored"
        await self.publish(event, event_id(tag, item.kind, item.source_id, asset.storage_key))

    async def _once(self, item: MediaItem, key: str, sha: str, size: int,
                    work: Callable[[], Awaitable[Asset]]) -> Outcome:
        """Dedup check, then ``work`` (process + upload) only if the object is not stored yet."""
        source = f"{item.kind}|{item.source_id}"
        async with self._single_flight(key):
            existing = await self._existing(key, sha, size)
            if existing is not None:
                # The same item again (a redo after a crash) announces exactly what the first
                # attempt would have: only bytes first stored for another item are deduplicated.
                return await self._finish(item, existing, size, dedup=existing.first_source != source)
            asset = await work()
            return await self._finish(item, asset, size, dedup=False)

    async def _put_asset(self, item: MediaItem, asset: Asset) -> Asset:
        """Record the asset before its bytes are uploaded, so a crash after the upload leaves
        a redo everything it needs to announce the same result."""
        asset.first_source = f"{item.kind}|{item.source_id}"
        await self.index.remember_asset(asset)
        return asset

    async def _image(self, item: MediaItem) -> Outcome:
        spec = self.profile if item.kind == "profile_picture" else self.photo
        dl = await self.downloader.fetch(item.url, max_bytes=self.limits.max_image_bytes,
                                         time_limit=self.limits.image_timeout)
        if dl.mime not in IMAGE_TYPES:
            raise MediaError("unsupported", f"expected an image, got {dl.mime or 'unknown bytes'}")
        key = object_key(item.kind, dl.sha256, spec.ext)

        async def work() -> Asset:
            assert dl.data is not None
            result = await self.images.run(process_image, dl.data, spec)
            asset = await self._put_asset(item, Asset(
                storage_key=key, content_hash=dl.sha256, content_type=result.content_type,
                bytes_in=dl.size, bytes_out=len(result.data), width=result.width,
                height=result.height))
            await self.store.put(key, result.data, result.content_type)
            return asset

        return await self._once(item, key, dl.sha256, dl.size, work)

    async def _video(self, item: MediaItem) -> Outcome:
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="b9-media-"))
        try:
            dl = await self.downloader.fetch(item.url, max_bytes=self.limits.max_video_bytes,
                                             time_limit=self.limits.video_timeout,
                                             spool=workdir / "src")
            if dl.mime not in VIDEO_TYPES:
                raise MediaError("unsupported",
                                 f"expected a video, got {dl.mime or 'unknown bytes'}")
            key = object_key("video", dl.sha256, "mp4")
            poster_key = f"{key.removesuffix('.mp4')}.poster.{self.photo.ext}"

            async def work() -> Asset:
                assert dl.path is not None
                out = await self.transcoder.transcode(dl.path, workdir)
                poster_data = await asyncio.to_thread(out.poster.read_bytes)
                poster = await self.images.run(process_image, poster_data, self.photo)
                asset = await self._put_asset(item, Asset(
                    storage_key=key, content_hash=dl.sha256, content_type="video/mp4",
                    bytes_in=dl.size, bytes_out=out.size, width=out.width, height=out.height,
                    duration=round(out.duration, 3), poster_key=poster_key))
                await self.store.put(poster_key, poster.data, poster.content_type)
                await self.store.put(key, out.path, "video/mp4")
                return asset

            return await self._once(item, key, dl.sha256, dl.size, work)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
