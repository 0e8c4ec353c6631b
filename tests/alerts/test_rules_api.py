"""Alert rules through /api/v1/alerts: decisions with their actor, in the history, role-gated,
validated (filter language, SSRF rules for webhooks) with a clear 422."""

from __future__ import annotations

from alenv import Stack


async def test_a_rule_is_made_changed_paused_and_deleted_and_each_change_is_in_the_history(st: Stack) -> None:
    ann = await st.person("ann", "reviewer")
    r = await st.anon.post("/api/v1/alerts", headers=ann, json={
        "name": "big subs", "on": "subreddit.fetched", "where": {"subscribers": {"gte": 10000}}})
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["id"] and rule["on"] == "subreddit.fetched" and rule["created_by"] == "ann"
    assert rule["where"] == {"subscribers": {"gte": 10000}} and rule["cap"] == 20 and not rule["paused"]
    r = await st.anon.patch(f"/api/v1/alerts/{rule['id']}", headers=ann, json={"paused": True, "cap": 5})
    assert r.status_code == 200 and r.json()["paused"] and r.json()["cap"] == 5, r.text
    assert [a["id"] for a in (await st.client.get("/api/v1/alerts")).json()] == [rule["id"]]
    r = await st.anon.delete(f"/api/v1/alerts/{rule['id']}", headers=ann)
    assert r.status_code == 200, r.text
    assert (await st.client.get("/api/v1/alerts")).json() == []
    assert (await st.client.get(f"/api/v1/alerts/{rule['id']}")).status_code == 404
    hist = (await st.client.get("/api/v1/history", params={"entity_type": "alert_rule",
                                                           "entity_id": rule["id"]})).json()
    assert [(h["type"], h["actor_name"], h["actor_role"]) for h in hist["items"]] == [
        ("alert_rule.deleted", "ann", "reviewer"), ("alert_rule.updated", "ann", "reviewer"),
        ("alert_rule.created", "ann", "reviewer")]
    assert hist["items"][1]["before"] == {"paused": False, "cap": 20}
    assert hist["items"][1]["after"] == {"paused": True, "cap": 5}


async def test_viewers_cannot_make_change_or_delete_rules(st: Stack) -> None:
    vera = await st.person("vera", "viewer")
    r = await st.anon.post("/api/v1/alerts", headers=vera, json={"name": "x", "on": "subreddit.discovered"})
    assert r.status_code == 403 and r.json()["needed"] == "reviewer", r.text
    made = (await st.client.post("/api/v1/alerts", json={"name": "x", "on": "subreddit.discovered"})).json()
    assert (await st.anon.patch(f"/api/v1/alerts/{made['id']}", headers=vera, json={"paused": True})).status_code == 403
    assert (await st.anon.delete(f"/api/v1/alerts/{made['id']}", headers=vera)).status_code == 403
    listed = await st.anon.get("/api/v1/alerts", headers=vera)  # reading is a viewer's
    assert listed.status_code == 200 and [a["paused"] for a in listed.json()] == [False]
    assert (await st.anon.get("/api/v1/notifications", headers=vera)).status_code == 200


async def test_filters_and_targets_are_validated_with_the_reason(st: Stack) -> None:
    bad = [
        ({"on": "nope.happened"}, "on"),
        ({"on": "subreddit.fetched", "where": {"subscriberz": 1}}, "unknown field 'subscriberz'"),
        ({"on": "subreddit.fetched", "where": {"subscribers": {"around": 1}}}, "unknown operator 'around'"),
        ({"on": "subreddit.fetched", "where": {"name": {"in": "pics"}}}, "in needs a list"),
        ({"on": "subreddit.fetched", "where": {"any": []}}, "non-empty list"),
    ]
    for extra, reason in bad:
        r = await st.client.post("/api/v1/alerts", json={"name": "bad", **extra})
        assert r.status_code == 422 and reason in r.text, (extra, r.text)
    r = await st.client.post("/api/v1/alerts", json={
        "name": "nested", "on": "post.fetched",
        "where": {"any": [{"score": {"gte": 5000}}, {"num_comments": {"gte": 500}}], "not": {"over_18": True}}})
    assert r.status_code == 201, r.text
    assert (await st.client.get("/api/v1/alerts")).json()[0]["name"] == "nested"


async def test_a_webhook_to_loopback_is_refused_at_creation_unless_allow_listed(st: Stack) -> None:
    body = {"name": "hook", "on": "subreddit.discovered", "webhook": "http://127.0.0.1:9/hook"}
    st.deps.settings = __import__("msgspec").structs.replace(st.deps.settings, alert_webhook_allowed_hosts="")
    for url, reason in [("http://127.0.0.1:9/hook", "plain http"), ("https://127.0.0.1/hook", "loopback"),
                        ("https://10.1.2.3/hook", "private (10/8)"), ("https://127.1/hook", "non-canonical"),
                        ("https://[::ffff:127.0.0.1]/hook", "loopback"), ("https://u:p@example.com/", "credentials"),
                        ("ftp://example.com/", "http(s)"), ("https://localhost/hook", "loopback")]:
        r = await st.client.post("/api/v1/alerts", json={**body, "webhook": url})
        assert r.status_code == 422, (url, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "webhook"] and reason in detail["msg"], (url, detail)
    assert (await st.client.get("/api/v1/alerts")).json() == []
    st.deps.settings = __import__("msgspec").structs.replace(st.deps.settings, alert_webhook_allowed_hosts="127.0.0.1")
    r = await st.client.post("/api/v1/alerts", json=body)
    assert r.status_code == 201 and r.json()["webhook"] == body["webhook"], r.text
