"""Mutations, commands, auth, validation, scraper control, DLQ admin and the SSE feed."""

from __future__ import annotations

import asyncio
import json

import httpx
import msgspec
import pytest
from b9_common.events import ScrapeAttempted, decoder_for
from b9_common.jetstream.topology import ConsumerSpec
from gwenv import Env

MUTATIONS = [
    ("put", "/api/v1/subreddits/sub01/review", {"review": "Ok"}),
    ("post", "/api/v1/subreddits/review", {"names": ["sub01"], "review": "Ok"}),
    ("post", "/api/v1/subreddits", {"name": "newsub"}),
    ("post", "/api/v1/users", {"username": "someone"}),
    ("post", "/api/v1/creators", {"username": "someone"}),
    ("post", "/api/v1/scrapers/reddit/stop", None),
    ("post", "/api/v1/models", {"name": "m"}),
    ("post", "/api/v1/dlq/purge", {}),
    ("post", "/api/v1/categorization/start", {}),
]


async def test_unauthenticated_mutations_get_401_and_change_nothing(fresh: Env) -> None:
    for method, path, body in MUTATIONS:
        r = await fresh.anon.request(method.upper(), path, json=body)
        assert r.status_code == 401, (path, r.text)
        r = await fresh.anon.request(method.upper(), path, json=body, headers={"Authorization": "Bearer wrong-key"})
        assert r.status_code == 401, path
    assert await fresh.pool.fetchval("SELECT count(*) FROM models") == 0
    assert (await fresh.anon.get("/api/v1/subreddits")).status_code == 401


async def test_login_cookie_session_and_logout(fresh: Env) -> None:
    r = await fresh.anon.post("/api/v1/login", json={"key": "nope"})
    assert r.status_code == 401
    r = await fresh.anon.post("/api/v1/login", json={"key": fresh.settings.gateway_api_key})
    assert r.status_code == 200 and "b9_session" in r.cookies
    token = r.cookies["b9_session"]
    assert (await fresh.anon.get("/api/v1/subreddits")).status_code == 200
    r = await fresh.anon.post("/api/v1/logout")
    assert r.status_code == 200 and "max-age=0" in r.headers["set-cookie"].lower()  # the response drops it
    assert "b9_session" not in fresh.anon.cookies
    assert (await fresh.anon.get("/api/v1/subreddits")).status_code == 401
    r = await fresh.anon.get("/api/v1/subreddits", headers={"Cookie": f"b9_session={token}"})
    assert r.status_code == 401  # and the server ended the session: the old cookie is refused


async def test_wrong_types_give_422_naming_the_field(fresh: Env) -> None:
    r = await fresh.client.put("/api/v1/subreddits/sub01/review", json={"review": "Great"})
    assert r.status_code == 422 and "review" in r.json()["error"]
    r = await fresh.client.get("/api/v1/subreddits", params={"per_page": "many"})
    assert r.status_code == 422 and "per_page" in r.json()["error"]
    r = await fresh.client.get("/api/v1/subreddits", params={"per_page": 5000})
    assert r.status_code == 422 and "per_page" in r.json()["error"]
    r = await fresh.client.post("/api/v1/subreddits/review", json={"names": ["a_b"] * 501, "review": "Ok"})
    assert r.status_code == 422 and "names" in r.json()["error"]
    r = await fresh.client.put("/api/v1/users/user_1/our-creator", json={"our_creator": "maybe"})
    assert r.status_code == 422 and "our_creator" in r.json()["error"]
    r = await fresh.client.put("/api/v1/subreddits/sub01/tags", json={"tags": ["niche:nope"]})
    assert r.status_code == 422 and "niche:nope" in r.json()["error"]


def _counts(r: httpx.Response) -> dict[str, object]:
    return {k: r.json()[k] for k in ("updated", "missing")}


async def test_reviews_and_tags_single_and_bulk(fresh: Env) -> None:
    r = await fresh.client.put("/api/v1/subreddits/sub09/review", json={"review": "Ok"})
    assert r.status_code == 200 and _counts(r) == {"updated": 1, "missing": []} and r.json()["stored"] is True
    assert len(r.json()["decisions"]) == 1
    row = await fresh.pool.fetchrow("SELECT review, review_source FROM subreddits WHERE name = 'sub09'")
    assert tuple(row) == ("Ok", "manual")
    r = await fresh.client.get("/api/v1/subreddits", params={"review": "unreviewed"})
    assert "sub09" not in {s["name"] for s in r.json()["items"]}
    r = await fresh.client.post(
        "/api/v1/subreddits/review", json={"names": ["sub10", "r/sub11", "ghost"], "review": "Non Related"}
    )
    assert _counts(r) == {"updated": 2, "missing": ["ghost"]} and len(r.json()["decisions"]) == 2
    r = await fresh.client.post(
        "/api/v1/subreddits/tags", json={"names": ["sub01", "sub02", "sub03"], "add": ["body:petite", "niche:gaming"]}
    )
    assert r.json()["updated"] == 3
    rows = await fresh.pool.fetch(
        "SELECT tags, primary_category, tags_source FROM subreddits WHERE name IN ('sub01','sub02','sub03')"
    )
    assert all(
        list(x["tags"]) == ["niche:gaming", "body:petite"]
        and x["primary_category"] == "niche"
        and x["tags_source"] == "manual"
        for x in rows
    )
    r = await fresh.client.put("/api/v1/subreddits/sub01/tags", json={"tags": ["hair:blonde"]})
    assert r.json()["updated"] == 1
    assert await fresh.pool.fetchval("SELECT primary_category FROM subreddits WHERE name = 'sub01'") == "hair"


async def test_commands_are_published_with_202(fresh: Env) -> None:
    topo = fresh.rt.topology
    spec = ConsumerSpec(
        name="probe",
        stream="COMMANDS",
        subjects=("scrape.requested.reddit", "scrape.requested.instagram", "categorize.requested"),
    )
    await topo.ensure_consumer(fresh.rt.js, spec)
    assert (await fresh.client.post("/api/v1/subreddits", json={"name": "r/NewSub"})).status_code == 202
    assert (await fresh.client.post("/api/v1/users", json={"username": "u/fresh_user"})).status_code == 202
    assert (
        await fresh.client.post("/api/v1/creators", json={"username": "@new.creator", "niche": "fit"})
    ).status_code == 202
    assert (await fresh.client.post("/api/v1/creators/related", json={"batch_size": 3})).status_code == 202
    r = await fresh.client.post("/api/v1/categorization/start", json={"limit": 4})
    assert r.status_code == 202 and r.json()["items"] == 4
    r = await fresh.client.post("/api/v1/categorization/start", json={"kind": "creator", "creator_ids": ["9000"]})
    assert r.status_code == 202 and r.json()["items"] == 1
    sub = await fresh.rt.js.pull_subscribe_bind(durable="probe", stream=topo.stream("COMMANDS"))
    msgs = await sub.fetch(10, timeout=3)
    got = []
    for m in msgs:
        env = decoder_for(topo.type_of(m.subject)).decode(m.data)
        got.append((env.type, msgspec.to_builtins(env.data)))
        await m.ack()
    kinds = [(t, d.get("kind"), d.get("name") or d.get("username")) for t, d in got]
    assert ("scrape.requested.reddit", "subreddit", "NewSub") in kinds
    assert ("scrape.requested.reddit", "user", "fresh_user") in kinds
    assert ("scrape.requested.instagram", "creator", "new.creator") in kinds
    assert ("scrape.requested.instagram", "related", None) in kinds
    cats = [d for t, d in got if t == "categorize.requested"]
    assert len(cats) == 2
    subs, creators = cats[0]["items"], cats[1]["items"]
    assert len(subs) == 4 and all(i["kind"] == "subreddit" for i in subs)
    # over18 from PostgreSQL (gwdata: sub<i> is NSFW when i % 4 == 0), both values present
    assert {i["name"]: i["over18"] for i in subs} == {i["name"]: int(i["name"][3:]) % 4 == 0 for i in subs}
    assert {i["over18"] for i in subs} == {True, False}
    # captions of the creator's latest posts and reels (newest first; gwdata: 3 reels, 2 posts)
    (c0,) = creators
    assert c0["key"] == "9000" and c0["kind"] == "creator"
    assert c0["captions"] == [f"caption 0 {k} beach" for k in (0, 0, 1, 1, 2)]
    assert c0["image_urls"] == [f"https://cdn.example.com/t/0/{k}.jpg" for k in (0, 0, 1, 1, 2)]
    assert await fresh.pool.fetchval("SELECT our_creator FROM reddit_users WHERE username = 'fresh_user'")


async def test_users_creators_models(fresh: Env) -> None:
    r = await fresh.client.post("/api/v1/models", json={"name": "Ava", "assigned_tags": ["niche:cosplay"]})
    assert r.status_code == 201
    mid = r.json()["id"]
    assert (await fresh.client.post("/api/v1/models", json={"name": "Ava"})).status_code == 409
    r = await fresh.client.post(
        "/api/v1/users/bulk", json={"usernames": ["user_1", "user_2", "nobody"], "our_creator": True, "model_id": mid}
    )
    assert _counts(r) == {"updated": 2, "missing": ["nobody"]} and len(r.json()["decisions"]) == 4
    r = await fresh.client.get(f"/api/v1/models/{mid}")
    assert [a["username"] for a in r.json()["accounts"]] == ["user_1", "user_2"]
    r = await fresh.client.get(f"/api/v1/models/{mid}/recommendations")
    assert [s["name"] for s in r.json()["items"]] == ["sub00"]
    r = await fresh.client.patch(f"/api/v1/models/{mid}", json={"status": "paused"})
    assert r.json()["status"] == "paused" and r.json()["accounts"] == 2
    r = await fresh.client.put("/api/v1/users/user_2/our-creator", json={"our_creator": False})
    assert r.status_code == 200
    r = await fresh.client.get("/api/v1/users", params={"our_creator": "true"})
    assert [u["username"] for u in r.json()["items"]] == ["user_1"]
    assert (await fresh.client.delete(f"/api/v1/models/{mid}")).json() == {"deleted": True}
    assert await fresh.pool.fetchval("SELECT model_id FROM reddit_users WHERE username = 'user_1'") is None
    r = await fresh.client.post("/api/v1/creators/review", json={"ids": ["9000", "9001"], "review_status": "ok"})
    assert r.json()["updated"] == 2
    r = await fresh.client.put("/api/v1/creators/9002/niche", json={"niche": "fitness"})
    assert r.json()["updated"] == 1
    r = await fresh.client.get("/api/v1/creators", params={"review": "ok"})
    assert {c["ig_user_id"] for c in r.json()["items"]} == {"9000", "9001"}
    r = await fresh.client.get("/api/v1/creators", params={"niched": "true"})
    assert [c["ig_user_id"] for c in r.json()["items"]] == ["9002"]
    r = await fresh.client.get("/api/v1/creators/related/status")
    assert r.json()["approved"] == 2 and r.json()["unprocessed"] == 2


async def test_scraper_start_stop_writes_control_kv(fresh: Env) -> None:
    kv = await fresh.rt.topology.control_kv(fresh.rt.js)
    r = await fresh.client.post("/api/v1/scrapers/reddit/stop")
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert json.loads((await kv.get("scraper.reddit")).value)["enabled"] is False
    r = await fresh.client.put("/api/v1/scrapers/reddit/config", json={"batch_size": 7, "interval_seconds": 60})
    stored = json.loads((await kv.get("scraper.reddit")).value)
    assert stored["batch_size"] == 7 and stored["interval_seconds"] == 60 and stored["enabled"] is False
    r = await fresh.client.put("/api/v1/scrapers/reddit/config", json={"requests_per_hour": 5})
    assert r.status_code == 422 and "requests_per_hour" in r.json()["error"]
    r = await fresh.client.post("/api/v1/scrapers/instagram/start")
    assert json.loads((await kv.get("scraper.instagram")).value)["enabled"] is True


async def test_dlq_list_show_retry_purge(fresh: Env) -> None:
    rt = fresh.rt
    raw = rt.publisher.envelope(
        ScrapeAttempted(scraper="reddit", target_kind="subreddit", target="dlqme", outcome="success")
    )
    from b9_common.events import encode

    data = encode(raw)
    for i, reason in enumerate(("bad data", "too old")):
        await rt.js.publish(
            rt.topology.dlq_subject("scrape.attempted"),
            data,
            headers={
                "Nats-Msg-Id": f"d{i}",
                "B9-Dlq-Reason": reason,
                "B9-Original-Subject": rt.topology.subject("scrape.attempted"),
                "B9-Consumer": "persistence",
                "B9-Event-Id": raw.id,
            },
        )
    r = await fresh.client.get("/api/v1/dlq")
    body = r.json()
    assert body["depth"] == 2 and [x["reason"] for x in body["items"]] == ["bad data", "too old"]
    r = await fresh.client.get("/api/v1/dlq", params={"reason": "OLD", "type": "scrape.*"})
    assert [x["reason"] for x in r.json()["items"]] == ["too old"]
    seq = body["items"][0]["seq"]
    shown = (await fresh.client.get(f"/api/v1/dlq/{seq}")).json()
    assert json.loads(shown["data"])["id"] == raw.id
    assert (await fresh.client.post(f"/api/v1/dlq/{seq}/retry")).status_code == 200
    for _ in range(50):
        if await fresh.pool.fetchval("SELECT count(*) FROM scrape_attempts WHERE target = 'dlqme'"):
            break
        await asyncio.sleep(0.1)
    assert await fresh.pool.fetchval("SELECT count(*) FROM scrape_attempts WHERE target = 'dlqme'") == 1
    assert (await fresh.client.get(f"/api/v1/dlq/{seq}")).status_code == 404
    assert (await fresh.client.post("/api/v1/dlq/purge", json={})).json() == {"count": 1}


async def test_sse_feed_streams_events_and_cleans_up(fresh: Env) -> None:
    subs_before = fresh.rt.nc.stats.get("subs", None)
    nc = fresh.deps.nc
    before = len(nc._subs)

    async def read() -> list[dict]:
        events = []
        async with fresh.client.stream(
            "GET", "/api/v1/events", params={"subject": "scrape.attempted", "max_events": 1}
        ) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        return events

    task = asyncio.create_task(read())
    for _ in range(50):
        if len(nc._subs) > before:
            break
        await asyncio.sleep(0.05)
    await fresh.rt.publisher.publish(
        ScrapeAttempted(scraper="reddit", target_kind="subreddit", target="live", outcome="success")
    )
    events = await asyncio.wait_for(task, 10)
    assert events[-1]["type"] == "scrape.attempted" and events[-1]["key"]["target"] == "live"
    for _ in range(50):
        if len(nc._subs) == before:
            break
        await asyncio.sleep(0.05)
    assert len(nc._subs) == before, subs_before


async def test_history_of_decisions_newest_first(fresh: Env) -> None:
    seen = await fresh.pool.fetchval("SELECT review FROM subreddits WHERE name = 'sub05'")
    await fresh.client.put("/api/v1/subreddits/sub05/review", json={"review": "Ok"})
    await fresh.client.put("/api/v1/subreddits/SUB05/review", json={"review": "Banned"})
    await fresh.client.post("/api/v1/subreddits/review", json={"names": ["sub05", "sub06"], "review": "No Seller"})
    r = await fresh.client.get("/api/v1/history", params={"entity_type": "subreddit", "entity_id": "SUB05"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    assert [(h["before"], h["after"]) for h in body["items"]] == [("Banned", "No Seller"), ("Ok", "Banned"),
                                                                   (seen, "Ok")]
    assert {h["actor_name"] for h in body["items"]} == {"GATEWAY_API_KEY"}
    assert body["items"][0]["batch"] is not None and body["items"][1]["batch"] is None
    r = await fresh.client.get("/api/v1/history", params={"entity_type": "subreddit", "per_page": 1, "page": 2})
    assert r.json()["total"] == 4 and len(r.json()["items"]) == 1
    r = await fresh.client.get("/api/v1/history", params={"entity_type": "planet"})
    assert r.status_code == 422


async def test_a_decision_persistence_refuses_is_answered_with_its_reason(fresh: Env) -> None:
    """A decision the database refuses (a second model with a taken name, as when two people create
    one at once and both pass the gateway's check) comes back with the reason, never a silent
    'accepted' that a reload takes back."""
    from b9_common.events import Actor, ModelCreated
    from b9_gateway.decide import Refused, new_model_id

    r = await fresh.client.post("/api/v1/models", json={"name": "Twin"})
    assert r.status_code == 201
    who = Actor(id="acc-x", name="x", role="reviewer", channel="api")
    with pytest.raises(Refused) as refused:
        await fresh.deps.decider.decide([ModelCreated(model_id=new_model_id(), name="Twin", actor=who)])
    assert refused.value.status_code == 409
    assert "database refused model.created" in str(refused.value.detail) and "Twin" in str(refused.value.detail)
    assert await fresh.pool.fetchval("SELECT count(*) FROM models WHERE name = 'Twin'") == 1
    r = await fresh.client.post("/api/v1/models", json={"name": "Twin"})  # the gateway's own check
    assert r.status_code == 409 and "Twin" in r.text
