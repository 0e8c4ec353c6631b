"""Replay-tool fixtures: extra fresh databases and the environment the CLI runner gets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest


def _with_db(url: str, db: str) -> str:
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{db}" + (f"?{query}" if query else "")


@pytest.fixture
async def make_db(pg_admin_url: str, template_db: str) -> AsyncIterator[Callable[[], object]]:
    """Factory of more fresh databases (all migrations applied), dropped after the test."""
    names: list[str] = []
    admin = await asyncpg.connect(pg_admin_url)

    async def make() -> str:
        name = f"b9r_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        names.append(name)
        return _with_db(pg_admin_url, name)

    try:
        yield make
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def cli_env(nats_url: str, namespace: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"NATS_URL": nats_url, "B9_NAMESPACE": namespace, "DATABASE_URL": database_url,
            "B9_DATA_DIR": str(tmp_path / "b9data"), "COLUMNS": "200", "METRICS_PORT": "-1",
            "OPENAI_API_KEY": "", "LOG_LEVEL": "WARNING"}
