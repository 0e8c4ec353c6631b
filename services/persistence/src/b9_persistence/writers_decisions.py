"""People's decisions (stream DECISIONS) -> people-owned columns, ``models`` and ``decision_log``.

Rules, the same as for facts:
- idempotent: ``decision_log`` is keyed by the event id, and every column write is guarded by
  newer-wins on ``(occurred_at, id)`` of the decision that wrote it (``*_decided_at`` /
  ``*_decision_id``), so a redelivery or an older decision arriving late changes nothing;
- facts never write these columns (the fact writers keep them);
- a decision about an entity the read model does not hold yet (a rebuild reads the streams side by
  side, so a review can arrive before its subreddit's first fact) is not lost: the writer answers
  ``Pending`` and the handler naks it with a delay until the fact is there.

Decisions are applied one by one in stream order (they are few: people make them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any, TypeAlias

import asyncpg
import msgspec
from b9_common.events import Envelope

Env: TypeAlias = Envelope[Any]
_json = msgspec.json.Encoder()


class Pending(Exception):
    """The decision's entity is not in the read model yet: apply it later."""


def _newer(at_col: str, id_col: str, at: str = "$2", id_: str = "$3") -> str:
    """No decision wrote the column yet (rows from before decisions were events too), or it is older."""
    return f"({id_col} IS NULL OR ({at_col}, {id_col}) < ({at}, {id_}))"


async def _log(conn: asyncpg.Connection, env: Env, entity_type: str, entity_id: str, field: str,
               before: Any, after: Any) -> None:
    a = env.data.actor
    await conn.execute(
        "INSERT INTO decision_log (id, type, entity_type, entity_id, field, before, after, actor_id, "
        "actor_name, actor_role, channel, batch, decided_at) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
        env.id, env.type, entity_type, entity_id, field,
        _json.encode(before).decode(), _json.encode(after).decode(),
        a.id, a.name, a.role, a.channel, env.data.batch, env.occurred_at,
    )


async def _exists(conn: asyncpg.Connection, sql: str, key: str | int, what: str) -> str:
    found = await conn.fetchval(sql, key)
    if found is None:
        raise Pending(f"{what} {key!r} is not in the read model yet")
    return str(found)


# -- subreddits ---------------------------------------------------------------------------------
async def subreddit_reviewed(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    name = await _exists(conn, "SELECT name FROM subreddits WHERE lower(name) = lower($1)", d.name, "subreddit")
    # Clearing a review hands the row back to the scraper's suggestion (as a later fact would).
    await conn.execute(
        "UPDATE subreddits SET "
        "review = CASE WHEN $4::text IS NULL THEN suggested_review ELSE $4 END, "
        "review_source = CASE WHEN $4::text IS NOT NULL THEN 'manual' "
        "  WHEN suggested_review IS NOT NULL THEN 'suggested' END, "
        "reviewed_at = $2, reviewed_by = $5, review_decided_at = $2, review_decision_id = $3 "
        f"WHERE name = $1 AND {_newer('review_decided_at', 'review_decision_id')}",
        name, env.occurred_at, env.id, d.review, d.actor.name,
    )
    await _log(conn, env, "subreddit", name.lower(), "review", d.before, d.review)


async def subreddit_tagged(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    name = await _exists(conn, "SELECT name FROM subreddits WHERE lower(name) = lower($1)", d.name, "subreddit")
    await conn.execute(
        "UPDATE subreddits SET tags = $4::text[], primary_category = $5, tags_source = 'manual', "
        "tags_confidence = NULL, tags_updated_at = $2, tags_updated_by = $6, taxonomy_version = $7, "
        "tags_model = 'manual', tags_fact_id = $3, tags_decision_id = $3 "
        "WHERE name = $1 AND (tags_source IS DISTINCT FROM 'manual' OR tags_decision_id IS NULL "
        "OR (tags_updated_at, tags_decision_id) < ($2, $3))",
        name, env.occurred_at, env.id, list(d.tags), d.primary_category, d.actor.name, d.taxonomy_version,
    )
    await _log(conn, env, "subreddit", name.lower(), "tags", d.before, list(d.tags))


# -- reddit users ---------------------------------------------------------------------------------
async def _user(conn: asyncpg.Connection, username: str) -> str:
    """The stored spelling of a user; a stub row when the account is not known yet (as 'Add our creator')."""
    found = await conn.fetchval("SELECT username FROM reddit_users WHERE lower(username) = lower($1)", username)
    if found is not None:
        return str(found)
    await conn.execute("INSERT INTO reddit_users (username) VALUES ($1) ON CONFLICT (username) DO NOTHING", username)
    return username


async def user_marked_ours(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    name = await _user(conn, d.username)
    await conn.execute(
        "UPDATE reddit_users SET our_creator = $4, our_creator_decided_at = $2, our_creator_decision_id = $3 "
        f"WHERE username = $1 AND {_newer('our_creator_decided_at', 'our_creator_decision_id')}",
        name, env.occurred_at, env.id, d.our_creator,
    )
    await _log(conn, env, "user", name.lower(), "our_creator", d.before, d.our_creator)


async def _set_model(conn: asyncpg.Connection, env: Env, model_id: int | None) -> str:
    name = await _user(conn, env.data.username)
    await conn.execute(
        "UPDATE reddit_users SET model_id = $4, model_decided_at = $2, model_decision_id = $3 "
        f"WHERE username = $1 AND {_newer('model_decided_at', 'model_decision_id')}",
        name, env.occurred_at, env.id, model_id,
    )
    return name


async def account_linked(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    if await conn.fetchval("SELECT 1 FROM model_tombstones WHERE model_id = $1", d.model_id):
        linked = None  # the model was deleted: a link to it means no model
    else:
        await _exists(conn, "SELECT id FROM models WHERE id = $1", d.model_id, "model")
        linked = d.model_id
    name = await _set_model(conn, env, linked)
    await _log(conn, env, "user", name.lower(), "model", d.before, d.model_id)


async def account_unlinked(conn: asyncpg.Connection, env: Env) -> None:
    name = await _set_model(conn, env, None)
    await _log(conn, env, "user", name.lower(), "model", env.data.before, None)


# -- instagram creators ---------------------------------------------------------------------------
_CREATOR = "SELECT ig_user_id FROM instagram_creators WHERE ig_user_id = $1"


async def creator_reviewed(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    uid = await _exists(conn, _CREATOR, d.ig_user_id, "creator")
    await conn.execute(
        "UPDATE instagram_creators SET review_status = $4, reviewed_at = $2, reviewed_by = $5, "
        f"review_decision_id = $3 WHERE ig_user_id = $1 AND {_newer('reviewed_at', 'review_decision_id')}",
        uid, env.occurred_at, env.id, d.review_status, d.actor.name,
    )
    await _log(conn, env, "creator", uid, "review", d.before, d.review_status)


async def creator_niched(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    uid = await _exists(conn, _CREATOR, d.ig_user_id, "creator")
    await conn.execute(
        "UPDATE instagram_creators SET niche = $4, niche_decided_at = $2, niche_decision_id = $3 "
        f"WHERE ig_user_id = $1 AND {_newer('niche_decided_at', 'niche_decision_id')}",
        uid, env.occurred_at, env.id, d.niche,
    )
    await _log(conn, env, "creator", uid, "niche", d.before, d.niche)


# -- models ---------------------------------------------------------------------------------------
MODEL_FIELDS = ("name", "description", "assigned_tags", "status")


def _version(env: Env) -> str:
    """A decision's order as text that sorts like (occurred_at, id)."""
    return f"{env.occurred_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}|{env.id}"


async def model_created(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    if not await conn.fetchval("SELECT 1 FROM model_tombstones WHERE model_id = $1", d.model_id):
        versions = _json.encode(dict.fromkeys(MODEL_FIELDS, _version(env))).decode()
        await conn.execute(
            "INSERT INTO models (id, name, description, assigned_tags, status, created_at, updated_at, "
            "decided_at, decision_id, created_by, updated_by, field_versions) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6, $6, $7, $8, $8, $9::jsonb) ON CONFLICT (id) DO NOTHING",
            d.model_id, d.name, d.description, list(d.assigned_tags), d.status, env.occurred_at, env.id,
            d.actor.name, versions,
        )
    after = {"name": d.name, "description": d.description, "assigned_tags": list(d.assigned_tags), "status": d.status}
    await _log(conn, env, "model", str(d.model_id), "model", None, after)


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


async def model_updated(conn: asyncpg.Connection, env: Env) -> None:
    """Newer wins per field: a late update of ``status`` still applies after a newer one of ``name``."""
    d = env.data
    changes = {k: getattr(d, k) for k in MODEL_FIELDS if getattr(d, k) is not None}
    if await conn.fetchval("SELECT 1 FROM model_tombstones WHERE model_id = $1", d.model_id):
        await _log(conn, env, "model", str(d.model_id), "model", d.before, changes)
        return
    await _exists(conn, "SELECT id FROM models WHERE id = $1", d.model_id, "model")
    await conn.execute(
        MODEL_UPDATE, d.model_id, env.occurred_at, env.id, d.name, d.description,
        None if d.assigned_tags is None else list(d.assigned_tags), d.status, d.actor.name, _version(env),
        list(changes),
    )
    await _log(conn, env, "model", str(d.model_id), "model", d.before, changes)


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


Apply = Callable[[asyncpg.Connection, Env], Awaitable[None]]
APPLY: dict[str, Apply] = {
    "subreddit.reviewed": subreddit_reviewed,
    "subreddit.tagged": subreddit_tagged,
    "user.marked_ours": user_marked_ours,
    "model.account_linked": account_linked,
    "model.account_unlinked": account_unlinked,
    "creator.reviewed": creator_reviewed,
    "creator.niched": creator_niched,
    "model.created": model_created,
    "model.updated": model_updated,
    "model.deleted": model_deleted,
}
