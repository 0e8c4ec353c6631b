"""PostgreSQL stopped under a running gateway: every database route answers 503 with
Retry-After and a JSON reason (never a 500), the log has ONE line when the database goes away
and ONE when it is back (no stack trace per request), and the routes answer again after
PostgreSQL is started again. The server is a PostgreSQL of this test's own (pgserver under
tmp_path) that it stops and starts; NATS is the suite's."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from b9_common.db import migrate
from b9_common.embedded import EmbeddedNats, EmbeddedPostgres
from b9_common.service import connect
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps, build_pool
from b9_gateway.settings import Settings
from gwenv import API_KEY, AUTH

# GET routes that read PostgreSQL (no path parameters, or a dummy one)
DB_GETS = [
    "/api/v1/subreddits", "/api/v1/users", "/api/v1/posts", "/api/v1/posts/viral", "/api/v1/creators",
    "/api/v1/reels", "/api/v1/recommendations?tags=niche:fitness", "/api/v1/subreddits/somesub",
    "/api/v1/users/someone",
    "/api/v1/creators/somecreator", "/api/v1/models",
]


class Stack:
    def __init__(self, pg: EmbeddedPostgres, client: httpx.AsyncClient, settings: Settings) -> None:
        self.pg, self.client, self.settings = pg, client, settings


@pytest.fixture
async def stack(nats_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    # pgserver runs PostgreSQL as its own user: a data dir outside pytest's private tmp tree
    root = Path(tempfile.mkdtemp(prefix="b9-pgdown-"))
    pg = EmbeddedPostgres(root / "pg", cleanup="stop")
    url = await asyncio.to_thread(pg.start)
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    settings = Settings(nats_url=nats_url, b9_namespace=f"pgd{tmp_path.name[-8:].replace('-', '')}",
                        metrics_port=-1, database_url=url, gateway_api_key=API_KEY,
                        media_store_url=f"file://{tmp_path / 'media'}")  # type: ignore[arg-type]
    rt = await connect(settings, "gateway-pg-down", "0")
    pool = await build_pool(settings)
    deps = await build_deps(settings, rt, pool)
    app = create_app(settings, deps)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw",
                                     headers=AUTH) as client:
            yield Stack(pg, client, settings)
    finally:
        await deps.aclose()
        pool.terminate()
        await rt.close()
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(root, ignore_errors=True)


async def _statuses(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    return {path: await client.get(path) for path in DB_GETS}


def _outage_lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name == "b9_gateway.pool"]


async def test_postgres_down_is_503_with_retry_after_and_one_log_line_per_transition(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = await _statuses(stack.client)
    assert all(r.status_code == 200 for r in before.values() if "/some" not in str(r.url)), \
        {p: r.status_code for p, r in before.items()}
    caplog.clear()

    await asyncio.to_thread(stack.pg.stop)
    for _ in range(3):  # many requests in one outage: still one log line
        down = await _statuses(stack.client)
        bad = {p: (r.status_code, r.text[:200]) for p, r in down.items() if r.status_code != 503}
        assert not bad, bad
        for r in down.values():
            assert r.headers["Retry-After"] == "5" and r.headers["content-type"] == "application/json"
            body: dict[str, Any] = r.json()
            assert body["error"] == "database unavailable" and body["retry_after"] == 5
    write = await stack.client.put("/api/v1/subreddits/somesub/review", json={"review": "Ok"})
    assert write.status_code == 503 and write.headers["Retry-After"] == "5", write.text
    lines = _outage_lines(caplog.records)
    assert len(lines) == 1 and lines[0].startswith("database unavailable"), lines
    traced = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert traced == [lines[0]], traced  # no stack trace, no error line per request

    await asyncio.to_thread(stack.pg.start)
    for _ in range(200):  # wait until the server takes connections again
        try:
            await (await asyncpg.connect(stack.settings.database_url, timeout=2)).close()
            break
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.05)
    after = await _statuses(stack.client)
    assert {p: r.status_code for p, r in after.items()} == {p: r.status_code for p, r in before.items()}
    lines = _outage_lines(caplog.records)
    assert len(lines) == 2 and lines[1].startswith("database available again"), lines


async def test_nats_down_commands_are_503_at_once_reads_still_answer(
        own_nats: EmbeddedNats, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same class for the event bus: NATS stopped -> a command is 503 with Retry-After at
    once (not after the publish timeout, not a 500 with a trace); PostgreSQL reads still work;
    after NATS is back the command is accepted again."""
    settings = Settings(nats_url=own_nats.url, b9_namespace="natsdown", metrics_port=-1, database_url=database_url,
                        gateway_api_key=API_KEY, media_store_url=f"file://{tmp_path / 'media'}")  # type: ignore[arg-type]
    rt = await connect(settings, "gateway-nats-down", "0")
    pool = await build_pool(settings)
    deps = await build_deps(settings, rt, pool)
    app = create_app(settings, deps)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw",
                                     headers=AUTH) as client:
            assert (await client.post("/api/v1/subreddits", json={"name": "first_sub"})).status_code == 202
            await asyncio.to_thread(own_nats.stop)
            for _ in range(100):
                if not rt.nc.is_connected:
                    break
                await asyncio.sleep(0.05)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            r = await client.post("/api/v1/subreddits", json={"name": "second_sub"})
            assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
            assert r.json()["error"] == "event bus unavailable"
            assert loop.time() - t0 < 2.0  # at once, not after the publish's ack timeout
            assert (await client.get("/api/v1/subreddits")).status_code == 200
            assert not [rec for rec in caplog.records if rec.exc_info], "no stack trace in the log"
            await asyncio.to_thread(own_nats.start)
            for _ in range(200):
                if rt.nc.is_connected:
                    break
                await asyncio.sleep(0.05)
            assert (await client.post("/api/v1/subreddits", json={"name": "third_sub"})).status_code == 202
    finally:
        await deps.aclose()
        await pool.close()
        await rt.close()
