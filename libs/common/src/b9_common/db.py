"""PostgreSQL helpers: pools from DATABASE_URL and the SQL migration runner."""

from __future__ import annotations

import hashlib
import logging
from importlib.metadata import entry_points
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_129_001  # advisory lock id: one migrator at a time


def migration_dirs() -> list[Path]:
    """SQL directories that packages register under the ``b9.migrations`` entry point group."""
    dirs = []
    for ep in sorted(entry_points(group="b9.migrations"), key=lambda e: e.name):
        module = ep.load()
        dirs.append(Path(next(iter(module.__path__))))
    return dirs


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=60)
    assert pool is not None
    return pool


async def migrate(conn: asyncpg.Connection, dirs: list[Path] | None = None) -> list[str]:
    """Apply every ``NNNN_name.sql`` not yet in ``schema_migrations``, in order. Returns applied names."""
    dirs = migration_dirs() if dirs is None else dirs
    files = sorted((p for d in dirs for p in d.glob("*.sql")), key=lambda p: p.name)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        applied = []
        for path in files:
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != checksum:
                    log.warning("migration %s changed after it was applied", path.name)
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", path.name, checksum
                )
            applied.append(path.name)
            log.info("migration applied", extra={"migration": path.name})
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
