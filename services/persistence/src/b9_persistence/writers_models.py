"""People's decisions about models (stream DECISIONS) -> ``models``, ``model_tombstones``, ``decision_log``.

The rules of ``writers_decisions``, with two of their own:
- newer wins per field (``field_versions``): a late update of ``status`` still applies after a
  newer one of ``name``, a late one of the same field does not;
- a deleted model stays deleted (``model_tombstones``): a late create or update is only logged.

A create and an update are one statement each (one round trip, atomic on their own); a delete
is three statements and a log insert, run in the transaction the handler opens for it.
"""

from __future__ import annotations

from datetime import UTC

import asyncpg
import msgspec

from b9_persistence.writers_decisions import Apply, Env, _log, _newer, _run, _statement

_json = msgspec.json.Encoder()
MODEL_FIELDS = ("name", "description", "assigned_tags", "status")


def _version(env: Env) -> str:
    """A decision's order as text that sorts like (occurred_at, id)."""
    return f"{env.occurred_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}|{env.id}"


_DEAD = "t AS (SELECT EXISTS (SELECT 1 FROM model_tombstones WHERE model_id = $1::bigint) AS dead)"

# A model deleted before its creation arrived stays deleted: the create is only logged.
MODEL_CREATED = _statement(
    f"{_DEAD}, e AS (SELECT $10::text AS key), c AS (INSERT INTO models (id, name, description, assigned_tags, "
    "status, created_at, updated_at, decided_at, decision_id, created_by, updated_by, field_versions) SELECT $1, $4, "
    "$5, $6, $7, $2, $2, $2, $3, $8, $8, $9::jsonb FROM t WHERE NOT dead ON CONFLICT (id) DO NOTHING)",
    10, "model", "key", "model")


async def model_created(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    versions = _json.encode(dict.fromkeys(MODEL_FIELDS, _version(env))).decode()
    after = {"name": d.name, "description": d.description, "assigned_tags": list(d.assigned_tags), "status": d.status}
    await _run(conn, MODEL_CREATED, (d.model_id, env.occurred_at, env.id, d.name, d.description,
                                     list(d.assigned_tags), d.status, d.actor.name, versions, str(d.model_id)),
               env, None, after, "model")


def _field_set(field: str, param: str, cast: str = "") -> str:
    return (f"{field} = CASE WHEN {param}{cast} IS NOT NULL AND coalesce(field_versions->>'{field}', '') < $9 "
            f"THEN {param}{cast} ELSE {field} END")


MODEL_UPDATE = (
    "UPDATE models SET "
    + ", ".join((_field_set("name", "$4", "::text"), _field_set("description", "$5", "::text"),
                 _field_set("assigned_tags", "$6", "::text[]"), _field_set("status", "$7", "::text")))
    + ", field_versions = field_versions || coalesce((SELECT jsonb_object_agg(k, $9::text) FROM unnest($10::text[]) k "
    "  WHERE coalesce(field_versions->>k, '') < $9), '{}'::jsonb), "
    f"updated_at = CASE WHEN {_newer('decided_at', 'decision_id')} THEN $2 ELSE updated_at END, "
    f"updated_by = CASE WHEN {_newer('decided_at', 'decision_id')} THEN $8::text ELSE updated_by END, "
    f"decision_id = CASE WHEN {_newer('decided_at', 'decision_id')} THEN $3 ELSE decision_id END, "
    f"decided_at = CASE WHEN {_newer('decided_at', 'decision_id')} THEN $2 ELSE decided_at END "
    "WHERE id = $1"
)
# A deleted model's update is only logged; one for a model not stored yet waits for it.
MODEL_UPDATED = _statement(
    f"{_DEAD}, e AS (SELECT $11::text AS key FROM t "
    "  WHERE dead OR EXISTS (SELECT 1 FROM models WHERE id = $1::bigint)), "
    f"u AS ({MODEL_UPDATE} AND NOT (SELECT dead FROM t))",
    11, "model", "key", "model")


async def model_updated(conn: asyncpg.Connection, env: Env) -> None:
    """Newer wins per field: a late update of ``status`` still applies after a newer one of ``name``."""
    d = env.data
    changes = {k: getattr(d, k) for k in MODEL_FIELDS if getattr(d, k) is not None}
    await _run(conn, MODEL_UPDATED, (d.model_id, env.occurred_at, env.id, d.name, d.description,
                                     None if d.assigned_tags is None else list(d.assigned_tags), d.status,
                                     d.actor.name, _version(env), list(changes), str(d.model_id)),
               env, d.before, changes, "model")


async def model_deleted(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await conn.execute(
        "INSERT INTO model_tombstones (model_id, deleted_at, decision_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (model_id) DO NOTHING",
        d.model_id, env.occurred_at, env.id,
    )
    await conn.execute("UPDATE reddit_users SET model_id = NULL WHERE model_id = $1", d.model_id)
    await conn.execute("DELETE FROM models WHERE id = $1", d.model_id)
    await _log(conn, env, "model", str(d.model_id), "model", {"name": d.name}, None)


APPLY: dict[str, Apply] = {
    "model.created": model_created,
    "model.updated": model_updated,
    "model.deleted": model_deleted,
}
ONE_STATEMENT = frozenset({"model.created", "model.updated"})
