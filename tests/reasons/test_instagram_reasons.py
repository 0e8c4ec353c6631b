"""Every reason the Instagram scraper gives, provoked through a real loopback provider
(manual-add commands, as the gateway publishes them)."""

from __future__ import annotations

import json

from b9_common.events import InstagramScrapeRequested
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from stack import events, ig_service, ig_settings, running, wait_for
from upstreams import Answer, Upstream, closed_port

KEY = "test-key-123"


def profile(username: str, ig_id: str, *, private: bool = False, **extra: object) -> bytes:
    """The provider's flat /profile shape (tests/fixtures/instagram/SHAPES.md)."""
    return json.dumps({"status": True, "id": ig_id, "username": username, "full_name": username.title(),
                       "is_private": private, "edge_followed_by": {"count": 1200},
                       "edge_follow": {"count": 80}, **extra}).encode()


NO_MORE = json.dumps({"items": [], "paging_info": {"more_available": False}}).encode()
# username -> (its /profile answer, expected outcome, reason, http_status)
CASES: dict[str, tuple[Answer, str, str, int | None]] = {
    "alice": (Answer(200, profile("alice", "5550001")), "success", "ok", None),
    "pia": (Answer(200, profile("pia", "5550004", private=True)), "private", "private", None),
    "ghost": (Answer(404, b'{"message": "user not found"}'), "not_found", "not_found", 404),
    "nobody": (Answer(200, b'{"status": false, "message": "no such user"}'), "not_found", "not_found", None),
    "forbid": (Answer(403, b'{"message": "You are not subscribed to this API."}'), "failed", "http_status", 403),
    "down": (Answer(503, b'{"message": "Service Unavailable"}'), "failed", "http_status", 503),
    "garbled": (Answer(200, b'{"status": true, "id": "55'), "failed", "invalid_response", None),
    "shapeless": (Answer(200, b'{"status": true, "data": []}'), "failed", "invalid_response", None),
    "slow": (Answer(200, profile("slow", "5550009"), sleep=1.5), "failed", "timeout", None),
    "busy": (Answer(429, b'{"message": "Too many requests"}', headers={"Retry-After": "0"}),
             "rate_limited", "budget_exhausted", 429),
}


async def test_every_reason_from_a_loopback_provider(rt: Runtime, common_settings: CommonSettings) -> None:
    up = Upstream()
    for name, (answer, *_) in CASES.items():
        up.answers[f"profile?username={name}"] = answer
    up.answers["reels"] = up.answers["user-feeds"] = Answer(200, NO_MORE)
    await up.start()
    try:
        async with running((ig_service(), ig_settings(common_settings, up.url, KEY))):
            for name in CASES:
                await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username=name))
            got = await wait_for(lambda: _all(rt, len(CASES)), within=30)
    finally:
        await up.stop()
    by = {a.target: a for a in got}
    for name, (_, outcome, reason, status) in CASES.items():
        a = by[name]
        assert (a.outcome, a.reason, a.http_status) == (outcome, reason, status), (name, a)
        assert a.message, name
    assert up.hits["profile"] >= 3 * 4  # down, garbled, slow, busy: retried 3 times each


async def test_connection_refused_and_not_configured(rt: Runtime, common_settings: CommonSettings) -> None:
    refused = ig_settings(common_settings, f"http://127.0.0.1:{closed_port()}", KEY, replica_id="r1")
    keyless = ig_settings(common_settings, f"http://127.0.0.1:{closed_port()}", "", replica_id="r2")
    async with running((ig_service(), refused)):
        await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="far_away"))
        [a] = await wait_for(lambda: _all(rt, 1))
    assert (a.outcome, a.reason, a.target) == ("failed", "connection", "far_away")
    assert "refused" in (a.message or "")
    async with running((ig_service(), keyless)):
        await rt.publisher.publish(InstagramScrapeRequested(kind="related", username="someone"))
        b = (await wait_for(lambda: _all(rt, 2)))[1]
    assert (b.outcome, b.reason, b.message) == ("not_configured", "not_configured", "INSTAGRAM_API_KEY is not set")


async def _all(rt: Runtime, n: int) -> list | None:
    got = await events(rt, "scrape.attempted")
    return got if len(got) >= n else None
