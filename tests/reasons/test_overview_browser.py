"""The overview in headless Chromium: with Reddit at a closed port, a subreddit added through the
API makes the Reddit card turn "Failing" (red, never green) with the connection reason, and the
"Last failures" table lists it; the Instagram card without a key says "Not configured"."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_gateway.app import create_app
from b9_gateway.settings import Settings as GwSettings
from b9_reddit_scraper.tracked import StaticTracked
from stack import (
    base,
    ig_service,
    ig_settings,
    persistence,
    put_control,
    reddit_service,
    reddit_settings,
    running,
)
from upstreams import closed_port

pytestmark = pytest.mark.browser
API_KEY = "reasons-browser-key-0123456789"
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@contextlib.asynccontextmanager
async def gateway_server(common: CommonSettings, database_url: str, tmp: Path) -> AsyncIterator[str]:
    settings = GwSettings(**base(common), database_url=database_url, gateway_api_key=API_KEY,
                          media_store_url=f"file://{tmp}", gateway_rate_limit=0,
                          gateway_overview_ttl=0.5)  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        sock.close()


async def test_overview_shows_failing_with_its_reason(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    dead = f"http://127.0.0.1:{closed_port()}"
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    errors: list[str] = []
    async with (
        running((reddit_service(StaticTracked([])), reddit_settings(common_settings, dead)),
                (ig_service(), ig_settings(common_settings, dead, "")),
                persistence(common_settings, database_url)),
        gateway_server(common_settings, database_url, tmp_path) as url,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        try:
            ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, base_url=url)
            pg: Any = await ctx.new_page()
            pg.set_default_timeout(15_000)
            pg.on("pageerror", lambda e: errors.append(str(e)))
            await pg.goto("/")
            await pg.get_by_label("API key").fill(API_KEY)
            await pg.get_by_label("API key").press("Enter")
            reddit = pg.locator("#scrapers [data-scraper=reddit]")
            instagram = pg.locator("#scrapers [data-scraper=instagram]")
            await expect(instagram.locator(".scraper-state")).to_have_text("Not configured")
            await expect(instagram.locator(".scraper-state .badge")).not_to_have_class("badge ok")

            async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}) as api:
                r = await api.post("/api/v1/subreddits", json={"name": "nowhere_sub"})
                assert r.status_code == 202, r.text
            await expect(reddit.locator(".scraper-state")).to_have_text("Failing")
            await expect(reddit.locator(".scraper-state .badge")).to_have_class("badge danger")
            await expect(reddit.locator(".health-why")).to_contain_text("connection")
            await expect(reddit.locator(".reasons-today")).to_contain_text("connection: 1")
            row = pg.locator("#last-failures tr[data-reason=connection]")
            await expect(row).to_contain_text("nowhere_sub")
            await expect(row).to_contain_text("refused")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await pg.screenshot(path=str(SHOTS / "18-overview-failing-connection.png"), full_page=True)
            await ctx.close()
        finally:
            await browser.close()
    assert not errors, errors
