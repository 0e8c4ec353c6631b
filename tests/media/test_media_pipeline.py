"""The pipeline over a loopback origin: SSRF refusals, caps, dedup, recognised sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from _media_helpers import Origin, bomb_png, loopback_settings, photo_12mp
from b9_common.events import MediaFailed, MediaItem, MediaStored
from b9_common.storage import FileStore
from b9_media.errors import TransientError
from b9_media.safety import StaticResolver
from b9_media.settings import Settings


def _item(url: str, sid: str = "m1", kind: str = "photo") -> MediaItem:
    return MediaItem(url=url, source_id=sid, owner="u1", kind=kind)  # type: ignore[arg-type]


def _strict(**kw: object) -> Settings:
    """Production defaults (https only, no private addresses), with chosen hosts."""
    return Settings(metrics_port=-1, **kw)  # type: ignore[arg-type]


async def _refused(make_pipeline, settings: Settings, url: str, resolver=None) -> MediaFailed:  # type: ignore[no-untyped-def]
    pipeline, published = make_pipeline(settings, resolver=resolver)
    assert await pipeline.handle(_item(url)) == "failed"
    (failed,) = published.of(MediaFailed)
    assert not published.of(MediaStored)
    return failed


async def test_name_resolving_to_loopback_is_refused(make_pipeline) -> None:  # type: ignore[no-untyped-def]
    f = await _refused(make_pipeline, _strict(media_allowed_hosts="localhost"),
                       "https://localhost:9/a.jpg")
    assert f.reason == "blocked_address" and "not a public address" in f.detail


@pytest.mark.parametrize("answers", [["10.1.2.3"], ["192.168.7.7"], ["203.0.113.9", "172.16.0.1"],
                                     ["fd00::1"], ["::ffff:127.0.0.1"]])
async def test_name_resolving_to_private_range_is_refused(make_pipeline, answers) -> None:  # type: ignore[no-untyped-def]
    resolver = StaticResolver({"scontent.cdninstagram.com": answers})
    f = await _refused(make_pipeline, _strict(), "https://scontent.cdninstagram.com/v/a.jpg",
                       resolver=resolver)
    assert f.reason == "blocked_address"


async def test_metadata_and_private_literals_are_refused(make_pipeline) -> None:  # type: ignore[no-untyped-def]
    for url in ("https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/a.jpg",
                "https://[::1]/a.jpg"):
        f = await _refused(make_pipeline, _strict(media_allowed_hosts="*"), url)
        assert f.reason == "blocked_address", url


async def test_file_scheme_http_and_foreign_hosts_are_refused(make_pipeline) -> None:  # type: ignore[no-untyped-def]
    f = await _refused(make_pipeline, _strict(), "file:///etc/passwd")
    assert f.reason == "blocked_scheme"
    f = await _refused(make_pipeline, _strict(), "http://scontent.cdninstagram.com/a.jpg")
    assert f.reason == "blocked_scheme"
    f = await _refused(make_pipeline, _strict(), "https://example.org/a.jpg")
    assert f.reason == "blocked_host"
    f = await _refused(make_pipeline, _strict(), "https://cdninstagram.com.evil.org/a.jpg")
    assert f.reason == "blocked_host"


async def test_redirects_are_checked_again(make_pipeline, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    # Only 127.0.0.1 itself is exempt (to reach the origin); private ranges stay blocked.
    any_host = loopback_settings(media_allowed_hosts="*")
    listed = loopback_settings(media_allowed_hosts="127.0.0.1,*.cdninstagram.com")
    rebind = StaticResolver({"scontent.cdninstagram.com": ["10.9.8.7"]})
    cases = {
        "/to-private": (any_host, "http://10.0.0.8/a.jpg", "blocked_address"),
        "/to-metadata": (any_host, "http://169.254.169.254/latest/", "blocked_address"),
        "/to-name": (listed, "http://scontent.cdninstagram.com/a.jpg", "blocked_address"),
        "/to-foreign": (listed, "https://evil.example.org/a.jpg", "blocked_host"),
        "/to-file": (listed, "file:///etc/passwd", "blocked_scheme"),
    }
    for path, (settings, location, reason) in cases.items():
        url = origin.redirect(path, location)
        f = await _refused(make_pipeline, settings, url, resolver=rebind)
        assert f.reason == reason, (path, f)
        assert origin.hits[path] == 1
    # a redirect to an allowed place is followed
    origin.bytes("/real.jpg", photo_12mp())
    pipeline, _ = make_pipeline(listed)
    assert await pipeline.handle(_item(origin.redirect("/hop", "/real.jpg"))) == "stored"
    assert origin.hits["/real.jpg"] == 1


async def test_oversize_body_is_cut_off_at_the_cap(make_pipeline, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    settings = loopback_settings(media_max_image_bytes=1_000_000)
    f = await _refused(make_pipeline, settings, origin.endless("/endless.jpg"))
    assert f.reason == "too_large" and "cap of 1000000" in f.detail
    f = await _refused(make_pipeline, settings, origin.bytes("/big.jpg", bytes(2_000_000)))
    assert f.reason == "too_large" and "Content-Length" in f.detail


async def test_bomb_not_an_image_and_http_errors(make_pipeline, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    settings = loopback_settings()
    f = await _refused(make_pipeline, settings, origin.bytes("/bomb.png", bomb_png()))
    assert f.reason == "too_many_pixels"
    page = origin.bytes("/page.jpg", b"<html>hello</html>" * 10)
    f = await _refused(make_pipeline, settings, page)
    assert f.reason == "unsupported"
    f = await _refused(make_pipeline, settings, origin.status("/gone.jpg", 404))
    assert f.reason == "http_error"
    pipeline, published = make_pipeline(settings)
    with pytest.raises(TransientError):
        await pipeline.handle(_item(origin.status("/down.jpg", 503)))
    assert not published


async def test_same_bytes_from_two_urls_are_stored_once(make_pipeline, origin: Origin,
                                                        tmp_path: Path) -> None:
    pipeline, published = make_pipeline(loopback_settings())
    data = photo_12mp()
    a, b = origin.bytes("/a.jpg", data), origin.bytes("/b.jpg", data) + "?sig=2"
    assert await pipeline.handle(_item(a, "p1")) == "stored"
    assert await pipeline.handle(_item(b, "p2")) == "deduplicated"
    first, second = published.of(MediaStored)
    assert first.storage_key == second.storage_key and second.deduplicated
    assert (first.width, first.height, first.bytes_in) == (second.width, second.height, len(data))
    assert first.storage_key.startswith(f"photos/{first.content_hash[:2]}/")
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{first.content_hash}.jpg"]
    assert files[0].stat().st_size == first.bytes_out <= 300_000


async def test_known_source_is_recognised_without_downloading(  # type: ignore[no-untyped-def]
        make_pipeline, origin: Origin) -> None:
    pipeline, published = make_pipeline(loopback_settings())
    url = origin.bytes("/p.jpg", photo_12mp())
    assert await pipeline.handle(_item(url, "same")) == "stored"
    assert await pipeline.handle(_item(url, "same")) == "known"
    assert origin.hits["/p.jpg"] == 1
    assert len(published.of(MediaStored)) == 1
    # an explicit request (backfill) is answered from the index, still without downloading
    assert await pipeline.handle(_item(url, "same"), announce_known=True) == "known"
    assert origin.hits["/p.jpg"] == 1
    assert published.of(MediaStored)[-1].deduplicated


async def test_redo_after_a_crash_between_upload_and_announcement_announces_the_same(  # type: ignore[no-untyped-def]
        make_pipeline, origin: Origin, tmp_path: Path) -> None:
    """Killed after the object was uploaded but before media.stored went out: the redelivered
    item must announce exactly what an uninterrupted run would (not a degraded 'deduplicated')."""
    url = origin.bytes("/c.jpg", photo_12mp())
    clean, clean_events = make_pipeline(loopback_settings())
    assert await clean.handle(_item(url, "c1")) == "stored"
    (expected,) = clean_events.of(MediaStored)

    crashed, events = make_pipeline(loopback_settings(), store=FileStore(tmp_path / "other"))
    real_publish = crashed.publish

    async def dies(*_args: object, **_kw: object) -> None:
        raise TransientError("killed before the announcement")

    crashed.publish = dies  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        await crashed.handle(_item(url, "c1"))
    crashed.publish = real_publish  # type: ignore[method-assign]
    assert await crashed.handle(_item(url, "c1")) == "stored"
    (redo,) = events.of(MediaStored)
    assert redo == expected
