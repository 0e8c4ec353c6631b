"""Per-person sign-in on the dashboard in Chromium: the reason a key is refused, "NAME (role)"
in the header, logout that ends the session on the server, and a viewer who can only look."""

from __future__ import annotations

from typing import Any

import pytest
from b9_common.accounts.store import AccountStore
from dashdata import SUBS
from dashkit import Dash, log_in, new_page
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def _store(dash: Dash) -> AccountStore:
    topo, js = dash.rt.topology, dash.rt.js
    return AccountStore(await topo.accounts_kv(js), await topo.sessions_kv(js))


async def test_a_person_signs_in_sees_their_name_and_logs_out(browser: Any, dash: Dash) -> None:
    _, key = await (await _store(dash)).add("rina", "reviewer")
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg, "b9_abc_not-a-key")
    await expect(pg.locator("#login-error")).to_contain_text("wrong or disabled key")
    await log_in(pg, key)
    await expect(pg.locator(".whoami")).to_have_text("rina (reviewer)")
    await pg.locator("#scrapers [data-scraper]").first.wait_for()
    token = next(c["value"] for c in await ctx.cookies() if c["name"] == "b9_session")

    await pg.get_by_role("button", name="Log out").click()
    await expect(pg.get_by_label("API key")).to_be_visible()
    assert not [c for c in await ctx.cookies() if c["name"] == "b9_session"]  # the response dropped it
    r = await pg.request.get("/api/v1/session")
    assert r.status == 401
    r = await pg.request.get("/api/v1/session", headers={"Cookie": f"b9_session={token}"})
    assert r.status == 401  # ended on the server, not only forgotten by the browser
    await pg.goto("/#/reddit/review")
    await expect(pg.get_by_label("API key")).to_be_visible()  # no way back in without the key
    await ctx.close()
    assert not errors, errors


async def test_a_viewer_sees_no_review_actions_and_changes_nothing(browser: Any, dash: Dash) -> None:
    _, key = await (await _store(dash)).add("vik", "viewer")
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg, key)
    await expect(pg.locator(".whoami")).to_have_text("vik (viewer)")
    await pg.locator("#scrapers [data-scraper]").first.wait_for()
    stop = pg.locator('button[aria-label="Stop the reddit scraper"]')
    await expect(stop).to_have_count(1)  # on the page, and
    await expect(stop).to_be_hidden()  # not shown: admins only
    await pg.get_by_role("link", name="Subreddit review").click()
    name = SUBS[9]
    row = pg.locator(f'tr[data-key="{name}"]')
    await expect(row).to_be_visible()
    mark = pg.locator(f'button[aria-label="Mark r/{name} Ok"]')
    await expect(mark).to_have_count(1)
    await expect(mark).to_be_hidden()
    await expect(pg.get_by_label(f"Select {name}")).to_be_hidden()
    await expect(pg.get_by_role("button", name="Add subreddit")).to_be_hidden()
    before = await dash.pool.fetchval("SELECT review FROM subreddits WHERE name = $1", name)
    r = await pg.request.put(f"/api/v1/subreddits/{name}/review", data={"review": "Ok"})
    assert r.status == 403 and "reviewer" in (await r.json())["detail"]
    assert await dash.pool.fetchval("SELECT review FROM subreddits WHERE name = $1", name) == before
    await ctx.close()
    assert not errors, errors


async def test_an_admin_adds_a_person_who_signs_in_and_is_then_disabled(browser: Any, dash: Dash) -> None:
    ctx, pg, errors = await new_page(browser, dash)
    await pg.goto("/")
    await log_in(pg)  # GATEWAY_API_KEY: admin
    await expect(pg.locator(".whoami")).to_have_text("GATEWAY_API_KEY (admin)")
    await pg.get_by_role("link", name="Accounts").click()
    await pg.get_by_role("button", name="Add person").click()
    await pg.get_by_label("Name").fill("pia")
    await pg.get_by_label("Role").select_option("viewer")
    await pg.get_by_role("button", name="Add", exact=True).click()
    key = await pg.locator("#new-key").input_value()
    assert key.startswith("b9_")
    await pg.get_by_role("button", name="Done").click()
    await expect(pg.locator('tr[data-key="pia"]')).to_contain_text("active")

    other, pia, other_errors = await new_page(browser, dash)
    await pia.goto("/")
    await log_in(pia, key)
    await expect(pia.locator(".whoami")).to_have_text("pia (viewer)")
    await expect(pia.get_by_role("link", name="Accounts")).to_be_hidden()  # admins only

    await pg.get_by_role("button", name="Disable pia").click()
    await expect(pg.locator('tr[data-key="pia"]')).to_contain_text("disabled")
    # her open live feed ends with her account, the dashboard asks the API, gets 401: sign-in page
    await expect(pia.get_by_label("API key")).to_be_visible(timeout=15_000)
    await expect(pia.locator("#login-error")).to_contain_text("session has ended")
    await other.close()
    await ctx.close()
    assert not errors, errors
    assert not other_errors, other_errors
