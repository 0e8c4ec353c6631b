"""PostgreSQL's checkpoint settings for a bulk load, applied for the load and put back after.

With the stock ``max_wal_size`` (1 GB) and ``checkpoint_timeout`` (5 min), a 10x seed (>= 25 GB
of WAL) checkpoints every few hundred MB, and every page touched after a checkpoint is logged
whole (a full-page image) the first time it changes again: on ``reddit_posts``' eight indexes that
is most of the WAL. A database that takes a bulk load is configured for it (README, "Operating
PostgreSQL"): the settings below are what b9's embedded PostgreSQL runs with, applied here with
``ALTER SYSTEM`` + reload (no restart) when the role is a superuser, and the previous values
written back afterwards. The values in force are recorded with the load's figures either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import asyncpg

log = logging.getLogger("bench.pg_tuning")
BULK_LOAD = {"max_wal_size": "16GB", "checkpoint_timeout": "30min", "wal_compression": "lz4"}


async def current(conn: asyncpg.Connection) -> dict[str, str]:
    """The values in force of the settings ``BULK_LOAD`` names, as ``SHOW`` prints them."""
    return {k: await conn.fetchval(f"SHOW {k}") for k in BULK_LOAD}


@asynccontextmanager
async def bulk_load(admin_url: str) -> AsyncIterator[dict[str, str]]:
    """Yields the settings in force during the load (``BULK_LOAD`` when they could be applied)."""
    conn = await asyncpg.connect(admin_url)
    undo: dict[str, str | None] = {}  # None: RESET (the value came from postgresql.conf or the default)
    try:
        if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            for r in await conn.fetch("SELECT name, setting, unit, sourcefile FROM pg_settings WHERE name = ANY($1)",
                                      list(BULK_LOAD)):
                auto = (r["sourcefile"] or "").endswith("postgresql.auto.conf")
                undo[r["name"]] = r["setting"] + (r["unit"] or "") if auto else None
            await _apply(conn, BULK_LOAD)
        else:
            log.warning("not a superuser: the load runs with the server's checkpoint settings")
        yield await current(conn)
    finally:
        if undo:
            await _apply(conn, undo)
        await conn.close()


async def _apply(conn: asyncpg.Connection, values: Mapping[str, str | None]) -> None:
    for k, v in values.items():
        try:
            await conn.execute(f"ALTER SYSTEM RESET {k}" if v is None else f"ALTER SYSTEM SET {k} = '{v}'")
        except asyncpg.PostgresError as exc:  # e.g. wal_compression=lz4 on a build without lz4
            log.warning("could not set %s = %s: %s", k, v, exc)
    await conn.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.5)  # a backend reads the reloaded file between statements, once signalled
