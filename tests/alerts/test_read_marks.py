"""Read marks are per account: a decision (notifications.read) persistence keeps, never per browser."""

from __future__ import annotations

from datetime import timedelta

from alenv import Stack, wait_for
from b9_common.events import now
from b9_common.events.alerts import NotificationCreated


async def test_a_read_mark_is_the_accounts_and_only_moves_forward(mst: Stack) -> None:
    pub, t0 = mst.rt.publisher, now()
    await pub.publish_many([
        pub.envelope(NotificationCreated(rule_id="r-read", rule_name="reads", on="subreddit.discovered",
                                         entity=f"e{i}", occurrence="once", title=f"r/e{i}"),
                     id_=f"nread{i}", occurred_at=t0 + timedelta(seconds=i))
        for i in range(3)])
    await wait_for(lambda: mst.pool.fetchval("SELECT count(*) = 3 FROM notifications WHERE rule_id = 'r-read'"),
                   what="3 notifications stored")
    ann, vera = await mst.person("ann-r", "reviewer"), await mst.person("vera-r", "viewer")

    async def page(who: dict[str, str]) -> dict:
        r = await mst.anon.get("/api/v1/notifications", headers=who, params={"rule": "r-read"})
        assert r.status_code == 200, r.text
        return r.json()

    first = await page(vera)
    assert first["unread"] == 3 and first["read_up_to"] is None
    assert [(n["id"], n["unread"]) for n in first["items"]] == [("nread2", True), ("nread1", True), ("nread0", True)]
    middle = first["items"][1]
    r = await mst.anon.post("/api/v1/notifications/read", headers=vera,  # a viewer marks their own
                            json={"up_to": middle["created_at"], "up_to_id": middle["id"]})
    assert r.status_code == 200 and r.json()["stored"], r.text
    seen = await page(vera)
    assert seen["unread"] == 1 and seen["read_up_to_id"] == "nread1"
    assert [n["unread"] for n in seen["items"]] == [True, False, False]
    assert (await page(ann))["unread"] == 3  # another person's notifications are still unread

    oldest = first["items"][2]  # an older tab marks less: nothing becomes unread again
    r = await mst.anon.post("/api/v1/notifications/read", headers=vera,
                            json={"up_to": oldest["created_at"], "up_to_id": oldest["id"]})
    assert r.status_code == 200, r.text
    assert (await page(vera))["unread"] == 1
    assert (await mst.anon.get("/api/v1/notifications", headers=vera,
                               params={"rule": "r-read", "since": oldest["created_at"]})).json()["unread"] == 2

    logged = await mst.pool.fetch("SELECT actor_name, actor_role, after->>'up_to_id' AS up_to FROM decision_log "
                                  "WHERE type = 'notifications.read' ORDER BY decided_at")
    assert [tuple(r) for r in logged] == [("vera-r", "viewer", "nread1"), ("vera-r", "viewer", "nread0")]
    r = await mst.anon.post("/api/v1/notifications/read", headers=vera, json={"up_to": "yesterday"})
    assert r.status_code == 422, r.text
