"""Notifications read on one browser are read on every browser of the account (two Chromium
contexts, one person; screenshot 23 in test-artifacts/screenshots/)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from b9_common.events import now
from b9_common.events.alerts import NotificationCreated
from dashkit import Dash, log_in, new_page, shot
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def _signed_in(browser: Any, dash: Dash) -> tuple[Any, Any, list[str]]:
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg)
    await pg.locator("#scrapers [data-scraper]").first.wait_for()
    await pg.goto("/#/alerts")
    return ctx, pg, errors


async def test_read_on_one_browser_is_read_on_the_other(browser: Any, dash: Dash) -> None:
    pub, t0 = dash.rt.publisher, now()
    await pub.publish_many([
        pub.envelope(NotificationCreated(rule_id="r-two", rule_name="two browsers", on="subreddit.discovered",
                                         entity=name, occurrence="once", title=f"r/{name}",
                                         link=f"/#/reddit/subreddits/{name}"),
                     id_=f"ntwo{i}", occurred_at=t0 + timedelta(seconds=i))
        for i, name in enumerate(("pics_9", "aww_9"))])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not await dash.pool.fetchval("SELECT count(*) = 2 FROM notifications WHERE rule_id = 'r-two'"):
        assert loop.time() < deadline, "notifications not stored"
        await asyncio.sleep(0.1)

    (ctx_a, a, errors_a), (ctx_b, b, errors_b) = await _signed_in(browser, dash), await _signed_in(browser, dash)
    try:
        for pg in (a, b):
            await expect(pg.locator('[data-stat="unread"] .stat-value')).to_have_text("2")
            await expect(pg.locator("a.bell .bell-count")).to_have_text("2")
        await a.get_by_role("button", name="Mark all read").click()
        await expect(a.locator('[data-stat="unread"] .stat-value')).to_have_text("0")
        await expect(a.locator("a.bell .bell-count")).to_be_hidden()
        # the other browser: its bell drops live (the read mark is an event on the feed) ...
        await expect(b.locator("a.bell .bell-count")).to_be_hidden(timeout=20_000)
        # ... and a reload shows the notifications read: the mark is the account's, not the browser's
        await b.reload()
        await expect(b.locator('[data-stat="unread"] .stat-value')).to_have_text("0")
        await expect(b.locator("table.data tbody tr", has_text="r/pics_9")).to_be_visible()
        await expect(b.locator("table.data tbody tr .badge", has_text="new")).to_have_count(0)
        await shot(b, "23-notifications-read-elsewhere")
    finally:
        await ctx_a.close()
        await ctx_b.close()
    assert not errors_a and not errors_b, (errors_a, errors_b)
