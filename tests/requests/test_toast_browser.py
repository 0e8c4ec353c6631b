"""The dashboard in headless Chromium: "Add subreddit" with Reddit at a closed port shows the
request's live status in its toast and ends with the failure's reason (connection refused);
"Add creator" without an Instagram key says at once that it is not configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_reddit_scraper.tracked import StaticTracked
from reqkit import API_KEY, gateway_server
from stack import ig_service, ig_settings, put_control, reddit_service, reddit_settings, running
from upstreams import closed_port

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


async def test_the_add_subreddit_toast_ends_with_the_reason(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    dead = f"http://127.0.0.1:{closed_port()}"
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    errors: list[str] = []
    async with (
        running((reddit_service(StaticTracked([])), reddit_settings(common_settings, dead)),
                (ig_service(), ig_settings(common_settings, dead, ""))),
        gateway_server(common_settings, database_url, tmp_path) as url,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        try:
            ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url)
            pg: Any = await ctx.new_page()
            pg.set_default_timeout(30_000)
            pg.on("pageerror", lambda e: errors.append(str(e)))
            await pg.goto("/#/reddit/review")
            await pg.get_by_label("API key").fill(API_KEY)
            await pg.get_by_label("API key").press("Enter")
            await pg.get_by_role("button", name="Add subreddit").first.click()
            await pg.get_by_label("Subreddit name").fill("nowhere_sub")
            await pg.get_by_role("dialog").get_by_role("button", name="Add subreddit").click()
            toast = pg.locator(".toast.request", has_text="r/nowhere_sub")
            await expect(toast).to_be_visible()
            await expect(toast).to_have_attribute("data-status", "failed")
            await expect(toast).to_have_class("toast error request")
            await expect(toast).to_contain_text("failed: connection refused by 127.0.0.1")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await pg.screenshot(path=str(SHOTS / "18-toast-add-subreddit-failed.png"))
            await pg.goto("/#/instagram/review")
            await pg.get_by_role("button", name="Add creator").first.click()
            await pg.get_by_label("Instagram username").fill("someone")
            await pg.get_by_role("dialog").get_by_role("button", name="Add creator").click()
            refusal = pg.get_by_role("dialog").get_by_role("alert")
            await expect(refusal).to_contain_text("not configured (INSTAGRAM_API_KEY is not set)")
            await pg.screenshot(path=str(SHOTS / "18-add-creator-not-configured.png"))
            await ctx.close()
        finally:
            await browser.close()
    assert not errors, errors
