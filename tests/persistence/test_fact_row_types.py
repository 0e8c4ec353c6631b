"""The row types of the hot writers (migration 0099): one array of records per batch.

Their fields must be the writers' columns with the writers' SQL types, in order; a subreddit
batch lands whole (every column group and its snapshot); a value past its column's range is
refused as a data error (the handler then writes the group one by one and sends only that fact
to DLQ)."""

from __future__ import annotations

import asyncpg
import msgspec
import pfactories as f
import pytest
from b9_common.service import Runtime
from b9_persistence.writers_reddit import SNAP_COLS, SNAP_TYPES, SUB_STAGED, SUB_TYPES, write_subreddits
from b9_persistence.writers_users import USER_COLS, USER_TYPES, write_users

ROW_TYPES = {
    "fetched_subreddit": (SUB_STAGED, SUB_TYPES),
    "fetched_subreddit_snapshot": (SNAP_COLS, SNAP_TYPES),
    "fetched_reddit_user": (USER_COLS, USER_TYPES),
}
FIELDS_SQL = """SELECT a.attname, format_type(a.atttypid, a.atttypmod)
                FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
                WHERE t.typname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"""
# format_type's spelling of the writers' type names
SPELLED = {"timestamptz": "timestamp with time zone"}


@pytest.mark.parametrize("row_type", sorted(ROW_TYPES))
async def test_row_type_fields_are_the_writer_columns(pool: asyncpg.Pool, row_type: str) -> None:
    cols, types = ROW_TYPES[row_type]
    fields = [tuple(r) for r in await pool.fetch(FIELDS_SQL, row_type)]
    assert fields == [(c, SPELLED.get(types[c], types[c])) for c in cols]


async def test_a_subreddit_batch_lands_with_its_groups_and_snapshots(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    full = p.envelope(f.subreddit("RowTyped", 5000), occurred_at=f.at(1))
    later = p.envelope(msgspec.structs.replace(f.subreddit("RowTyped", 7000), requirements=None),
                       occurred_at=f.at(2))
    other = p.envelope(f.subreddit("Other_Sub", 10), occurred_at=f.at(1))
    async with pool.acquire() as conn, conn.transaction():
        assert await write_subreddits(conn, [full, later, other]) == 2 + 3
    row = await pool.fetchrow("SELECT subscribers, min_post_karma, rules, fact_id, requirements_fact_id, "
                              "content_fact_id FROM subreddits WHERE name = 'RowTyped'")
    assert row["subscribers"] == 7000 and row["fact_id"] == later.id == row["content_fact_id"]
    assert row["requirements_fact_id"] == full.id and row["min_post_karma"] == full.data.requirements.min_post_karma
    assert msgspec.json.decode(row["rules"]) == msgspec.to_builtins(full.data.rules)
    snaps = await pool.fetch("SELECT subreddit, subscribers FROM subreddit_snapshots ORDER BY subreddit, fact_at")
    assert [tuple(r) for r in snaps] == [("Other_Sub", 10), ("RowTyped", 5000), ("RowTyped", 7000)]


async def test_a_value_past_its_column_is_a_data_error(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    cases = [
        (write_subreddits, p.envelope(f.subreddit("TooMany", 2**40))),
        (write_users, p.envelope(msgspec.structs.replace(f.user("huge"), link_karma=2**40))),
    ]
    for writer, env in cases:
        async with pool.acquire() as conn:
            with pytest.raises(asyncpg.DataError):
                async with conn.transaction():
                    await writer(conn, [env])
    assert await pool.fetchval("SELECT count(*) FROM subreddits") == 0
    assert await pool.fetchval("SELECT count(*) FROM reddit_users") == 0
