"""Two reviewers and a viewer: each reviewer's decisions are attributed to them in the read model,
the API and the history; the viewer's attempts get 403 and change nothing."""

from __future__ import annotations

from gwaccounts import bearer, person
from gwenv import Env


async def test_two_reviewers_are_told_apart_and_the_viewer_changes_nothing(fresh: Env) -> None:
    anna, anna_key = await person(fresh, "anna", "reviewer")
    bob, bob_key = await person(fresh, "bob", "reviewer")
    _, vic_key = await person(fresh, "vic", "viewer")
    c = fresh.anon
    r = await c.put("/api/v1/subreddits/sub02/review", json={"review": "Ok"}, headers=bearer(anna_key))
    assert r.status_code == 200 and r.json()["stored"] is True
    r = await c.post("/api/v1/subreddits/review", json={"names": ["sub03", "sub04"], "review": "Banned"},
                     headers=bearer(bob_key))
    assert r.status_code == 200
    r = await c.put("/api/v1/creators/9003/review", json={"review_status": "ok"}, headers=bearer(bob_key))
    assert r.status_code == 200
    before = await fresh.pool.fetchval("SELECT count(*) FROM decision_log")
    r = await c.put("/api/v1/subreddits/sub02/review", json={"review": "Banned"}, headers=bearer(vic_key))
    assert r.status_code == 403 and "reviewer" in r.text
    assert await fresh.pool.fetchval("SELECT count(*) FROM decision_log") == before

    rows = await fresh.pool.fetch("SELECT name, review, reviewed_by FROM subreddits WHERE name IN "
                                  "('sub02', 'sub03', 'sub04') ORDER BY name")
    assert [tuple(x) for x in rows] == [("sub02", "Ok", "anna"), ("sub03", "Banned", "bob"), ("sub04", "Banned", "bob")]
    r = await c.get("/api/v1/subreddits/sub02", headers=bearer(vic_key))  # a viewer reads everything
    assert r.json()["subreddit"]["reviewed_by"] == "anna"
    r = await c.get("/api/v1/creators/9003", headers=bearer(vic_key))
    assert r.json()["creator"]["reviewed_by"] == "bob"
    r = await c.get("/api/v1/history", params={"actor": bob.id}, headers=bearer(vic_key))
    items = r.json()["items"]
    assert {(h["entity_type"], h["entity_id"]) for h in items} == {
        ("subreddit", "sub03"), ("subreddit", "sub04"), ("creator", "9003")}
    assert {(h["actor_name"], h["actor_role"], h["channel"]) for h in items} == {("bob", "reviewer", "api")}
    r = await c.get("/api/v1/history", params={"entity_type": "subreddit", "entity_id": "sub02"},
                    headers=bearer(vic_key))
    assert [(h["actor_id"], h["actor_name"], h["after"]) for h in r.json()["items"]] == [(anna.id, "anna", "Ok")]
