"""Gateway fixtures: a module-wide dataset loaded through the pipeline (facts published to
JetStream, stored by the persistence service running in-process), and API clients."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from b9_common.service import connect, serve
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps, build_pool
from b9_gateway.settings import Settings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from gwdata import EXPECTED, THUMB_BYTES, THUMB_KEY, facts
from gwenv import API_KEY, AUTH, Env


def _with_db(url: str, db: str) -> str:
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{db}" + (f"?{query}" if query else "")



async def wait_rows(pool: asyncpg.Pool, expected: dict[str, int], within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        counts = {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in expected}
        if all(counts[t] >= n for t, n in expected.items()):
            return
        if loop.time() > deadline:
            raise AssertionError(f"pipeline did not load the dataset: {counts} (want {expected})")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def gateway_env(
    nats_url: str, pg_admin_url: str, template_db: str, tmp: Path, **overrides: object
) -> AsyncIterator[Env]:
    namespace = f"g{uuid.uuid4().hex[:10]}"
    db = f"b9g_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template_db}"')
    url = _with_db(pg_admin_url, db)
    media_root = tmp / "media"
    (media_root / Path(THUMB_KEY).parent).mkdir(parents=True, exist_ok=True)
    (media_root / THUMB_KEY).write_bytes(THUMB_BYTES)
    settings = Settings(
        nats_url=nats_url,
        b9_namespace=namespace,
        metrics_port=-1,
        database_url=url,
        gateway_api_key=API_KEY,
        media_store_url=f"file://{media_root}",
        **overrides,
    )  # type: ignore[arg-type]
    rt = await connect(settings, "gateway-tests", "0")
    stop = asyncio.Event()
    psettings = PSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, database_url=url)
    persistence = asyncio.create_task(serve(PERSISTENCE, psettings, stop=stop, grace=5))
    pool = await build_pool(settings)
    try:
        await rt.publisher.publish_many(facts())
        await wait_rows(pool, EXPECTED)
        deps = await build_deps(settings, rt, pool)
        app = create_app(settings, deps)
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://gw", headers=AUTH) as client,
            httpx.AsyncClient(transport=transport, base_url="http://gw") as anon,
        ):
            try:
                yield Env(settings, rt, deps, pool, client, anon, media_root)
            finally:
                await deps.aclose()  # replays still running stop (and record where to resume)
    finally:
        stop.set()
        await asyncio.wait_for(persistence, 30)
        await pool.close()
        await rt.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
async def env(
    nats_url: str, pg_admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    async with gateway_env(nats_url, pg_admin_url, template_db, tmp_path_factory.mktemp("gw")) as e:
        yield e


@pytest.fixture
async def fresh(nats_url: str, pg_admin_url: str, template_db: str, tmp_path: Path) -> AsyncIterator[Env]:
    """A dataset of the test's own, for tests that change it."""
    async with gateway_env(nats_url, pg_admin_url, template_db, tmp_path) as e:
        yield e
