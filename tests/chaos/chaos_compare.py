"""Row-by-row comparison of two read models: lost, extra (duplicated) and differing rows.

Every fact table is read as (primary key, md5 of the row's columns). Left out are only the
columns stamped with the wall clock of a *derived* event (the categorizer's and media's
``occurred_at``, which differ between any two runs): they are listed in ``WALL_CLOCK``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

TABLES = ("subreddits", "subreddit_snapshots", "reddit_users", "reddit_posts", "instagram_creators",
          "instagram_discoveries", "creator_follower_history", "instagram_media", "media_assets", "categorizations",
          "scrape_attempts", "scraper_daily",
          # people's decisions (their columns in the tables above are compared with the rows)
          "decision_log", "models", "model_tombstones")
WALL_CLOCK = {
    "subreddits": {"tags_updated_at"},
    "instagram_creators": {"tags_updated_at"},
    "media_assets": {"fact_at"},
    "categorizations": {"fact_at"},
}
@dataclass
class TableDiff:
    table: str
    rows_ref: int
    rows_run: int
    lost: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.lost or self.extra or self.differ)

    def line(self) -> str:
        return (f"{self.table}: {self.rows_ref} vs {self.rows_run} rows, lost {len(self.lost)} "
                f"{self.lost[:3]}, extra {len(self.extra)} {self.extra[:3]}, "
                f"differ {len(self.differ)} {self.differ[:3]}")


async def _columns(conn: asyncpg.Connection, table: str) -> tuple[list[str], list[str]]:
    cols = [r["attname"] for r in await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", table)]
    pk = [r["attname"] for r in await conn.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)", table)]
    skip = WALL_CLOCK.get(table, set())
    keep = [c for c in cols if c not in skip]
    return pk, keep


def _key_sql(pk: list[str]) -> str:
    return " || '|' || ".join(f'coalesce("{c}"::text, \'-\')' for c in pk)


async def row_hashes(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    pk, keep = await _columns(conn, table)
    row = ", ".join(f'"{c}"' for c in keep)
    rows = await conn.fetch(f'SELECT {_key_sql(pk)} AS k, md5(ROW({row})::text) AS h FROM "{table}"')
    return {r["k"]: r["h"] for r in rows}


async def table_digest(conn: asyncpg.Connection, table: str) -> str:
    """One md5 over the ordered rows (what the test prints as the table's fingerprint)."""
    pk, keep = await _columns(conn, table)
    order = ", ".join(f'"{c}"' for c in pk)
    row = ", ".join(f'"{c}"' for c in keep)
    digest: str = await conn.fetchval(
        f'SELECT md5(coalesce(string_agg(md5(ROW({row})::text), \'\' ORDER BY {order}), \'\')) FROM "{table}"')
    return digest


async def compare(ref_url: str, run_url: str) -> list[TableDiff]:
    ref = await asyncpg.connect(ref_url)
    run = await asyncpg.connect(run_url)
    try:
        out = []
        for table in TABLES:
            a, b = await row_hashes(ref, table), await row_hashes(run, table)
            diff = TableDiff(table, len(a), len(b))
            diff.lost = sorted(k for k in a if k not in b)
            diff.extra = sorted(k for k in b if k not in a)
            diff.differ = sorted(k for k in a if k in b and a[k] != b[k])
            out.append(diff)
        return out
    finally:
        await ref.close()
        await run.close()


async def show_row(url: str, table: str, key: str) -> dict[str, object] | None:
    """One row as a dict, by the key ``row_hashes`` printed (for failure messages)."""
    conn = await asyncpg.connect(url)
    try:
        pk, _ = await _columns(conn, table)
        rec = await conn.fetchrow(f'SELECT * FROM "{table}" WHERE {_key_sql(pk)} = $1', key)
        return dict(rec) if rec else None
    finally:
        await conn.close()
