"""Alerts fixtures: a stack of the test's own (namespace, database), or one per module for tests
that only add rules and look at their own (creating and dropping a database costs seconds)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alenv import Stack, stack


@pytest.fixture
async def st(nats_url: str, namespace: str, database_url: str) -> AsyncIterator[Stack]:
    async with stack(nats_url, namespace, database_url) as s:
        yield s


@pytest.fixture(scope="module")
async def mst(nats_url: str, pg_admin_url: str, template_db: str) -> AsyncIterator[Stack]:
    name = f"b9a_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        base, _, query = pg_admin_url.partition("?")
        url = f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
        async with stack(nats_url, f"m{uuid.uuid4().hex[:10]}", url) as s:
            yield s
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
