"""Alert rules through /api/v1/alerts: decisions with their actor, in the history, role-gated,
validated (filter language, SSRF rules for webhooks) with a clear 422."""

from __future__ import annotations

import msgspec
from alenv import Stack


async def test_a_rule_is_made_changed_paused_and_deleted_and_each_change_is_in_the_history(mst: Stack) -> None:
    ann = await mst.person("ann", "reviewer")
    r = await mst.anon.post("/api/v1/alerts", headers=ann, json={
        "name": "big subs", "on": "subreddit.fetched", "where": {"subscribers": {"gte": 10000}}})
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["id"] and rule["on"] == "subreddit.fetched" and rule["created_by"] == "ann"
    assert rule["where"] == {"subscribers": {"gte": 10000}} and rule["cap"] == 20 and not rule["paused"]
    r = await mst.anon.patch(f"/api/v1/alerts/{rule['id']}", headers=ann, json={"paused": True, "cap": 5})
    assert r.status_code == 200 and r.json()["paused"] and r.json()["cap"] == 5, r.text
    assert rule["id"] in [a["id"] for a in (await mst.client.get("/api/v1/alerts")).json()]
    r = await mst.anon.delete(f"/api/v1/alerts/{rule['id']}", headers=ann)
    assert r.status_code == 200, r.text
    assert rule["id"] not in [a["id"] for a in (await mst.client.get("/api/v1/alerts")).json()]
    assert (await mst.client.get(f"/api/v1/alerts/{rule['id']}")).status_code == 404
    hist = (await mst.client.get("/api/v1/history", params={"entity_type": "alert_rule",
                                                           "entity_id": rule["id"]})).json()
    assert [(h["type"], h["actor_name"], h["actor_role"]) for h in hist["items"]] == [
        ("alert_rule.deleted", "ann", "reviewer"), ("alert_rule.updated", "ann", "reviewer"),
        ("alert_rule.created", "ann", "reviewer")]
    assert hist["items"][1]["before"] == {"paused": False, "cap": 20}
    assert hist["items"][1]["after"] == {"paused": True, "cap": 5}


async def test_viewers_cannot_make_change_or_delete_rules(mst: Stack) -> None:
    vera = await mst.person("vera", "viewer")
    r = await mst.anon.post("/api/v1/alerts", headers=vera, json={"name": "x", "on": "subreddit.discovered"})
    assert r.status_code == 403 and r.json()["needed"] == "reviewer", r.text
    made = (await mst.client.post("/api/v1/alerts", json={"name": "x", "on": "subreddit.discovered"})).json()
    r = await mst.anon.patch(f"/api/v1/alerts/{made['id']}", headers=vera, json={"paused": True})
    assert r.status_code == 403
    assert (await mst.anon.delete(f"/api/v1/alerts/{made['id']}", headers=vera)).status_code == 403
    listed = await mst.anon.get("/api/v1/alerts", headers=vera)  # reading is a viewer's
    assert listed.status_code == 200 and [a["paused"] for a in listed.json() if a["id"] == made["id"]] == [False]
    assert (await mst.anon.get("/api/v1/notifications", headers=vera)).status_code == 200


async def test_filters_and_targets_are_validated_with_the_reason(mst: Stack) -> None:
    bad = [
        ({"on": "nope.happened"}, "on"),
        ({"on": "subreddit.fetched", "where": {"subscriberz": 1}}, "unknown field 'subscriberz'"),
        ({"on": "subreddit.fetched", "where": {"subscribers": {"around": 1}}}, "unknown operator 'around'"),
        ({"on": "subreddit.fetched", "where": {"name": {"in": "pics"}}}, "in needs a list"),
        ({"on": "subreddit.fetched", "where": {"any": []}}, "non-empty list"),
    ]
    for extra, reason in bad:
        r = await mst.client.post("/api/v1/alerts", json={"name": "bad", **extra})
        assert r.status_code == 422 and reason in r.text, (extra, r.text)
    r = await mst.client.post("/api/v1/alerts", json={
        "name": "nested", "on": "post.fetched",
        "where": {"any": [{"score": {"gte": 5000}}, {"num_comments": {"gte": 500}}], "not": {"over_18": True}}})
    assert r.status_code == 201, r.text
    assert "nested" in [a["name"] for a in (await mst.client.get("/api/v1/alerts")).json()]


async def test_a_webhook_to_loopback_is_refused_at_creation_unless_allow_listed(mst: Stack) -> None:
    body = {"name": "hook", "on": "subreddit.discovered", "webhook": "http://127.0.0.1:9/hook"}
    mst.deps.settings = msgspec.structs.replace(mst.deps.settings, alert_webhook_allowed_hosts="")
    for url, reason in [("http://127.0.0.1:9/hook", "plain http"), ("https://127.0.0.1/hook", "loopback"),
                        ("https://10.1.2.3/hook", "private (10/8)"), ("https://127.1/hook", "non-canonical"),
                        ("https://[::ffff:127.0.0.1]/hook", "loopback"), ("https://u:p@example.com/", "credentials"),
                        ("ftp://example.com/", "http(s)"), ("https://localhost/hook", "loopback")]:
        r = await mst.client.post("/api/v1/alerts", json={**body, "webhook": url})
        assert r.status_code == 422, (url, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "webhook"] and reason in detail["msg"], (url, detail)
    assert "hook" not in [a["name"] for a in (await mst.client.get("/api/v1/alerts")).json()]
    mst.deps.settings = msgspec.structs.replace(mst.deps.settings, alert_webhook_allowed_hosts="127.0.0.1")
    r = await mst.client.post("/api/v1/alerts", json=body)
    assert r.status_code == 201 and r.json()["webhook"] == body["webhook"], r.text
