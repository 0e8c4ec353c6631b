"""In Chromium: a reviewer marks a subreddit Ok; after a reload its page says Ok "by NAME" and the
decision history names the person, the change and its time (from the DECISIONS stream)."""

from __future__ import annotations

from typing import Any

import pytest
from b9_common.accounts.store import AccountStore
from dashdata import SUBS
from dashkit import Dash, log_in, new_page, shot
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_a_review_survives_a_reload_and_names_its_reviewer(browser: Any, dash: Dash) -> None:
    store = AccountStore(await dash.rt.topology.accounts_kv(dash.rt.js), await dash.rt.topology.sessions_kv(dash.rt.js))
    _, key = await store.add("tessa", "reviewer")
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg, key)
    await pg.get_by_role("link", name="Subreddit review").click()
    name = SUBS[14]
    await pg.get_by_role("button", name=f"Mark r/{name} Ok").click()
    await expect(pg.locator(f'tr[data-key="{name}"]')).to_be_hidden()  # left the Unreviewed tab
    await pg.goto(f"/#/reddit/subreddits/{name}")
    await pg.reload()
    history = pg.locator("section.history")
    await expect(history.locator("tbody tr").first).to_contain_text("tessa")
    await expect(history.locator("tbody tr").first).to_contain_text("Ok")
    await expect(pg.locator(".stat", has_text="Review")).to_contain_text("by tessa")
    assert await dash.pool.fetchval("SELECT reviewed_by FROM subreddits WHERE name = $1", name) == "tessa"
    await shot(pg, "decision-history")
    await ctx.close()
    assert not errors, errors
