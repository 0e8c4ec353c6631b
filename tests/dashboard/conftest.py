"""Dashboard fixtures: headless Debian Chromium (Playwright), and per test a real gateway
(uvicorn on a free port, its own NATS/PostgreSQL connections) over a dataset loaded through
the pipeline (facts published to JetStream, stored by the persistence service in-process).

Without /usr/bin/chromium the browser tests skip (saying so) unless B9_REQUIRE_BROWSER=1,
in which case they fail."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from b9_common.ops.heartbeat import Heartbeat
from b9_common.service import Runtime, connect, serve
from b9_common.settings import CommonSettings
from b9_gateway.app import create_app
from b9_gateway.settings import Settings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from dashdata import load
from dashkit import API_KEY, Dash, log_in, new_page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _no_browser(reason: str) -> None:
    if os.environ.get("B9_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"B9_REQUIRE_BROWSER=1 but {reason}: install it with `apt-get install -y chromium` "
            "and `pip install playwright`",
            pytrace=False,
        )
    pytest.skip(f"browser tests skipped: {reason} (install Debian's chromium; CI sets B9_REQUIRE_BROWSER=1)")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        _no_browser(f"{CHROMIUM} is missing")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _no_browser("the playwright package is not installed")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


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


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def dash(rt: Runtime, nats_url: str, namespace: str, database_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    media_root = tmp_path / "media"
    media_root.mkdir()
    stop = asyncio.Event()
    psettings = PSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, database_url=database_url)
    persistence = asyncio.create_task(serve(PERSISTENCE, psettings, stop=stop, grace=5))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    # A live reddit-scraper replica: its real heartbeat in the heartbeats bucket.
    scraper_rt = await connect(
        CommonSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, replica_id="reddit-1"),
        "reddit-scraper",
        "1.0.0",
    )
    beat = Heartbeat(scraper_rt, "1.0.0", lambda: {"cycle": 12})
    await beat.start()
    settings = Settings(
        nats_url=nats_url,
        b9_namespace=namespace,
        metrics_port=-1,
        database_url=database_url,
        gateway_api_key=API_KEY,
        media_store_url=f"file://{media_root}",
        gateway_rate_limit=0,
        gateway_overview_ttl=0.5,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    sock = _free_socket()
    port = sock.getsockname()[1]
    gateway = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        expected = await load(rt.publisher, media_root)
        await wait_rows(pool, expected)
        while not server.started:
            if gateway.done():
                gateway.result()
            await asyncio.sleep(0.05)
        yield Dash(f"http://127.0.0.1:{port}", rt, pool, media_root, settings)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gateway, 10)
        sock.close()
        await beat.stop()
        await scraper_rt.close()
        stop.set()
        await asyncio.wait_for(persistence, 30)
        await pool.close()


@pytest.fixture
async def page(browser: Any, dash: Dash) -> AsyncIterator[Any]:
    """A logged-in page on the overview."""
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg)
    await pg.locator("#scrapers [data-scraper]").first.wait_for()
    pg.errors = errors
    yield pg
    await ctx.close()
    assert not errors, f"errors in the browser console: {errors}"
