"""SSRF classes through the whole download path (pipeline -> Downloader -> aiohttp with the guarded
resolver): every address class that is not public unicast is refused as a permanent failure
(``MediaFailed``, never a retry), including the IPv6 forms that carry a private IPv4 address,
odd IPv4 spellings, credentials in URLs and a DNS answer whose SECOND address is private.
The allowed case is a real HTTP server on loopback reached through a name."""

from __future__ import annotations

import ipaddress

import pytest
from _media_helpers import Origin, loopback_settings, photo_12mp
from b9_common.events import MediaFailed, MediaItem
from b9_common.net.safety import address_problem, literal_host
from b9_media.safety import Blocked, StaticResolver, UrlPolicy
from b9_media.settings import Settings
from yarl import URL


def _item(url: str) -> MediaItem:
    return MediaItem(url=url, source_id="m1", owner="u1", kind="photo")


async def _outcome(make_pipeline, settings: Settings, url: str, resolver=None) -> MediaFailed | str:  # type: ignore[no-untyped-def]
    pipeline, published = make_pipeline(settings, resolver=resolver)
    result = await pipeline.handle(_item(url))  # a TransientError here (retry) fails the test
    if result == "failed":
        (failed,) = published.of(MediaFailed)
        return failed
    return str(result)


ANY_HOST = Settings(metrics_port=-1, media_allowed_hosts="*")  # production policy, every host listed

BLOCKED_LITERALS = {
    "multicast v4": "https://224.0.0.251/a.jpg",
    "multicast v6": "https://[ff02::1]/a.jpg",
    "CGNAT": "https://100.64.12.34/a.jpg",
    "this network": "https://0.0.0.0/a.jpg",
    "6to4 of loopback": "https://[2002:7f00:1::1]/a.jpg",
    "6to4 of 10/8": "https://[2002:a00:1::]/a.jpg",
    "6to4 of metadata": "https://[2002:a9fe:a9fe::1]/latest/",
    "NAT64 of loopback": "https://[64:ff9b::7f00:1]/a.jpg",
    "NAT64 of 192.168/16": "https://[64:ff9b::c0a8:101]/a.jpg",
    "local NAT64": "https://[64:ff9b:1::a00:1]/a.jpg",
    "IPv4-compatible loopback": "https://[::127.0.0.1]/a.jpg",
    "Teredo": "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/a.jpg",
    "IETF 192.0.0/24": "https://192.0.0.8/a.jpg",
}


@pytest.mark.parametrize("url", BLOCKED_LITERALS.values(), ids=BLOCKED_LITERALS.keys())
async def test_non_public_literals_are_refused(make_pipeline, url: str) -> None:  # type: ignore[no-untyped-def]
    f = await _outcome(make_pipeline, ANY_HOST, url)
    assert isinstance(f, MediaFailed) and f.reason == "blocked_address", f
    assert "not a public address" in f.detail


@pytest.mark.parametrize("host", ["127.1", "127.0.1", "0x7f.1", "0x7f000001", "2130706433", "0177.0.0.1",
                                  "017700000001", "10.1"])
async def test_short_and_odd_ipv4_forms_are_refused_not_retried(make_pipeline, host: str) -> None:  # type: ignore[no-untyped-def]
    f = await _outcome(make_pipeline, ANY_HOST, f"https://{host}/a.jpg")
    assert isinstance(f, MediaFailed) and f.reason == "blocked_host", f
    assert "non-canonical IPv4" in f.detail


@pytest.mark.parametrize("url", ["https://user:pw@scontent.cdninstagram.com/a.jpg",
                                 "https://token@scontent.cdninstagram.com/a.jpg",
                                 "https://scontent.cdninstagram.com@127.0.0.1/a.jpg"])
async def test_credentials_in_urls_are_refused(make_pipeline, url: str) -> None:  # type: ignore[no-untyped-def]
    f = await _outcome(make_pipeline, ANY_HOST, url)
    assert isinstance(f, MediaFailed) and f.reason == "blocked_host" and "credentials" in f.detail, f


@pytest.mark.parametrize("answers", [["93.184.216.34", "10.0.0.7"], ["93.184.216.34", "100.64.0.9"],
                                     ["2606:2800:220:1::1", "64:ff9b::a00:7"],
                                     ["2606:2800:220:1::1", "2002:c0a8:101::1"],
                                     ["93.184.216.34", "224.0.0.9"], ["93.184.216.34", "0.0.0.0"]])
async def test_a_private_second_dns_answer_refuses_the_host(make_pipeline, answers: list[str]) -> None:  # type: ignore[no-untyped-def]
    resolver = StaticResolver({"scontent.cdninstagram.com": answers})
    f = await _outcome(make_pipeline, Settings(metrics_port=-1), "https://scontent.cdninstagram.com/a.jpg",
                       resolver=resolver)
    assert isinstance(f, MediaFailed) and f.reason == "blocked_address", f
    assert answers[1] in f.detail


async def test_allowed_name_on_loopback_is_fetched_and_a_private_second_answer_is_not(  # type: ignore[no-untyped-def]
        make_pipeline, origin: Origin) -> None:
    """Through aiohttp's resolver interface: ``cdn.test`` -> 127.0.0.1 (the one network the test
    settings allow) is downloaded from the real loopback server; ``mixed.test`` -> 127.0.0.1 then
    10.0.0.1 is refused before any connection (the origin sees no request)."""
    origin.bytes("/ok.jpg", photo_12mp())
    port = URL(origin.base).port
    resolver = StaticResolver({"cdn.test": ["127.0.0.1"], "mixed.test": ["127.0.0.1", "10.0.0.1"]})
    settings = loopback_settings(media_allowed_hosts="*.test")
    assert await _outcome(make_pipeline, settings, f"http://cdn.test:{port}/ok.jpg", resolver) == "stored"
    assert origin.hits["/ok.jpg"] == 1
    f = await _outcome(make_pipeline, settings, f"http://mixed.test:{port}/ok.jpg", resolver)
    assert isinstance(f, MediaFailed) and f.reason == "blocked_address" and "10.0.0.1" in f.detail, f
    assert origin.hits["/ok.jpg"] == 1


@pytest.mark.parametrize("addr", ["93.184.216.34", "2606:2800:220:1::1", "2002:5db8:d822::1",
                                  "64:ff9b::5db8:d822", "::ffff:93.184.216.34"])
def test_public_addresses_and_their_transition_forms_pass(addr: str) -> None:
    """The filter refuses what is private, not whole transition prefixes (6to4/NAT64 of a
    public address is fine); checked without connecting anywhere."""
    assert address_problem(ipaddress.ip_address(addr)) is None
    UrlPolicy(("*",)).check_url(URL(f"https://[{addr}]/a.jpg" if ":" in addr else f"https://{addr}/a.jpg"))


def test_canonical_literals_read_as_addresses_names_as_names() -> None:
    assert literal_host("[::1]") == ipaddress.ip_address("::1")
    assert literal_host("127.0.0.1.") == ipaddress.ip_address("127.0.0.1")
    assert literal_host("scontent.cdninstagram.com") is None
    assert literal_host("1.2.3.4.example") is None
    with pytest.raises(Blocked):
        UrlPolicy(("*",)).check_url(URL("https://[fe80::1%25eth0]/a.jpg"))
