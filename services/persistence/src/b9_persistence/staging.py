"""Batch upserts: COPY rows into a per-connection temp staging table, then one
``INSERT ... SELECT ... ORDER BY key ON CONFLICT DO UPDATE ... WHERE newer`` statement.

Staging tables are ``stg_<table>`` (``LIKE <table> INCLUDING DEFAULTS``, ``ON COMMIT
DELETE ROWS``), created once per pooled connection by :func:`init_connection`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

import asyncpg

# subreddits, their snapshots and users are written from arrays of row types (see rows_of), not staged.
STAGED_TABLES = (
    "subreddits",
    "reddit_posts",
    "instagram_creators",
    "instagram_discoveries",
    "creator_follower_history",
    "instagram_media",
    "media_assets",
    "categorizations",
    "scrape_attempts",
)

# The row was never scraped, or the incoming fact is newer (ties broken by event id).
NEWER = "(t.fact_at IS NULL OR (t.fact_at, t.fact_id) < (EXCLUDED.fact_at, EXCLUDED.fact_id))"


def group_newer(at: str, id_: str) -> str:
    """The incoming row carries the column group stamped ``at``/``id_`` and it is newer than the stored one's."""
    return (f"(EXCLUDED.{at} IS NOT NULL AND (t.{at} IS NULL"
            f" OR (t.{at}, t.{id_}) < (EXCLUDED.{at}, EXCLUDED.{id_})))")


def when(cond: str, cols: Sequence[str]) -> dict[str, str]:
    """``update_set`` specials: each of ``cols`` takes the incoming value only when ``cond`` holds."""
    return {c: f"CASE WHEN {cond} THEN EXCLUDED.{c} ELSE t.{c} END" for c in cols}


async def init_connection(conn: asyncpg.Connection) -> None:
    """Pool ``init`` hook: create the session's staging tables."""
    for table in STAGED_TABLES:
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS stg_{table} (LIKE {table} INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )


def clean(value: str) -> str:
    """PostgreSQL text cannot hold NUL: drop it (free text from upstream may contain one)."""
    return value.replace("\x00", "") if "\x00" in value else value


def clean_opt(value: str | None) -> str | None:
    return None if value is None else clean(value)


def clean_list(values: list[str]) -> list[str]:
    return [clean(v) for v in values]


T = TypeVar("T")


def newest(
    items: Iterable[T], key: Callable[[T], Hashable], order: Callable[[T], Any]
) -> list[T]:
    """Keep the newest item per key (by ``order`` = (occurred_at, event id)), sorted by key.

    One statement cannot update a row twice, and a fixed key order avoids deadlocks
    between concurrent batches.
    """
    best: dict[Any, T] = {}
    for item in items:
        k = key(item)
        cur = best.get(k)
        if cur is None or order(cur) < order(item):
            best[k] = item
    return [best[k] for k in sorted(best)]


def update_set(cols: Sequence[str], key: Sequence[str], special: dict[str, str] | None = None,
               skip: Sequence[str] = ()) -> str:
    """``c = EXCLUDED.c`` for every non-key column, with ``special`` expressions overriding."""
    special = special or {}
    parts = []
    for c in cols:
        if c in key or c in skip:
            continue
        parts.append(f"{c} = {special.get(c, f'EXCLUDED.{c}')}")
    for c, expr in special.items():
        if c not in cols:
            parts.append(f"{c} = {expr}")
    return ", ".join(parts)


def merge_sql(table: str, cols: Sequence[str], key: Sequence[str], *, update: str | None,
              where: str | None = None, select: Sequence[str] | None = None,
              returning: str | None = None, filter_: str | None = None,
              from_: str | None = None) -> str:
    """INSERT from ``stg_<table>`` (or ``from_``) into ``table`` ordered by key, merging on conflict."""
    target = ", ".join(cols)
    source = ", ".join(select or cols)
    keys = ", ".join(key)
    sql = f"INSERT INTO {table} AS t ({target}) SELECT {source} FROM {from_ or f'stg_{table}'}"
    if filter_:
        sql += f" WHERE {filter_}"
    sql += f" ORDER BY {keys} ON CONFLICT ({keys}) "
    if update is None:
        sql += "DO NOTHING"
    else:
        sql += f"DO UPDATE SET {update}"
        if where:
            sql += f" WHERE {where}"
    if returning:
        sql += f" RETURNING {returning}"
    return sql


def rows_of(row_type: str) -> str:
    """``unnest($1::<row_type>[]) AS s``: the batch's rows as one array parameter of a row type
    (migration 0099), whose fields are the statement's columns.

    For hot writers. No staging table: a transaction that touches no temporary table skips the
    truncation of every ``ON COMMIT DELETE ROWS`` staging table of the session at its commit (about
    3 ms of server CPU and often tens of ms of wall time per batch). Not one array per column:
    asyncpg checks each element of an array parameter against the collection ABCs before encoding
    it, so 47 arrays of 512 values cost ~24,000 checks; an array of records costs one per row and
    encodes each record's fields as a COPY row's.
    """
    return f"unnest($1::{row_type}[]) AS s"


def typed(cols: Sequence[str], groups: dict[str, tuple[str, ...]], default: str = "text") -> dict[str, str]:
    """The SQL type of each of ``cols`` (as in its row type): ``groups`` maps a type to its columns."""
    by_col = {c: t for t, cs in groups.items() for c in cs}
    return {c: by_col.get(c, default) for c in cols}


async def stage(conn: asyncpg.Connection, table: str, cols: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    try:
        await conn.copy_records_to_table(f"stg_{table}", records=rows, columns=list(cols))
    except (OverflowError, ValueError, TypeError) as exc:
        # A value asyncpg cannot encode (an integer past the column's range, ...): the fact's fault,
        # as when a statement's parameter is refused (asyncpg raises DataError there).
        raise asyncpg.DataError(f"invalid input for stg_{table}: {exc}") from exc


async def clear(conn: asyncpg.Connection, table: str) -> None:
    """Empty a staging table inside a transaction (when it is reused before commit)."""
    await conn.execute(f"DELETE FROM stg_{table}")
