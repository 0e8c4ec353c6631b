"""The replay log's table ``replays`` (migration 0002): one row per replay that ran, written when
it starts and when it ends by the process running it (``b9_common.replay.log``, which also keeps
every record in KV)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from b9_readmodel.sql import Db

SAVE_SQL = """INSERT INTO replays (id, consumer, slice, started_by, started_at, finished_at, outcome)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::jsonb)
               ON CONFLICT (id) DO UPDATE SET consumer = EXCLUDED.consumer, slice = EXCLUDED.slice,
                   finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome"""
_SELECT = ("SELECT id, consumer, slice::text AS slice, started_by, started_at, finished_at, "
           "outcome::text AS outcome FROM replays ")


class ReplayRow(msgspec.Struct, frozen=True):
    id: str
    consumer: str
    slice: dict[str, Any]
    started_by: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: dict[str, Any] | None  # None until the first outcome is written


async def save_replay(
    db: Db, id_: str, consumer: str, slice_: dict[str, Any], started_by: str, started_at: datetime,
    finished_at: datetime | None, outcome: dict[str, Any],
) -> None:
    """Insert the replay's row or update its consumer, slice, end and outcome."""
    await db.execute(
        SAVE_SQL, id_, consumer, msgspec.json.encode(slice_).decode(), started_by, started_at, finished_at,
        msgspec.json.encode(outcome).decode(),
    )


def _row(r: asyncpg.Record) -> ReplayRow:
    return ReplayRow(r["id"], r["consumer"], msgspec.json.decode(r["slice"]), r["started_by"], r["started_at"],
                     r["finished_at"], msgspec.json.decode(r["outcome"]) if r["outcome"] else None)


async def newest_replays(db: Db, limit: int) -> list[ReplayRow]:
    """The ``limit`` replays started last, newest first."""
    return [_row(r) for r in await db.fetch(_SELECT + "ORDER BY started_at DESC LIMIT $1", limit)]


async def replay(db: Db, id_: str) -> ReplayRow | None:
    rows = await db.fetch(_SELECT + "WHERE id = $1", id_)
    return _row(rows[0]) if rows else None
