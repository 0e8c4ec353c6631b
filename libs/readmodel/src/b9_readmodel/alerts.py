"""Alert rules, notifications and webhook deliveries as persistence stores them (migration 0007).

Read by the alerts service (the rules in force at start, the newest notification ids, whether a
delivery is logged) and by the gateway's alert pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class NotificationsPage:
    rows: list[asyncpg.Record]  # NOTIFICATION_COLS and ``unread`` (after the mark or ``since``)
    total: int
    unread: int
    mark: asyncpg.Record | None  # (read_up_to, read_up_to_id) of the account, if it ever read


NOTIFICATION_COLS = ('id, rule_id, rule_name, on_type AS "on", entity, title, link, event_type, event_at, fields, '
                     "digest, count, entities, replayed, created_at")


async def notifications_page(
    conn: asyncpg.Connection, account_id: str, since: datetime | None, rule_id: str | None, limit: int, offset: int
) -> NotificationsPage:
    """A page of notifications (of one rule, or all), newest first, each flagged ``unread`` when
    created after ``since`` or else after the account's read mark (forward-only, per account)."""
    cond, params = ("WHERE rule_id = $1", [rule_id]) if rule_id else ("", [])
    n = len(params)
    mark = await conn.fetchrow("SELECT read_up_to, read_up_to_id FROM notification_reads WHERE account_id = $1",
                               account_id)
    if since is not None:
        after, cursor = f"created_at > ${n + 1}", [since]
    elif mark is not None:
        after, cursor = f"(created_at, id) > (${n + 1}, ${n + 2})", [mark[0], mark[1]]
    else:
        after, cursor = "true", []
    m = n + len(cursor)
    total = await conn.fetchval(f"SELECT count(*) FROM notifications {cond}", *params)
    found = await conn.fetch(
        f"SELECT {NOTIFICATION_COLS}, {after} AS unread FROM notifications {cond} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${m + 1} OFFSET ${m + 2}",
        *params, *cursor, limit, offset)
    unread = await conn.fetchval(
        f"SELECT count(*) FROM notifications {cond} {'AND' if cond else 'WHERE'} {after}", *params, *cursor)
    return NotificationsPage(found, total, unread, mark)
