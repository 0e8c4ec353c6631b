"""The media handlers through the fakes: a real pipeline over a file store, its KV index on
``FakeKV``, and a loopback HTTP origin (in this process) for the one download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pyvips
from aiohttp import web
from b9_common.events import CreatorScraped, IgMedia, MediaItem, MediaRequested
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, RequestBook
from b9_common.storage import FileStore
from b9_common.testing import FakeKV, FakePublisher, run_handler
from b9_media.download import Downloader
from b9_media.handlers import make_handlers
from b9_media.images import ImageSpec, ImageWorker
from b9_media.index import KvIndex
from b9_media.pipeline import Limits, MediaPipeline
from b9_media.safety import UrlPolicy
from b9_media.video import Transcoder

SCRAPED = ConsumerSpec(name="media", stream="SCRAPE", subjects=(), max_deliver=6)
REQUESTED = ConsumerSpec(name="media-requests", stream="COMMANDS", subjects=(), max_deliver=6)


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    jpeg: bytes = pyvips.Image.black(64, 48, bands=3).linear(1, [200, 120, 40]).cast("uchar").jpegsave_buffer()

    async def photo(_: web.Request) -> web.Response:
        return web.Response(body=jpeg, content_type="image/jpeg")

    async def busy(_: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/p/{name}", photo)
    app.router.add_get("/busy/{name}", busy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def media(tmp_path: Path, origin: str) -> AsyncIterator[tuple[MediaPipeline, FakePublisher, FakeKV]]:
    port = int(origin.rsplit(":", 1)[1])
    pub, kv = FakePublisher(source="media@test"), FakeKV("media_sources")
    policy = UrlPolicy(allowed_hosts=("cdninstagram.com",), allowed_origins=(("http", "127.0.0.1", port),))

    async def publish(payload: object, id_: str) -> object:
        return await pub.publish(payload, id_=id_)

    pipeline = MediaPipeline(
        store=FileStore(tmp_path / "store"), index=KvIndex(kv), downloader=Downloader(policy),  # type: ignore[arg-type]
        images=ImageWorker(1), transcoder=Transcoder("ffmpeg"), publish=publish,
        photo=ImageSpec(1080, 300_000), profile=ImageSpec(320, 100_000), limits=Limits(10_000_000, 50_000_000, 10, 60))
    yield pipeline, pub, kv
    await pipeline.downloader.close()
    await pipeline.images.close()


def creator(origin: str, **kw: object) -> CreatorScraped:
    post = IgMedia(media_pk="111", kind="post", image_urls=[f"{origin}/p/a.jpg"])
    return CreatorScraped(ig_user_id="42", username="ann", posts=[post], **kw)  # type: ignore[arg-type]


async def test_a_creators_photo_is_stored_once_then_known(media: tuple[MediaPipeline, FakePublisher, FakeKV],
                                                          origin: str) -> None:
    pipeline, pub, kv = media
    on_creator, _ = make_handlers(pipeline)
    out = await run_handler(on_creator, creator(origin), spec=SCRAPED)
    assert out.outcome == "ack"
    [stored] = pub.payloads("media.stored")
    assert (stored.source_id, stored.owner, stored.kind, stored.deduplicated) == ("111:0", "42", "photo", False)
    assert any(k.startswith("asset/") for k in kv.values())
    again = await run_handler(on_creator, creator(origin), spec=SCRAPED, num_delivered=2)
    assert (again.outcome, again.reason) == ("skip", "all media already stored") and len(pub.sent) == 1


async def test_creators_without_media_or_gone_are_skipped(media: tuple[MediaPipeline, FakePublisher, FakeKV],
                                                          origin: str) -> None:
    pipeline, pub, _ = media
    on_creator, _ = make_handlers(pipeline)
    none = await run_handler(on_creator, CreatorScraped(ig_user_id="42", username="ann"), spec=SCRAPED)
    gone = await run_handler(on_creator, creator(origin, availability="not_found"), spec=SCRAPED)
    assert [(o.outcome, o.reason) for o in (none, gone)] == [("skip", "no media"), ("skip", "creator not_found")]
    assert pub.sent == []


async def test_an_upstream_or_index_outage_retries_the_event(media: tuple[MediaPipeline, FakePublisher, FakeKV],
                                                             origin: str) -> None:
    pipeline, pub, kv = media
    on_creator, _ = make_handlers(pipeline)
    busy = CreatorScraped(ig_user_id="42", username="ann", profile_pic_url=f"{origin}/busy/me.jpg")
    out = await run_handler(on_creator, busy, spec=SCRAPED, num_delivered=2)
    assert (out.outcome, out.delay) == ("retry", 2.0) and "upstream answered 503" in out.reason
    kv.fail = "bucket away"
    out = await run_handler(on_creator, creator(origin), spec=SCRAPED)
    assert out.outcome == "retry" and "media index unavailable" in out.reason and pub.sent == []


async def test_a_request_reports_failed_when_every_item_is_refused(media: tuple[MediaPipeline, FakePublisher, FakeKV],
                                                                   origin: str) -> None:
    pipeline, pub, _ = media
    book = RequestBook(FakeKV())  # type: ignore[arg-type]
    _, on_request = make_handlers(pipeline, Reporter(book, "media-1"))
    refused = MediaRequested(items=[MediaItem(url="https://evil.example/x.jpg", source_id="x1")], request_id="m1")
    out = await run_handler(on_request, refused, spec=REQUESTED)
    assert out.outcome == "ack"  # a refusal is a result (media.failed), not an error
    [failed] = pub.payloads("media.failed")
    assert (failed.source_id, failed.reason) == ("x1", "blocked_host")
    record = await book.get("m1") or {}
    assert (record["status"], record["result"]) == ("failed", {"failed": 1})


async def test_a_request_for_known_media_announces_it_again(media: tuple[MediaPipeline, FakePublisher, FakeKV],
                                                            origin: str) -> None:
    pipeline, pub, _ = media
    on_creator, on_request = make_handlers(pipeline)
    await run_handler(on_creator, creator(origin), spec=SCRAPED)
    item = MediaItem(url=f"{origin}/p/a.jpg", source_id="111:0", owner="42")
    out = await run_handler(on_request, MediaRequested(items=[item]), spec=REQUESTED)
    assert out.outcome == "ack"
    first, second = pub.envelopes
    assert second.data.storage_key == first.data.storage_key and first.id != second.id
