"""Requests people can follow, Reddit side: a subreddit added while Reddit is unreachable fails
with the connection reason; one that exists ends done with a link; the same add twice is one
request and one command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_reddit_scraper.tracked import StaticTracked
from reqkit import events, gateway, poll_status, wait_for
from stack import put_control, reddit_service, reddit_settings, running
from upstreams import Answer, Upstream, about, closed_port, fixture


async def test_add_with_reddit_unreachable_fails_with_the_connection_reason(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    async with (
        # the service's default timeout and retries (3 attempts, 0.5 s backoff), as deployed
        running((reddit_service(StaticTracked([])), reddit_settings(
            common_settings, dead, reddit_timeout_seconds=16.0, reddit_max_attempts=3, reddit_retry_base_seconds=0.5))),
        gateway(common_settings, database_url, tmp_path) as (api, _),
    ):
        r = await api.post("/api/v1/subreddits", json={"name": "nowhere_sub"})
        assert r.status_code == 202, r.text
        body = r.json()
        rid = body["request_id"]
        assert body["status_url"] == f"/api/v1/requests/{rid}" and body["status"] == "queued"
        assert body["accepted"] is True and body["target"] == "nowhere_sub"  # the old fields stay
        failed = await poll_status(api, body["status_url"], ("failed", "done"), within=30)
        attempts = await events(rt, "scrape.attempted")
    assert failed["status"] == "failed", failed
    assert failed["reason"] == "connection" and "refused" in failed["message"], failed
    assert (failed["kind"], failed["target"], failed["id"]) == ("subreddit", "nowhere_sub", rid)
    # the attempt that answered the request carries its id (the log says which request it was)
    assert [a.request_id for a in attempts if a.target == "nowhere_sub"] == [rid]


async def test_a_subreddit_that_exists_ends_done_with_a_link(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    up = Upstream({"r/pics/about": Answer(200, about("pics")),
                   "r/pics/about/rules": Answer(200, fixture("other/subreddit_rules_TEST_SUBREDDIT.json")),
                   "r/pics/top": Answer(200, fixture("subreddit_listing/askreddit_top.json"))})
    await up.start()
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    try:
        async with (
            running((reddit_service(StaticTracked([])), reddit_settings(common_settings, up.url))),
            gateway(common_settings, database_url, tmp_path) as (api, _),
        ):
            r = await api.post("/api/v1/subreddits", json={"name": "pics"})
            done = await poll_status(api, r.json()["status_url"], ("failed", "done"))
            missing = await api.post("/api/v1/users", json={"username": "ghost_user_1"})
            gone = await poll_status(api, missing.json()["status_url"], ("failed", "done"))
    finally:
        await up.stop()
    assert done["status"] == "done", done
    assert done["result"]["page"] == "#/reddit/subreddits/pics" and done["result"]["api"] == "/api/v1/subreddits/pics"
    assert (gone["status"], gone["reason"]) == ("failed", "not_found"), gone


async def test_the_same_add_twice_is_one_request_and_one_command(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    async with gateway(common_settings, database_url, tmp_path) as (api, deps):  # no scraper: stays queued
        feed: list[dict] = []
        listener = lambda event, data: feed.append(data) if event == "request.changed" else None  # noqa: E731
        await deps.hub.subscribe(listener)  # what GET /events sends its clients
        first, second = await asyncio.gather(
            api.post("/api/v1/subreddits", json={"name": "Twice_Sub"}),
            api.post("/api/v1/subreddits", json={"name": "twice_sub"}),
        )
        third = await api.post("/api/v1/subreddits", json={"name": "TWICE_SUB"})
        other = await api.post("/api/v1/users", json={"username": "twice_sub"})  # another kind
        ids = {x.json()["request_id"] for x in (first, second, third)}
        state = (await api.get(f"/api/v1/requests/{first.json()['request_id']}")).json()
        unknown = await api.get("/api/v1/requests/01ARZ3NDEKTSV4RRFFQ69G5FAV")
        rid = first.json()["request_id"]
        await deps.requests.book.set(rid, "failed", reason="connection", message="refused")  # as a scraper would
        await wait_for(lambda: any(e["status"] == "failed" for e in feed), within=5)
        await deps.hub.unsubscribe(listener)
    # the feed saw each change of each request (the dedup claims are not sent)
    changes = [(e["id"], e["kind"], e["status"]) for e in feed]
    assert changes == [(rid, "subreddit", "queued"), (other.json()["request_id"], "user", "queued"),
                       (rid, "subreddit", "failed")], changes
    assert feed[-1]["reason"] == "connection" and feed[-1]["status_url"] == f"/api/v1/requests/{rid}"
    assert [x.status_code for x in (first, second, third, other)] == [202] * 4
    assert len(ids) == 1, ids
    assert sorted(x.json()["deduplicated"] for x in (first, second, third)) == [False, True, True]
    assert other.json()["request_id"] not in ids
    commands = await events(rt, "scrape.requested.reddit")
    assert [(c.kind, c.name.lower()) for c in commands] == [("subreddit", "twice_sub"), ("user", "twice_sub")]
    assert commands[0].request_id in ids
    assert state["status"] == "queued" and state["kind"] == "subreddit"
    assert state["commands_waiting"] == 2  # both scrape.requested.reddit commands wait: no scraper runs

    assert unknown.status_code == 404
