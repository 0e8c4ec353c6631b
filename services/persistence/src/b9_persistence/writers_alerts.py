"""Alerts in the read model: rules (DECISIONS) -> ``alert_rules`` + ``decision_log``; the alerts
service's notifications and webhook outcomes (DERIVED) -> ``notifications``, ``webhook_deliveries``.

Rules follow the decision rules of ``writers_decisions``: newer-wins on ``(decided_at,
decision_id)``, a delete leaves a tombstone (``deleted_at``) so a late update changes nothing,
and every change is logged once (keyed by the event id) for the history.

A read mark (``notifications.read``) is per account (``notification_reads``): the later
``(read_up_to, read_up_to_id)`` wins whatever the order the marks arrive in, and it is logged.

Notifications are keyed by their deterministic event id (``ON CONFLICT DO NOTHING``: the first
stored wins, a replayed copy of one already stored changes nothing). A delivery is keyed by its
delivery id; ``delivered`` replaces an earlier ``failed``, never the reverse.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from b9_persistence.writers_decisions import Apply, Env, _log

_json = msgspec.json.Encoder()
RULE_FIELDS = ("name", "on", "where", "webhook", "slack", "repeat", "cap", "window_seconds", "paused")
_COLUMN = {"on": "on_type", "where": '"where"'}


def rule_view(d: Any) -> dict[str, Any]:
    return {k: getattr(d, k) for k in RULE_FIELDS}


async def rule_created(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await conn.execute(
        'INSERT INTO alert_rules (id, name, on_type, "where", webhook, slack, repeat, cap, window_seconds, paused, '
        "created_at, created_by, updated_at, updated_by, decided_at, decision_id) "
        "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $11, $12, $11, $13) "
        "ON CONFLICT (id) DO NOTHING",
        d.rule_id, d.name, d.on, _json.encode(d.where).decode(), d.webhook or None, d.slack, d.repeat, d.cap,
        d.window_seconds, d.paused, env.occurred_at, d.actor.name, env.id,
    )
    await _log(conn, env, "alert_rule", d.rule_id, "rule", None, rule_view(d))


async def rule_updated(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    changes = {k: getattr(d, k) for k in RULE_FIELDS if getattr(d, k) is not None}
    sets, params = [], [d.rule_id, env.occurred_at, env.id, d.actor.name]
    for k, v in changes.items():
        params.append(_json.encode(v).decode() if k == "where" else (v or None) if k == "webhook" else v)
        sets.append(f"{_COLUMN.get(k, k)} = ${len(params)}" + ("::jsonb" if k == "where" else ""))
    await conn.execute(
        "UPDATE alert_rules SET " + ", ".join([*sets, "updated_at = $2", "updated_by = $4", "decided_at = $2",
                                               "decision_id = $3"])
        + " WHERE id = $1 AND deleted_at IS NULL AND (decided_at, decision_id) < ($2, $3)",
        *params,
    )
    await _log(conn, env, "alert_rule", d.rule_id, "rule", d.before, changes)


async def rule_deleted(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await conn.execute(
        "UPDATE alert_rules SET deleted_at = $2, updated_at = $2, updated_by = $4, decided_at = $2, decision_id = $3 "
        "WHERE id = $1 AND deleted_at IS NULL",
        d.rule_id, env.occurred_at, env.id, d.actor.name,
    )
    await _log(conn, env, "alert_rule", d.rule_id, "rule", {"name": d.name}, None)


async def notifications_read(conn: asyncpg.Connection, env: Env) -> None:
    """A person's read mark: the later of the stored one and this one (order of arrival does not matter)."""
    d = env.data
    await conn.execute(
        "INSERT INTO notification_reads (account_id, read_up_to, read_up_to_id, decided_at, decision_id) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET read_up_to = excluded.read_up_to, "
        "read_up_to_id = excluded.read_up_to_id, decided_at = excluded.decided_at, decision_id = excluded.decision_id "
        "WHERE (notification_reads.read_up_to, notification_reads.read_up_to_id) "
        "< (excluded.read_up_to, excluded.read_up_to_id)",
        d.actor.id, d.up_to, d.up_to_id, env.occurred_at, env.id,
    )
    await _log(conn, env, "account", d.actor.id, "notifications_read", None,
               {"up_to": d.up_to, "up_to_id": d.up_to_id})


APPLY: dict[str, Apply] = {
    "alert_rule.created": rule_created,
    "alert_rule.updated": rule_updated,
    "alert_rule.deleted": rule_deleted,
    "notifications.read": notifications_read,
}


async def write_notifications(conn: asyncpg.Connection, envs: list[Env]) -> int:
    rows = [
        (e.id, d.rule_id, d.rule_name, d.on, d.entity, d.occurrence, d.title, d.link, d.event_id, d.event_type,
         d.event_at, _json.encode(d.fields).decode(), d.digest, d.count, list(d.entities), d.replayed, e.occurred_at)
        for e in envs for d in (e.data,)
    ]
    await conn.executemany(
        "INSERT INTO notifications (id, rule_id, rule_name, on_type, entity, occurrence, title, link, event_id, "
        "event_type, event_at, fields, digest, count, entities, replayed, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, $17) "
        "ON CONFLICT (id) DO NOTHING",
        rows,
    )
    return len(rows)


async def write_deliveries(conn: asyncpg.Connection, envs: list[Env]) -> int:
    rows = [
        (d.delivery_id, d.rule_id, d.notification_id, d.url_host, "delivered" if e.type == "webhook.delivered"
         else "failed", d.attempts, d.status, getattr(d, "reason", ""), d.duration_ms, e.occurred_at, e.id)
        for e in envs for d in (e.data,)
    ]
    await conn.executemany(
        "INSERT INTO webhook_deliveries (delivery_id, rule_id, notification_id, url_host, outcome, attempts, status, "
        "reason, duration_ms, at, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (delivery_id) DO UPDATE SET outcome = excluded.outcome, attempts = excluded.attempts, "
        "status = excluded.status, reason = excluded.reason, duration_ms = excluded.duration_ms, at = excluded.at, "
        "event_id = excluded.event_id "
        "WHERE webhook_deliveries.outcome = 'failed' AND excluded.outcome = 'delivered'",
        rows,
    )
    return len(rows)


WRITERS = {
    "notification.created": write_notifications,
    "webhook.delivered": write_deliveries,
    "webhook.failed": write_deliveries,
}
