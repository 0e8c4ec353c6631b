"""MEDIA_ALLOWED_ORIGINS: one exact origin (scheme, IP, port) is fetched as it is -- how `b9 up`
lets its media service fetch the seed's loopback origin -- while everything else keeps the
production policy: the same address on another port, a name for it, an odd spelling of it and
a redirect from the named origin to another loopback port are all refused."""

from __future__ import annotations

import pytest
from _media_helpers import Origin, photo_12mp
from b9_common.events import MediaFailed, MediaItem
from b9_common.settings import ConfigError
from b9_media.safety import StaticResolver
from b9_media.settings import Settings
from yarl import URL


async def _outcome(make_pipeline, settings: Settings, url: str, resolver=None) -> MediaFailed | str:  # type: ignore[no-untyped-def]
    pipeline, published = make_pipeline(settings, resolver=resolver)
    result = await pipeline.handle(MediaItem(url=url, source_id="m1", owner="u1", kind="photo"))
    if result == "failed":
        (failed,) = published.of(MediaFailed)
        return failed
    return str(result)


def _production_plus(origin: str) -> Settings:
    """The defaults (https only, the Instagram CDNs, public addresses) plus one named origin."""
    s = Settings(metrics_port=-1, media_allowed_origins=origin)
    s.validate()
    return s


async def test_the_named_origin_is_fetched_and_nothing_next_to_it(make_pipeline, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    url = origin.bytes("/ok.jpg", photo_12mp())
    port = URL(origin.base).port
    settings = _production_plus(f"http://127.0.0.1:{port}")
    assert await _outcome(make_pipeline, settings, url) == "stored"
    assert origin.hits["/ok.jpg"] == 1

    other_port = port + 1 if port < 65535 else port - 1
    refused = {
        f"http://127.0.0.1:{other_port}/ok.jpg": "blocked_scheme",  # another port: the usual rules
        f"https://127.0.0.1:{port}/ok.jpg": "blocked_host",  # another scheme: not the origin named
        f"http://localhost:{port}/ok.jpg": "blocked_scheme",  # a name for it
        f"http://127.1:{port}/ok.jpg": "blocked_scheme",  # an odd spelling of it
        f"http://user:pw@127.0.0.1:{port}/ok.jpg": "blocked_scheme",  # credentials are never fetched
    }
    for bad, reason in refused.items():
        f = await _outcome(make_pipeline, settings, bad)
        assert isinstance(f, MediaFailed) and f.reason == reason, (bad, f)
    # a redirect from the named origin is a new hop, checked by the production rules
    hop = origin.redirect("/hop.jpg", f"http://127.0.0.1:{other_port}/ok.jpg")
    f = await _outcome(make_pipeline, settings, hop)
    assert isinstance(f, MediaFailed) and f.reason == "blocked_scheme", f
    assert origin.hits["/ok.jpg"] == 1  # nothing but the named origin's own URL reached it


async def test_an_allowed_name_that_resolves_to_the_origins_address_is_still_refused(  # type: ignore[no-untyped-def]
        make_pipeline, origin: Origin) -> None:
    origin.bytes("/ok.jpg", photo_12mp())
    port = URL(origin.base).port
    s = Settings(metrics_port=-1, media_allowed_hosts="*.test", media_allow_http=True,
                 media_allowed_origins=f"http://127.0.0.1:{port}")
    f = await _outcome(make_pipeline, s, f"http://cdn.test:{port}/ok.jpg", StaticResolver({"cdn.test": ["127.0.0.1"]}))
    assert isinstance(f, MediaFailed) and f.reason == "blocked_address", f
    assert origin.hits.get("/ok.jpg", 0) == 0


@pytest.mark.parametrize("value", ["http://localhost:8123", "http://127.0.0.1", "ftp://127.0.0.1:21",
                                   "http://127.0.0.1:8123/seed", "http://a:b@127.0.0.1:8123", "http://127.1:8123"])
def test_only_exact_ip_origins_are_accepted(value: str) -> None:
    with pytest.raises(ConfigError, match="MEDIA_ALLOWED_ORIGINS"):
        Settings(metrics_port=-1, media_allowed_origins=value).validate()
