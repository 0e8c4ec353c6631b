"""The RapidAPI-style provider against a local server: pagination, outcomes, retries."""

from __future__ import annotations

import time

import pytest
from b9_instagram_scraper.provider import (
    CallMeter,
    EmptyResponse,
    MalformedResponse,
    ProfileNotFound,
    ProviderError,
    RateLimited,
    UpstreamError,
)
from b9_instagram_scraper.rapidapi import USER_AGENT, RapidApiProvider, parse_retry_after
from ig_upstream import API_KEY, FakeProvider, Fault


async def test_profile_headers_and_outcome(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    meter = CallMeter()
    p = await provider.profile("alice", meter)
    assert (p.ig_user_id, p.followers_count, p.is_private) == ("5550001", 100_000, False)
    assert meter.calls == 1
    seen = upstream.requests[-1]
    assert seen.params == {"username": "alice"}
    assert seen.headers["x-rapidapi-key"] == API_KEY
    assert seen.headers["x-rapidapi-host"] == "instagram-looter2.p.rapidapi.com"
    assert seen.headers["User-Agent"] == USER_AGENT and "b9-instagram-scraper" in USER_AGENT


async def test_private_and_missing_profiles(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    p = await provider.profile("pia", CallMeter())
    assert p.is_private and p.external_url_type == "onlyfans"
    with pytest.raises(ProfileNotFound):
        await provider.profile("nobody", CallMeter())
    upstream.faults["/profile"].append(
        Fault(json_body={"status": False, "message": "User not found"})
    )
    with pytest.raises(ProfileNotFound, match="User not found"):
        await provider.profile("alice", CallMeter())


async def test_cursor_pagination_follows_max_id(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    meter = CallMeter()
    reels = await provider.reels("5550001", 90, meter)  # 7 reels in pages of 3
    assert [r["media"]["pk"] for r in reels] == [f"31{i:04d}" for i in range(7)]
    assert meter.calls == 3
    cursors = [r.params.get("max_id") for r in upstream.requests if r.path == "/reels"]
    assert cursors == [None, "QVFE3", "QVFE6"]


async def test_limit_and_page_count_for_new_and_known_creators(
    upstream: FakeProvider, provider: RapidApiProvider
) -> None:
    upstream.page_size = 12
    meter = CallMeter()
    reels = await provider.reels("5550003", 90, meter)
    posts = await provider.posts("5550003", 30, meter)
    assert (len(reels), len(posts), meter.calls) == (90, 30, 8 + 3)  # the original's 1 + 8 + 3
    counts = [int(r.params["count"]) for r in upstream.requests if r.path == "/reels"]
    assert counts == [12] * 7 + [6]
    meter = CallMeter()
    assert len(await provider.reels("5550003", 30, meter)) == 30
    assert len(await provider.posts("5550003", 10, meter)) == 10
    assert meter.calls == 3 + 1


async def test_empty_page_is_retried(provider: RapidApiProvider, upstream: FakeProvider) -> None:
    await provider.reels("5550001", 3, CallMeter())  # warm: first page
    upstream.requests.clear()
    upstream.faults["/reels"].append(
        Fault(json_body={"items": [], "paging_info": {"more_available": True, "max_id": "QVFE3"}})
    )
    meter = CallMeter()
    reels = await provider.reels("5550001", 90, meter)
    assert len(reels) == 7 and meter.calls == 4  # the empty first page was asked again


async def test_empty_page_twice_stops_pagination(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    empty = {"items": [], "paging_info": {"more_available": True, "max_id": "QVFE3"}}
    upstream.faults["/user-feeds"].extend([Fault(json_body=empty), Fault(json_body=empty)])
    meter = CallMeter()
    assert await provider.posts("5550001", 30, meter) == [] and meter.calls == 2


async def test_429_with_retry_after_is_honoured(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    upstream.faults["/profile"].append(
        Fault(status=429, body=b'{"message":"Too many requests"}', headers={"Retry-After": "1"})
    )
    meter = CallMeter()
    t0 = time.monotonic()
    p = await provider.profile("alice", meter)
    assert p.username == "alice" and meter.calls == 2
    assert meter.retries == [1.0]
    assert time.monotonic() - t0 >= 0.95  # waited what the provider asked, not the 0.01 s backoff


async def test_429_without_retry_after_backs_off_and_recovers(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    upstream.faults["/profile"].extend([Fault(status=429), Fault(status=429)])
    meter = CallMeter()
    assert (await provider.profile("alice", meter)).username == "alice"
    assert meter.calls == 3 and meter.retries == []


async def test_429_every_time_is_rate_limited(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    upstream.faults["/profile"].extend([Fault(status=429)] * 3)
    meter = CallMeter()
    with pytest.raises(RateLimited) as err:
        await provider.profile("alice", meter)
    assert err.value.outcome == "rate_limited" and err.value.transient and meter.calls == 3


async def test_malformed_json_is_retried_then_reported(
    provider: RapidApiProvider, upstream: FakeProvider
) -> None:
    upstream.faults["/reels"].append(Fault(body=b'{"items": [ {"media": '))
    meter = CallMeter()
    assert len(await provider.reels("5550001", 3, meter)) == 3 and meter.calls == 2
    upstream.faults["/profile"].extend([Fault(body=b"<html>oops</html>")] * 3)
    with pytest.raises(MalformedResponse):
        await provider.profile("alice", CallMeter())


async def test_server_errors_and_auth(provider: RapidApiProvider, upstream: FakeProvider) -> None:
    upstream.faults["/related-profiles"].extend([Fault(status=503), Fault(status=502)])
    meter = CallMeter()
    upstream.related["alice"] = ["bob", "zed"]
    assert await provider.related("5550001", meter) == ["bob", "zed"] and meter.calls == 3
    upstream.faults["/profile"].extend([Fault(status=500)] * 3)
    with pytest.raises(UpstreamError):
        await provider.profile("alice", CallMeter())
    bad = RapidApiProvider(upstream.url, "wrong", "h", budget=provider.budget, attempts=3)
    meter = CallMeter()
    with pytest.raises(ProviderError, match="403") as err:
        await bad.profile("alice", meter)
    assert err.value.outcome == "failed" and not err.value.transient and meter.calls == 1
    await bad.close()


async def test_empty_profile_body(provider: RapidApiProvider, upstream: FakeProvider) -> None:
    upstream.faults["/profile"].extend([Fault(body=b""), Fault(json_body={})])
    meter = CallMeter()
    with pytest.raises(EmptyResponse):
        await provider.profile("alice", meter)
    assert meter.calls == 2  # asked once more, as the original did


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("7", 60) == 7.0
    assert parse_retry_after("600", 60) == 60.0
    assert parse_retry_after(None, 60) is None and parse_retry_after("soon", 60) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) == 0.0  # a date in the past
