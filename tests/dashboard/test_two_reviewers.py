"""Two reviewers at once (#18): what one of them decides reaches the other's open dashboard over
the live feed -- stat cards, tab counts and the list -- without a reload. Two browser contexts,
two accounts (reviewers), one gateway."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from b9_common.accounts.store import AccountStore
from dashdata import CREATORS, SUBS
from dashkit import Dash, log_in, new_page, shot
from playwright.async_api import expect

pytestmark = pytest.mark.browser
LIVE = 20_000  # ms: the page re-reads 0.6 / 2.5 / 6 / 12 s after the event (a loaded machine is slow)


async def _signed_in(browser: Any, dash: Dash, store: AccountStore, name: str) -> tuple[Any, Any, list[str]]:
    _, key = await store.add(name, "reviewer")
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg, key)
    await expect(pg.locator(".whoami")).to_have_text(f"{name} (reviewer)")
    await pg.locator("#scrapers [data-scraper]").first.wait_for()
    return ctx, pg, errors


async def _mark(pg: Any) -> None:
    """A marker that a reload of the document would lose (evaluate runs over CDP: the CSP allows it)."""
    await pg.evaluate("() => { window.__b9NotReloaded = true; }")


async def _not_reloaded(pg: Any) -> None:
    assert await pg.evaluate("() => window.__b9NotReloaded === true"), "the page was reloaded"


async def _approved(dash: Dash, n: int) -> None:
    for _ in range(200):
        if await dash.pool.fetchval("SELECT count(*) FROM instagram_creators WHERE review_status = 'ok'") >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the dataset's approvals were not stored")


async def test_one_reviewers_decisions_update_the_others_open_pages(browser: Any, dash: Dash) -> None:
    await _approved(dash, 2)
    topo, js = dash.rt.topology, dash.rt.js
    store = AccountStore(await topo.accounts_kv(js), await topo.sessions_kv(js))
    ctx_a, a, errors_a = await _signed_in(browser, dash, store, "ana")
    ctx_b, b, errors_b = await _signed_in(browser, dash, store, "ben")
    try:
        # creators: 6, two approved by the dataset, four pending
        for pg in (a, b):
            await pg.get_by_role("link", name="Creator review").click()
            await expect(pg.locator('[data-stat="pending"] .stat-value')).to_have_text("4")
        await _mark(b)
        who = CREATORS[2]
        b_row = b.locator('tr[data-key="55120002"]')
        await expect(b_row).to_be_visible()
        await a.get_by_role("button", name=f"Approve @{who}").click()
        await expect(a.locator('[data-stat="pending"] .stat-value')).to_have_text("3")  # her own, at once
        await expect(b.locator('[data-stat="pending"] .stat-value')).to_have_text("3", timeout=LIVE)
        await expect(b.locator('[data-stat="approved"] .stat-value')).to_have_text("3", timeout=LIVE)
        await expect(b.locator('[data-tab="pending"] .count')).to_have_text("3", timeout=LIVE)
        await expect(b.locator('[data-tab="ok"] .count')).to_have_text("3", timeout=LIVE)
        await expect(b_row).to_have_count(0, timeout=LIVE)
        approved = b.locator("#related dl div", has=b.locator("dt", has_text="Approved creators")).locator("dd")
        await expect(approved).to_have_text("3", timeout=LIVE)  # what related discovery runs on
        await _not_reloaded(b)
        await shot(b, "live-01-other-reviewer-creators")
        # ana's own counts were not undone by a cached overview re-read after her action
        await expect(a.locator('[data-stat="pending"] .stat-value')).to_have_text("3")

        # subreddits: ana marks one Ok, ben's Unreviewed tab, stat card and list follow
        for pg in (a, b):
            await pg.get_by_role("link", name="Subreddit review").click()
            await expect(pg.locator('[data-tab="unreviewed"] .count')).to_have_text("8")
        name = SUBS[12]
        b_row = b.locator(f'tr[data-key="{name}"]')
        await expect(b_row).to_be_visible()
        await a.get_by_role("button", name=f"Mark r/{name} Ok").click()
        await expect(a.locator('[data-tab="unreviewed"] .count')).to_have_text("7")
        await expect(b.locator('[data-tab="unreviewed"] .count')).to_have_text("7", timeout=LIVE)
        await expect(b.locator('[data-stat="unreviewed"] .stat-value')).to_have_text("7", timeout=LIVE)
        await expect(b.locator('[data-stat="ok"] .stat-value')).to_have_text("7", timeout=LIVE)
        await expect(b_row).to_have_count(0, timeout=LIVE)
        await _not_reloaded(b)
        await shot(b, "live-02-other-reviewer-subreddits")

        # the overview's "Awaiting review" card follows another person's decision too
        await b.get_by_role("link", name="Overview").click()
        await expect(b.locator('[data-stat="unreviewed"] .stat-value')).to_have_text("7")
        await a.get_by_role("button", name=f"Mark r/{SUBS[13]} No Seller").click()
        await expect(b.locator('[data-stat="unreviewed"] .stat-value')).to_have_text("6", timeout=LIVE)
        await expect(b.locator("#live-feed [data-type='subreddit.reviewed']").first).to_be_visible()
        await _not_reloaded(b)
    finally:
        await ctx_a.close()
        await ctx_b.close()
    assert not errors_a and not errors_b, (errors_a, errors_b)
