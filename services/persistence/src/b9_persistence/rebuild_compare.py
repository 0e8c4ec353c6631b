"""Comparing a rebuilt read model with the live one, table by table, inside PostgreSQL.

What is compared is every base table of the live database's ``public`` schema except the ones
that are not made from the streams (``NOT_FROM_STREAMS``), and every column except the ones
that are local by nature (``LOCAL_COLUMNS``). These two lists are the only place that says so
(persistence's README names them).

How (per table, the two databases queried at the same time): each row is hashed in SQL
(``md5`` of the row's text without the local columns) and the hashes are summed per bucket of
the primary key's hash (1,024 buckets): one pass over the table, no sort, about 1,000 small
rows back. Equal buckets (same count, same 128-bit sum) are taken as equal. Only the keys of
the buckets that differ are fetched (key + row hash) to list the differing keys, and for a few
examples the differing columns themselves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg

# Tables of the live database that the streams do not make: a rebuild cannot (and need not)
# reproduce them. Table -> why.
NOT_FROM_STREAMS: dict[str, str] = {
    "schema_migrations": "migration bookkeeping (each database applies its own)",
    "b9_meta": "local key/value bookkeeping",
    "replays": "replay records (kept in the KV bucket `replays` and copied here; not events)",
    "viral_snapshot": "the viral posts as of a time, made from the read model by persistence's refresher",
    "viral_top": "the viral posts as of a time, made from the read model by persistence's refresher",
    "viral_sub": "the viral posts' sums per subreddit, made with viral_top",
    "viral_hour": "the viral posts' sums per posting hour, made with viral_top",
}

# Columns that are local by nature: the same events give different values in two databases
# (serial ids, wall-clock "inserted at" times). (table, column) -> why; "*" = every table.
# None today: every key is natural or chosen by the publisher (models' ids, decision_log's
# event ids), every time is an event's occurred_at (models' created_at / updated_at included),
# and no writer reads the clock. A column added with DEFAULT now() or a serial goes here.
LOCAL_COLUMNS: dict[tuple[str, str], str] = {}

BUCKETS = 1024
# Rows are compared as text: both sessions render times and floats the same way.
SESSION = {"TimeZone": "UTC", "extra_float_digits": "3", "DateStyle": "ISO, MDY"}
EXAMPLES = 3


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_local(table: str, column: str) -> bool:
    return (table, column) in LOCAL_COLUMNS or ("*", column) in LOCAL_COLUMNS


@dataclass
class TableShape:
    name: str
    columns: list[str]  # compared columns, in attnum order
    key: list[str]  # primary key columns (all compared columns when there is none)


@dataclass
class TableDiff:
    table: str
    live_rows: int = 0
    rebuilt_rows: int = 0
    differing: int = 0  # keys whose row differs or exists on one side only
    examples: list[str] = field(default_factory=list)
    problem: str = ""  # missing table, different columns

    @property
    def identical(self) -> bool:
        return not self.differing and not self.problem and self.live_rows == self.rebuilt_rows


async def tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname")
    return [r["relname"] for r in rows if r["relname"] not in NOT_FROM_STREAMS]


async def shape(conn: asyncpg.Connection, table: str) -> TableShape | None:
    cols = await conn.fetch(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", table)
    if not cols:
        return None
    key = await conn.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
        "WHERE n.nspname = 'public' AND c.relname = $1 AND i.indisprimary ORDER BY k.ord", table)
    columns = [r["attname"] for r in cols if not is_local(table, r["attname"])]
    keys = [r["attname"] for r in key] or columns
    return TableShape(table, columns, keys)


def _row(cols: list[str]) -> str:
    return f"ROW({', '.join(_q(c) for c in cols)})::text"


def bucket_sql(s: TableShape) -> str:
    h = f"md5({_row(s.columns)})"
    return (f"SELECT b, count(*) AS n, sum(('x' || substr(h, 1, 16))::bit(64)::bigint) AS s1, "
            f"sum(('x' || substr(h, 17, 16))::bit(64)::bigint) AS s2 "
            f"FROM (SELECT hashtext({_row(s.key)}) & {BUCKETS - 1} AS b, {h} AS h "
            f"FROM {_q(s.name)}) x GROUP BY b")


def keys_sql(s: TableShape) -> str:
    return (f"SELECT {_row(s.key)} AS k, md5({_row(s.columns)}) AS h FROM {_q(s.name)} "
            f"WHERE hashtext({_row(s.key)}) & {BUCKETS - 1} = ANY($1::int[])")


def row_sql(s: TableShape) -> str:
    cols = ", ".join(_q(c) for c in s.columns)
    return f"SELECT {cols} FROM {_q(s.name)} WHERE {_row(s.key)} = $1"


Buckets = dict[int, tuple[int, int, int]]


async def _buckets(conn: asyncpg.Connection, s: TableShape) -> Buckets:
    return {r["b"]: (r["n"], int(r["s1"]), int(r["s2"])) for r in await conn.fetch(bucket_sql(s))}


async def compare_table(live: asyncpg.Connection, rebuilt: asyncpg.Connection, table: str) -> TableDiff:
    diff = TableDiff(table)
    a, b = await asyncio.gather(shape(live, table), shape(rebuilt, table))
    if a is None or b is None:
        diff.problem = "missing in the rebuilt database" if b is None else "missing in the live database"
        return diff
    if a.columns != b.columns or a.key != b.key:
        diff.problem = f"different columns: live {a.columns} / rebuilt {b.columns}"
        return diff
    la, lb = await asyncio.gather(_buckets(live, a), _buckets(rebuilt, a))
    diff.live_rows = sum(v[0] for v in la.values())
    diff.rebuilt_rows = sum(v[0] for v in lb.values())
    bad = sorted(k for k in set(la) | set(lb) if la.get(k) != lb.get(k))
    if not bad:
        return diff
    ka, kb = await asyncio.gather(live.fetch(keys_sql(a), bad), rebuilt.fetch(keys_sql(a), bad))
    ha = {r["k"]: r["h"] for r in ka}
    hb = {r["k"]: r["h"] for r in kb}
    differing = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k))
    diff.differing = len(differing)
    for k in differing[:EXAMPLES]:
        diff.examples.append(await _example(live, rebuilt, a, k, k in ha, k in hb))
    return diff


async def _example(live: asyncpg.Connection, rebuilt: asyncpg.Connection, s: TableShape, key: str,
                   in_live: bool, in_rebuilt: bool) -> str:
    if not in_rebuilt:
        return f"{key}: only in the live table"
    if not in_live:
        return f"{key}: only in the rebuilt table"
    ra, rb = await asyncio.gather(live.fetchrow(row_sql(s), key), rebuilt.fetchrow(row_sql(s), key))
    cols = [c for c in s.columns if ra is not None and rb is not None and ra[c] != rb[c]]
    shown = ", ".join(f"{c}: {_short(ra[c] if ra else None)} (live) vs {_short(rb[c] if rb else None)} (rebuilt)"
                      for c in cols[:4])
    return f"{key}: {shown or 'same values, different text'}"


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


async def compare(live_url: str, rebuilt_url: str, *, on_table: Any = None) -> list[TableDiff]:
    """Every table of the live database (but ``NOT_FROM_STREAMS``) against the rebuilt one.

    ``on_table(diff)`` is called as each table is done (the CLI prints a line)."""
    live = await asyncpg.connect(live_url, server_settings=SESSION)
    try:
        rebuilt = await asyncpg.connect(rebuilt_url, server_settings=SESSION)
        try:
            names = sorted(set(await tables(live)) | set(await tables(rebuilt)))
            out = []
            for name in names:
                d = await compare_table(live, rebuilt, name)
                out.append(d)
                if on_table is not None:
                    on_table(d)
            return out
        finally:
            await rebuilt.close()
    finally:
        await live.close()
