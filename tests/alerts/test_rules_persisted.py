"""Rule decisions in the read model: newer wins, a delete is final, a redelivery is applied once."""

from __future__ import annotations

from datetime import timedelta

from alenv import Stack, wait_for
from b9_common.events import Actor, now
from b9_common.events.alerts import AlertRuleCreated, AlertRuleDeleted, AlertRuleUpdated

ANN = Actor(id="a1", name="ann", role="reviewer", channel="api")


async def test_newer_wins_a_delete_is_final_and_a_redelivery_changes_nothing(st: Stack) -> None:
    pub, t0 = st.rt.publisher, now()
    created = pub.envelope(AlertRuleCreated(rule_id="r1", name="one", on="subreddit.fetched", actor=ANN),
                           occurred_at=t0)
    newer = pub.envelope(AlertRuleUpdated(rule_id="r1", name="newer", actor=ANN), occurred_at=t0 + timedelta(seconds=2))
    older = pub.envelope(AlertRuleUpdated(rule_id="r1", name="older", cap=3, actor=ANN),
                         occurred_at=t0 + timedelta(seconds=1))
    for env in (created, newer, older, newer):
        await pub.publish_envelope(env)
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 3 FROM decision_log WHERE entity_id = 'r1'"),
                   what="three decisions logged")
    row = await st.pool.fetchrow("SELECT name, cap, decision_id FROM alert_rules WHERE id = 'r1'")
    assert (row["name"], row["cap"], row["decision_id"]) == ("newer", 20, newer.id)  # the late, older one lost
    gone = pub.envelope(AlertRuleDeleted(rule_id="r1", name="newer", actor=ANN), occurred_at=t0 + timedelta(seconds=3))
    late = pub.envelope(AlertRuleUpdated(rule_id="r1", paused=True, actor=ANN), occurred_at=t0 + timedelta(seconds=4))
    for env in (gone, late):
        await pub.publish_envelope(env)
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 5 FROM decision_log WHERE entity_id = 'r1'"),
                   what="five decisions logged")
    row = await st.pool.fetchrow("SELECT deleted_at IS NOT NULL AS deleted, paused FROM alert_rules WHERE id = 'r1'")
    assert row["deleted"] and not row["paused"]  # an update after the delete changes nothing
    assert (await st.client.get("/api/v1/alerts")).json() == []
