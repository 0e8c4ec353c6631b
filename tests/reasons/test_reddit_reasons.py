"""Every reason the Reddit scraper gives, provoked through a real loopback upstream serving the
recorded Reddit answers, published on ``scrape.attempted`` and stored by persistence."""

from __future__ import annotations

import json

import asyncpg
import pytest
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from stack import events, persistence, put_control, reddit_service, reddit_settings, running, wait_for
from upstreams import Answer, Upstream, about, closed_port, fixture, hang_up_server

NOT_JSON = b'{"kind": "t5", "data": {"display_na'
BANNED = json.dumps({**json.loads(fixture("errors/404_not_found_sticky.json")), "reason": "banned"}).encode()
HTML_429 = fixture("errors/429_too_many_requests_html_with_retry_after.html")

# subreddit -> (its about answer, expected outcome, reason, http_status)
CASES: dict[str, tuple[Answer, str, str, int | None]] = {
    "fine": (Answer(200, about("fine")), "success", "ok", None),
    "gone": (Answer(404, fixture("errors/404_not_found_sticky.json")), "not_found", "not_found", 404),
    "hidden": (Answer(403, fixture("errors/403_forbidden_ferguson_hot.json")), "private", "private", 403),
    "quar": (Answer(403, fixture("errors/403_quarantined_subreddit.json")), "quarantined", "private", 403),
    "banned1": (Answer(404, BANNED), "banned", "banned", 404),
    "broken": (Answer(500, fixture("errors/500_internal_server_error_json.json")), "failed", "http_status", 500),
    "teapot": (Answer(400, fixture("errors/400_user_doesnt_exist_trophies.json")), "failed", "http_status", 400),
    "garbled": (Answer(200, NOT_JSON), "failed", "invalid_response", None),
    "notsub": (Answer(200, fixture("subreddit_listing/askreddit_top.json")), "failed", "invalid_response", None),
    "slow": (Answer(200, about("slow"), sleep=1.5), "failed", "timeout", None),
    "busy": (Answer(429, HTML_429, "text/html", headers={"retry-after": "0"}), "rate_limited",
             "budget_exhausted", 429),
}


async def test_every_reason_from_a_loopback_reddit(
        rt: Runtime, common_settings: CommonSettings, database_url: str) -> None:
    up = Upstream()
    for name, (answer, *_) in CASES.items():
        up.answers[f"r/{name}/about"] = answer
    up.answers["r/fine/about/rules"] = Answer(200, fixture("other/subreddit_rules_TEST_SUBREDDIT.json"))
    up.answers["r/fine/top"] = Answer(200, fixture("subreddit_listing/askreddit_top.json"))
    await up.start()
    tracked = StaticTracked([Tracked(n, "metadata") for n in CASES])
    await put_control(rt, "reddit", requests_per_minute=60_000, batch_size=len(CASES), interval_seconds=3600)
    try:
        async with running((reddit_service(tracked), reddit_settings(common_settings, up.url)),
                           persistence(common_settings, database_url)):
            got = await wait_for(lambda: _all(rt, len(CASES)), within=30)
            conn = await asyncpg.connect(database_url)
            try:
                rows = await wait_for(lambda: _stored(conn, len(CASES)), within=15)
            finally:
                await conn.close()
    finally:
        await up.stop()
    by = {a.target: a for a in got}
    for name, (_, outcome, reason, status) in CASES.items():
        a = by[name]
        assert (a.outcome, a.reason, a.http_status) == (outcome, reason, status), (name, a)
        assert a.message, name
        assert rows[name] == (outcome, reason, a.message, status), name
    assert "429" in (by["busy"].message or "") and "500" in (by["broken"].message or "")
    assert up.hits["r/broken/about"] == 2 and up.hits["r/teapot/about"] == 1  # 5xx retried, 400 not


@pytest.mark.parametrize("server", ["refused", "hangs_up"])
async def test_connection_refused_or_dropped_is_a_connection_reason(
        rt: Runtime, common_settings: CommonSettings, server: str) -> None:
    hanger, url = await hang_up_server() if server == "hangs_up" else (None, f"http://127.0.0.1:{closed_port()}")
    settings = reddit_settings(common_settings, url)
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    try:
        async with running((reddit_service(StaticTracked([Tracked("anywhere", "metadata")])), settings)):
            [a] = await wait_for(lambda: _all(rt, 1))
    finally:
        if hanger is not None:
            hanger.close()
    assert (a.outcome, a.reason, a.http_status) == ("failed", "connection", None)
    # hung up before or after the request was written: reset, or closed without an answer
    expected = ("refused",) if server == "refused" else ("reset by the server", "closed the connection")
    assert any(e in (a.message or "") for e in expected), a.message


async def test_a_disable_mid_attempt_is_interrupted(rt: Runtime, common_settings: CommonSettings) -> None:
    up = Upstream(answers={"r/midway/about": Answer(200, about("midway"), sleep=0.6)})
    await up.start()
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    try:
        async with running((reddit_service(StaticTracked([Tracked("midway", "metadata")])),
                            reddit_settings(common_settings, up.url, reddit_timeout_seconds=2.0))):
            await wait_for(lambda: up.hits.get("r/midway/about"))
            await put_control(rt, "reddit", enabled=False, requests_per_minute=60_000, interval_seconds=3600)
            [a] = await wait_for(lambda: _all(rt, 1))
    finally:
        await up.stop()
    assert (a.outcome, a.reason, a.calls) == ("failed", "interrupted", 1)
    assert up.hits == {"r/midway/about": 1}  # the rules and top listing were never asked for


async def _all(rt: Runtime, n: int) -> list | None:
    got = await events(rt, "scrape.attempted")
    return got if len(got) >= n else None


async def _stored(conn: asyncpg.Connection, n: int) -> dict | None:
    rows = await conn.fetch("SELECT target, outcome, reason, message, http_status FROM scrape_attempts")
    return {r["target"]: tuple(r)[1:] for r in rows} if len(rows) >= n else None
