"""People's decisions as persistence logged them (``decision_log``, migration 0005), newest first."""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Where

HISTORY_COLS = (
    "id, type, entity_type, entity_id, field, before, after, actor_id, actor_name, actor_role, "
    "channel, batch, decided_at"
)


async def history_page(
    conn: asyncpg.Connection, entity_type: str | None, entity_key: str | None, actor_id: str | None,
    page: int, per_page: int,
) -> tuple[list[asyncpg.Record], int]:
    """One page of decisions (``HISTORY_COLS``) about an entity type, one entity (its key as the
    log stores it: lower-cased names of subreddits and users) and/or by one person, and the total."""
    w = Where()
    if entity_type is not None:
        w.add("entity_type = {}", entity_type)
    if entity_key is not None:
        w.add("entity_id = {}", entity_key)
    if actor_id is not None:
        w.add("actor_id = {}", actor_id)
    total = await conn.fetchval(f"SELECT count(*) FROM decision_log{w.sql()}", *w.params)
    found = await conn.fetch(
        f"SELECT {HISTORY_COLS} FROM decision_log{w.sql()} ORDER BY decided_at DESC, id DESC "
        f"LIMIT {w.p(per_page)} OFFSET {w.p((page - 1) * per_page)}",
        *w.params,
    )
    return found, total


async def logged_ids(db: asyncpg.Pool | asyncpg.Connection, ids: list[str]) -> set[str]:
    """Which of these decision ids persistence has logged (the gateway's fallback when an
    announcement of them was missed)."""
    rows = await db.fetch("SELECT id FROM decision_log WHERE id = ANY($1::text[])", ids)
    return {r["id"] for r in rows}
