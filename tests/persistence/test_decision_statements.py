"""The one-statement decision writers' edge cases: deleted models, links waiting for their model,
a user's stored spelling, a refused decision announced with its reason."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
import pfactories as f
from b9_common.events import (
    AccountLinked,
    AccountUnlinked,
    Actor,
    ModelCreated,
    ModelDeleted,
    UserMarkedOurs,
)
from b9_common.service import Runtime
from phelpers import drained

ANNA = Actor(id="acc-anna", name="anna", role="reviewer", channel="dashboard")


async def _logged(pool: asyncpg.Pool, entity_id: str) -> list[tuple[str, Any]]:
    rows = await pool.fetch("SELECT type, after FROM decision_log WHERE entity_id = $1 ORDER BY decided_at, id",
                            entity_id)
    return [(r["type"], json.loads(r["after"])) for r in rows]


async def test_deleted_models_stay_deleted_and_links_wait_for_their_model(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    await p.publish(f.user("CaseUser"))
    await drained(rt)

    # A create arriving after the model's deletion is only logged; a link to it means no model.
    deleted = p.envelope(ModelDeleted(model_id=90, name="Gone", actor=ANNA))
    await p.publish_envelope(deleted)
    await drained(rt)
    await p.publish(ModelCreated(model_id=90, name="Gone", actor=ANNA),
                    occurred_at=deleted.occurred_at - timedelta(seconds=5))
    await p.publish(AccountLinked(username="caseuser", model_id=90, actor=ANNA))
    await drained(rt)
    assert await pool.fetchval("SELECT count(*) FROM models WHERE id = 90") == 0
    assert [t for t, _ in await _logged(pool, "90")] == ["model.created", "model.deleted"]
    # The user is found in any case: its stored spelling is updated, no second row.
    users = await pool.fetch("SELECT username, model_id FROM reddit_users WHERE lower(username) = 'caseuser'")
    assert [tuple(u) for u in users] == [("CaseUser", None)]
    assert await _logged(pool, "caseuser") == [("model.account_linked", 90)]

    # A link to a model not stored yet waits for it (Pending -> nak), then applies.
    await p.publish(AccountLinked(username="NoSuchUserYet", model_id=91, actor=ANNA))
    await asyncio.sleep(0.3)
    assert await pool.fetchval("SELECT count(*) FROM reddit_users WHERE username = 'NoSuchUserYet'") == 0
    await p.publish(ModelCreated(model_id=91, name="Later", actor=ANNA))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await pool.fetchval("SELECT model_id FROM reddit_users WHERE username = 'NoSuchUserYet'") != 91:
        assert loop.time() < deadline, "the link waiting for its model was never applied"
        await asyncio.sleep(0.05)
    await p.publish(UserMarkedOurs(username="nosuchuseryet", our_creator=True, actor=ANNA))
    await p.publish(AccountUnlinked(username="NOSUCHUSERYET", before=91, actor=ANNA))
    await drained(rt)
    row = await pool.fetchrow("SELECT our_creator, model_id FROM reddit_users WHERE username = 'NoSuchUserYet'")
    assert dict(row) == {"our_creator": True, "model_id": None}
    assert [t for t, _ in await _logged(pool, "nosuchuseryet")] == [
        "model.account_linked", "user.marked_ours", "model.account_unlinked"]


async def test_a_refused_decision_is_announced_with_its_reason_and_changes_nothing(
        rt: Runtime, service: object, pool: asyncpg.Pool) -> None:
    notes: list[dict[str, Any]] = []

    async def on_note(msg: Any) -> None:
        notes.append(json.loads(msg.data))

    sub = await rt.nc.subscribe(rt.topology.decisions_applied_subject(), cb=on_note)
    p = rt.publisher
    first = p.envelope(ModelCreated(model_id=92, name="Twin", actor=ANNA))
    second = p.envelope(ModelCreated(model_id=93, name="Twin", actor=ANNA))  # models.name is unique
    await p.publish_envelope(first)
    await p.publish_envelope(second)
    await drained(rt)
    await sub.unsubscribe()
    stored = [i for n in notes for i in n["stored"]]
    refused = {i: r for n in notes for i, r in n["refused"].items()}
    assert first.id in stored and second.id not in stored
    assert "database refused model.created" in refused[second.id]
    assert await pool.fetchval("SELECT count(*) FROM models WHERE id = 93") == 0
    assert await pool.fetchval("SELECT count(*) FROM decision_log WHERE id = $1", second.id) == 0
