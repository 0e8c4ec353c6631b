"""Replay admin API: dry run, a real replay through persistence, list/get, stop, 409 when busy,
422s naming the field, and replay.progress on the SSE feed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.events import SubredditFetched, UserFetched
from b9_common.events.catalogue import EVENTS
from b9_common.replay.owner import replays_only
from gwdata import facts
from gwenv import AUTH, Env
from gwlive import served, sse, until


@pytest.fixture(scope="module")
async def http(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with served(env.settings, env.deps, AUTH) as client:
        yield client


async def last_seq(env: Env, stream: str) -> int:
    return int((await env.rt.js.stream_info(env.rt.topology.stream(stream))).state.last_seq)


async def test_dry_run_counts_the_slice_and_records_nothing(env: Env) -> None:
    r = await env.client.post("/api/v1/replays", json={"consumer": "persistence", "dry_run": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    types = Counter(env.rt.publisher.envelope(p).type for p in facts())
    scrape = {t: n for t, n in types.items() if EVENTS[t].stream == "SCRAPE"}
    assert plan["status"] == "dry-run" and plan["id"] is None and plan["dry_run"] is True
    assert plan["consumer"] == "persistence:persistence" and plan["slice"]["stream"] == "SCRAPE"
    assert {k: v for k, v in plan["slice"]["counts"].items() if v} == scrape
    assert plan["total"] == sum(scrape.values()) and plan["processed"] == 0
    # by event type and sequence range: only that type, only that range
    r = await env.client.post("/api/v1/replays", json={"consumer": "persistence", "dry_run": True,
                                                        "subject": "user.fetched", "from_seq": 1, "to_seq": 10_000})
    assert r.json()["slice"]["counts"] == {"user.fetched": scrape["user.fetched"]}
    listed = (await env.client.get("/api/v1/replays")).json()
    assert listed["items"] == [] and listed["running"] == 0


async def test_replay_through_persistence_restores_rows_with_the_right_counts(
        env: Env, http: httpx.AsyncClient) -> None:
    users = [UserFetched(username=f"replay_user_{i}", link_karma=10 * i, comment_karma=i, total_karma=11 * i)
             for i in range(12)]
    subs = [SubredditFetched(name=f"replay_sub_{i}", title="t", subscribers=100 + i) for i in range(5)]
    first = await last_seq(env, "SCRAPE") + 1
    await env.rt.publisher.publish_many([*users, *subs])
    end = await last_seq(env, "SCRAPE")

    async def stored() -> bool:
        return await env.pool.fetchval("SELECT count(*) FROM reddit_users WHERE username LIKE 'replay_user_%'") == 12

    await until(stored, 20, "live persistence")
    await env.pool.execute("DELETE FROM reddit_users WHERE username LIKE 'replay_user_%'")
    await env.pool.execute("DELETE FROM subreddits WHERE name LIKE 'replay_sub_%'")

    ready = asyncio.Event()
    feed = asyncio.create_task(sse(http, {"subject": "replay.progress"}, ready,
                                   lambda e, d: d.get("status") not in ("running", "starting")))
    await asyncio.wait_for(ready.wait(), 10)
    r = await env.client.post("/api/v1/replays", json={
        "consumer": "persistence", "from_seq": first, "to_seq": end, "subject": ["user.fetched"], "by": "tester"})
    assert r.status_code == 202, r.text
    started = r.json()
    rid = started["id"]
    # 12 events: the replay may already be over when the 202 is written (the feed below saw it run)
    assert started["status"] in ("running", "completed") and started["total"] == 12
    assert started["slice"]["from_seq"] == first and started["slice"]["to_seq"] == end

    async def done() -> bool:
        return (await env.client.get(f"/api/v1/replays/{rid}")).json()["status"] != "running"

    await until(done, 30, "the replay to finish")
    p = (await env.client.get(f"/api/v1/replays/{rid}")).json()
    assert p["status"] == "completed", p
    assert (p["processed"], p["total"], p["handled"], p["skipped"], p["dead_lettered"]) == (12, 12, 12, 0, 0)
    assert p["percent"] == 100.0 and p["resume_from"] is None and p["started_by"] == "tester"
    # the rows are back (users only: the subject filter left the subreddits alone)
    assert await env.pool.fetchval("SELECT count(*) FROM reddit_users WHERE username LIKE 'replay_user_%'") == 12
    karma = await env.pool.fetchval("SELECT total_karma FROM reddit_users WHERE username = 'replay_user_3'")
    assert karma == 33
    assert await env.pool.fetchval("SELECT count(*) FROM subreddits WHERE name LIKE 'replay_sub_%'") == 0
    # recorded (KV + PostgreSQL) and listed with its outcome
    row = await env.pool.fetchrow("SELECT started_by, outcome FROM replays WHERE id = $1", rid)
    outcome = row["outcome"] if isinstance(row["outcome"], dict) else json.loads(row["outcome"])
    assert row["started_by"] == "tester" and outcome["status"] == "complete" and outcome["handled"] == 12
    items = (await env.client.get("/api/v1/replays")).json()["items"]
    mine = next(i for i in items if i["id"] == rid)
    assert mine["status"] == "completed" and mine["consumer"] == "persistence:persistence"
    assert mine["slice"]["subjects"] == ["user.fetched"] and mine["progress"]["handled"] == 12
    # the SSE feed carried its progress, ending with the same figures
    events = await asyncio.wait_for(feed, 10)
    assert all(e == "replay.progress" and d["id"] == rid for e, d in events)
    assert events[0][1]["status"] == "running" and events[-1][1]["status"] == "completed"
    assert events[-1][1]["processed"] == 12 and events[-1][1]["handled"] == 12


async def test_stop_busy_409_and_resume_point(env: Env) -> None:
    body = {"consumer": "persistence", "rate": 3}
    a = await env.client.post("/api/v1/replays", json=body)
    b = await env.client.post("/api/v1/replays", json=body)
    assert a.status_code == b.status_code == 202, (a.text, b.text)
    busy = await env.client.post("/api/v1/replays", json=body)
    assert busy.status_code == 409 and "at most 2" in busy.json()["detail"]
    listed = (await env.client.get("/api/v1/replays")).json()
    assert listed["running"] == 2 and {a.json()["id"], b.json()["id"]} <= {i["id"] for i in listed["items"]}
    running = next(i for i in listed["items"] if i["id"] == a.json()["id"])
    assert running["status"] == "running" and running["progress"]["total"] == a.json()["total"]

    for r in (a, b):
        assert (await env.client.post(f"/api/v1/replays/{r.json()['id']}/stop")).status_code == 202
    for r in (a, b):
        rid = r.json()["id"]

        async def stopped(rid: str = rid) -> bool:
            return (await env.client.get(f"/api/v1/replays/{rid}")).json()["status"] == "stopped"

        await until(stopped, 30, f"replay {rid} to stop")
        p = (await env.client.get(f"/api/v1/replays/{rid}")).json()
        assert p["processed"] < p["total"] and p["slice"]["from_seq"] <= p["resume_from"] <= p["slice"]["to_seq"]
        assert p["eta_seconds"] is None
    # a free slot again; stopping a finished replay is a no-op, an unknown one a 404
    c = await env.client.post("/api/v1/replays", json=body)
    assert c.status_code == 202
    await env.client.post(f"/api/v1/replays/{c.json()['id']}/stop")

    async def idle() -> bool:
        return (await env.client.get("/api/v1/replays")).json()["running"] == 0

    await until(idle, 30, "every replay to stop")
    again = await env.client.post(f"/api/v1/replays/{c.json()['id']}/stop")
    assert again.status_code == 202 and again.json()["status"] == "stopped"
    assert (await env.client.get("/api/v1/replays/01HZZZZZZZZZZZZZZZZZZZZZZZ")).status_code == 404
    assert (await env.client.post("/api/v1/replays/01HZZZZZZZZZZZZZZZZZZZZZZZ/stop")).status_code == 404
    assert (await env.client.get("/api/v1/replays/not-an-id")).status_code == 422


async def test_invalid_requests_get_422_naming_the_field(env: Env) -> None:
    # the categorizer judges its own requests: its replay owner runs here (no live consumer)
    cat = CSettings(nats_url=env.settings.nats_url, b9_namespace=env.settings.b9_namespace, metrics_port=-1)
    async with replays_only(CATEGORIZER, cat):
        await invalid_requests_get_422(env)


async def invalid_requests_get_422(env: Env) -> None:
    cases = [
        ({"consumer": "nosuch"}, "consumer", "unknown service"),
        ({"consumer": "persistence:nope"}, "consumer", "no such consumer"),
        ({"consumer": "gateway"}, "consumer", "no consumers"),
        ({"consumer": "persistence", "stream": "COMMANDS"}, "stream", "no such consumer"),
        ({"consumer": "categorizer", "stream": "COMMANDS"}, "stream", "work queue"),
        ({"consumer": "categorizer:categorizer-commands"}, "consumer", "work queue"),
        ({"consumer": "persistence", "since": "last tuesday"}, "since", "not a time"),
        ({"consumer": "persistence", "since": "1h", "until": "2h"}, "until", "later than since"),
        ({"consumer": "persistence", "since": "1h", "from_seq": 3}, "from_seq", "not both"),
        ({"consumer": "persistence", "from_seq": 9, "to_seq": 3}, "to_seq", ">= from_seq"),
        ({"consumer": "persistence", "subject": "media.stored"}, "subject", "not consumed"),
        ({"consumer": "persistence", "rate": 0}, "rate", ""),
        ({"consumer": "persistence", "colour": "red"}, "colour", ""),
        ({}, "consumer", ""),
    ]
    for body, name, text in cases:
        r = await env.client.post("/api/v1/replays", json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        err = r.json()["error"]
        assert f"body field '{name}'" in err and text in err, (body, err)
    assert (await env.client.get("/api/v1/replays")).json()["running"] == 0
    assert (await env.anon.post("/api/v1/replays", json={"consumer": "persistence"})).status_code == 401
    services = (await env.client.get("/api/v1/replays/consumers")).json()["services"]
    assert {"persistence", "categorizer"} <= set(services) and "gateway" not in services
