"""Alert rules, notifications and webhook deliveries as persistence stores them (migration 0007).

Read by the alerts service (the rules in force at start, the newest notification ids, whether a
delivery is logged) and by the gateway's alert pages.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db

# The gateway's view of a rule (``on`` and ``where`` as the API names them).
RULE_COLS = ('id, name, on_type AS "on", "where", webhook, slack, repeat, cap, window_seconds, paused, '
             "created_at, created_by, updated_at, updated_by")


async def all_rules(db: Db) -> list[asyncpg.Record]:
    """Every rule, deleted ones too, with the decision that wrote it last (``where`` as JSON text
    in ``where_json``): what the alerts service loads at start."""
    return await db.fetch(
        'SELECT id, name, on_type, "where"::text AS where_json, webhook, slack, repeat, cap, window_seconds, '
        "paused, created_at, deleted_at, decided_at, decision_id FROM alert_rules")


async def newest_notification_ids(db: Db, limit: int) -> list[asyncpg.Record]:
    """(``id``) of the ``limit`` newest notifications, newest first."""
    return await db.fetch("SELECT id FROM notifications ORDER BY created_at DESC LIMIT $1", limit)


async def delivery_logged(db: Db, delivery_id: str) -> bool:
    """Whether a webhook delivery (delivered or failed) is stored."""
    return bool(await db.fetchval("SELECT 1 FROM webhook_deliveries WHERE delivery_id = $1", delivery_id))


async def rule(db: Db, id_: str) -> asyncpg.Record | None:
    """One rule not deleted (``RULE_COLS``)."""
    return await db.fetchrow(f"SELECT {RULE_COLS} FROM alert_rules WHERE id = $1 AND deleted_at IS NULL", id_)


async def rules(db: Db) -> list[asyncpg.Record]:
    """Every rule not deleted (``RULE_COLS``) by name."""
    return await db.fetch(f"SELECT {RULE_COLS} FROM alert_rules WHERE deleted_at IS NULL ORDER BY lower(name), id")


async def deliveries_page(
    conn: asyncpg.Connection, rule_id: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the rule's webhook delivery log, newest first, and how many there are."""
    total = await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE rule_id = $1", rule_id)
    found = await conn.fetch(
        "SELECT delivery_id, notification_id, url_host, outcome, attempts, status, reason, duration_ms, at "
        "FROM webhook_deliveries WHERE rule_id = $1 ORDER BY at DESC, delivery_id DESC LIMIT $2 OFFSET $3",
        rule_id, limit, offset)
    return found, total
