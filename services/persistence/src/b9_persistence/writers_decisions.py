"""People's decisions (stream DECISIONS) -> people-owned columns, ``models`` and ``decision_log``.

Rules, the same as for facts:
- idempotent: ``decision_log`` is keyed by the event id, and every column write is guarded by
  newer-wins on ``(occurred_at, id)`` of the decision that wrote it (``*_decided_at`` /
  ``*_decision_id``), so a redelivery or an older decision arriving late changes nothing;
- facts never write these columns (the fact writers keep them);
- a decision about an entity the read model does not hold yet (a rebuild reads the streams side by
  side, so a review can arrive before its subreddit's first fact) is not lost: the writer answers
  ``Pending`` and the handler naks it with a delay until the fact is there.

One round trip per decision: every writer of ``ONE_STATEMENT`` is a single SQL statement whose
CTEs look the entity up (``e``, one row with its key, none when it is not stored yet), write the
people-owned columns guarded by that row and log the decision, so it is atomic on its own (no
transaction, no savepoint) and answers the key, or nothing for ``Pending``. The others (a model's
deletion, alert rules) run several statements in a transaction the handler opens.

Decisions are applied one by one in stream order (they are few: people make them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg
import msgspec
from b9_common.events import Envelope

Env: TypeAlias = Envelope[Any]
_json = msgspec.json.Encoder()
_LOG_COLUMNS = ("id, type, entity_type, entity_id, field, before, after, actor_id, actor_name, actor_role, "
                "channel, batch, decided_at")


class Pending(Exception):
    """The decision's entity is not in the read model yet: apply it later."""


def _newer(at_col: str, id_col: str, at: str = "$2", id_: str = "$3") -> str:
    """No decision wrote the column yet (rows from before decisions were events too), or it is older."""
    return f"({id_col} IS NULL OR ({at_col}, {id_col}) < ({at}, {id_}))"


def _log_args(env: Env, before: Any, after: Any) -> tuple[Any, ...]:
    a = env.data.actor
    return (env.type, _json.encode(before).decode(), _json.encode(after).decode(), a.id, a.name, a.role,
            a.channel, env.data.batch)


async def _log(conn: asyncpg.Connection, env: Env, entity_type: str, entity_id: str, field: str,
               before: Any, after: Any) -> None:
    """Log a decision on its own (writers of several statements, in the handler's transaction)."""
    await conn.execute(
        f"INSERT INTO decision_log ({_LOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, "
        "$10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
        env.id, env.type, entity_type, entity_id, field, *_log_args(env, before, after)[1:], env.occurred_at,
    )


def _statement(ctes: str, n: int, entity_type: str, entity_id: str, field: str) -> str:
    """``WITH ctes`` (``e`` holds the entity's ``key``, or no row) + the log insert, answering the key.

    ``$2`` / ``$3`` are the decision's time and id; the log's own arguments follow the ``n``
    of the writer (``_log_args``). Every CTE runs to completion on the same snapshot."""
    p = [f"${n + i}" for i in range(1, 9)]
    return (
        f"WITH {ctes}, logged AS (INSERT INTO decision_log ({_LOG_COLUMNS}) "
        f"SELECT $3::text, {p[0]}::text, '{entity_type}', {entity_id}, '{field}', {p[1]}::jsonb, {p[2]}::jsonb, "
        f"{p[3]}::text, {p[4]}::text, {p[5]}::text, {p[6]}::text, {p[7]}::text, $2::timestamptz FROM e "
        "ON CONFLICT (id) DO NOTHING) SELECT key FROM e"
    )


async def _run(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], env: Env, before: Any, after: Any,
               what: str) -> str:
    found = await conn.fetchval(sql, *args, *_log_args(env, before, after))
    if found is None:
        raise Pending(f"{what} {args[0]!r} is not in the read model yet")
    return str(found)


# -- subreddits ---------------------------------------------------------------------------------
_SUBREDDIT = "e AS (SELECT name AS key FROM subreddits WHERE lower(name) = lower($1::text) LIMIT 1)"

# Clearing a review hands the row back to the scraper's suggestion (as a later fact would).
SUBREDDIT_REVIEWED = _statement(
    f"{_SUBREDDIT}, u AS (UPDATE subreddits SET "
    "review = CASE WHEN $4::text IS NULL THEN suggested_review ELSE $4 END, "
    "review_source = CASE WHEN $4::text IS NOT NULL THEN 'manual' "
    "  WHEN suggested_review IS NOT NULL THEN 'suggested' END, "
    "reviewed_at = $2, reviewed_by = $5, review_decided_at = $2, review_decision_id = $3 "
    f"WHERE name = (SELECT key FROM e) AND {_newer('review_decided_at', 'review_decision_id')})",
    5, "subreddit", "lower(key)", "review")


async def subreddit_reviewed(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, SUBREDDIT_REVIEWED, (d.name, env.occurred_at, env.id, d.review, d.actor.name),
               env, d.before, d.review, "subreddit")


SUBREDDIT_TAGGED = _statement(
    f"{_SUBREDDIT}, u AS (UPDATE subreddits SET tags = $4::text[], primary_category = $5, tags_source = 'manual', "
    "tags_confidence = NULL, tags_updated_at = $2, tags_updated_by = $6, taxonomy_version = $7, "
    "tags_model = 'manual', tags_fact_id = $3, tags_decision_id = $3 "
    "WHERE name = (SELECT key FROM e) AND (tags_source IS DISTINCT FROM 'manual' OR tags_decision_id IS NULL "
    "OR (tags_updated_at, tags_decision_id) < ($2, $3)))",
    7, "subreddit", "lower(key)", "tags")


async def subreddit_tagged(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, SUBREDDIT_TAGGED, (d.name, env.occurred_at, env.id, list(d.tags), d.primary_category,
                                        d.actor.name, d.taxonomy_version), env, d.before, list(d.tags), "subreddit")


# -- reddit users ---------------------------------------------------------------------------------
def _user_statement(column: str, stamp: str, gate: str, n: int, field: str) -> str:
    """Set a user's people-owned ``column`` (newer wins on ``<stamp>_decided_at`` / ``_decision_id``),
    the user found in any case or, when the account is not known yet (as 'Add our creator'), a row
    created for it; ``gate`` (a CTE ``ok``) holds the value, or no row when the decision must wait."""
    at, id_ = f"{stamp}_decided_at", f"{stamp}_decision_id"
    return _statement(
        f"{gate}, f AS (SELECT username FROM reddit_users WHERE lower(username) = lower($1::text) LIMIT 1), "
        "e AS (SELECT coalesce((SELECT username FROM f), $1::text) AS key, v FROM ok), "
        f"u AS (INSERT INTO reddit_users (username, {column}, {at}, {id_}) "
        "SELECT key, v, $2::timestamptz, $3::text FROM e ON CONFLICT (username) DO UPDATE SET "
        f"{column} = excluded.{column}, {at} = excluded.{at}, {id_} = excluded.{id_} "
        f"WHERE {_newer(f'reddit_users.{at}', f'reddit_users.{id_}')})",
        n, "user", "lower(key)", field)


USER_MARKED_OURS = _user_statement("our_creator", "our_creator", "ok AS (SELECT $4::boolean AS v)", 4,
                                   "our_creator")
# A link to a deleted model means no model; one to a model not stored yet waits for it.
ACCOUNT_LINKED = _user_statement(
    "model_id", "model", "t AS (SELECT EXISTS (SELECT 1 FROM model_tombstones WHERE model_id = $4::bigint) AS dead), "
    "ok AS (SELECT CASE WHEN dead THEN NULL ELSE $4::bigint END AS v FROM t "
    "  WHERE dead OR EXISTS (SELECT 1 FROM models WHERE id = $4::bigint))", 4, "model")
ACCOUNT_UNLINKED = _user_statement("model_id", "model", "ok AS (SELECT NULL::bigint AS v)", 3, "model")


async def user_marked_ours(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, USER_MARKED_OURS, (d.username, env.occurred_at, env.id, d.our_creator),
               env, d.before, d.our_creator, "user")


async def account_linked(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    if await conn.fetchval(ACCOUNT_LINKED, d.username, env.occurred_at, env.id, d.model_id,
                           *_log_args(env, d.before, d.model_id)) is None:
        raise Pending(f"model {d.model_id!r} is not in the read model yet")


async def account_unlinked(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, ACCOUNT_UNLINKED, (d.username, env.occurred_at, env.id), env, d.before, None, "user")


# -- instagram creators ---------------------------------------------------------------------------
def _creator_statement(sets: str, at: str, id_: str, n: int, field: str) -> str:
    return _statement(
        "e AS (SELECT ig_user_id AS key FROM instagram_creators WHERE ig_user_id = $1::text), "
        f"u AS (UPDATE instagram_creators SET {sets} WHERE ig_user_id = (SELECT key FROM e) AND {_newer(at, id_)})",
        n, "creator", "key", field)


CREATOR_REVIEWED = _creator_statement(
    "review_status = $4, reviewed_at = $2, reviewed_by = $5, review_decision_id = $3",
    "reviewed_at", "review_decision_id", 5, "review")
CREATOR_NICHED = _creator_statement(
    "niche = $4, niche_decided_at = $2, niche_decision_id = $3", "niche_decided_at", "niche_decision_id", 4, "niche")


async def creator_reviewed(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, CREATOR_REVIEWED, (d.ig_user_id, env.occurred_at, env.id, d.review_status, d.actor.name),
               env, d.before, d.review_status, "creator")


async def creator_niched(conn: asyncpg.Connection, env: Env) -> None:
    d = env.data
    await _run(conn, CREATOR_NICHED, (d.ig_user_id, env.occurred_at, env.id, d.niche), env, d.before, d.niche,
               "creator")


Apply = Callable[[asyncpg.Connection, Env], Awaitable[None]]
APPLY: dict[str, Apply] = {
    "subreddit.reviewed": subreddit_reviewed,
    "subreddit.tagged": subreddit_tagged,
    "user.marked_ours": user_marked_ours,
    "model.account_linked": account_linked,
    "model.account_unlinked": account_unlinked,
    "creator.reviewed": creator_reviewed,
    "creator.niched": creator_niched,
}
ONE_STATEMENT = frozenset(APPLY)  # every writer above: atomic on its own, no transaction needed
