"""Every main page renders real data; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from dashdata import CREATORS, SUBS
from dashkit import Dash, shot
from playwright.async_api import expect

pytestmark = pytest.mark.browser

PAGES = [
    ("01-overview", "#/", "#scrapers [data-scraper=reddit] .replicas li"),
    ("02-subreddit-review", "#/reddit/review", "table.data tbody tr[data-key]"),
    ("03-subreddit-detail", f"#/reddit/subreddits/{SUBS[0]}", "figure.chart svg"),
    ("04-categorization", "#/reddit/categorization", "table.data tbody tr[data-key]"),
    ("06-post-analysis", "#/reddit/posts", "#viral-grid article"),
    ("07-user-analysis", "#/reddit/users", "table.data tbody tr[data-key]"),
    ("08-user-detail", "#/reddit/users/sunny_lifts", "table.data tbody tr"),
    ("09-creator-review", "#/instagram/review", "table.data tbody tr[data-key]"),
    ("10-niching", "#/instagram/niching", "h1"),
    ("11-reels", "#/instagram/reels", "#reels article img"),
    ("12-creator-detail", f"#/instagram/creators/{CREATORS[1]}", "#follower-chart svg"),
    ("14-dead-letters", "#/admin/dlq", "table.data tbody tr[data-key]"),
    ("15-replays", "#/admin/replays", "#replay-form select"),
]


async def test_models_crud_and_posting(page: Any, dash: Dash) -> None:
    await page.goto("/#/models")
    await page.get_by_role("button", name="New model").click()
    dlg = page.get_by_role("dialog")
    await dlg.get_by_label("Stage name").fill("Lena")
    await dlg.get_by_label("Add a tag").select_option("niche:fitness")
    await dlg.get_by_role("button", name="Save").click()
    row = page.locator("table.data tbody tr", has_text="Lena")
    await expect(row).to_contain_text("niche:fitness")
    await row.get_by_role("button", name="Edit Lena").click()
    await page.get_by_role("dialog").get_by_label("Status").select_option("onboarding")
    await page.get_by_role("dialog").get_by_role("button", name="Save").click()
    await expect(row).to_contain_text("onboarding")
    assert await dash.pool.fetchval("SELECT status FROM models WHERE name = 'Lena'") == "onboarding"

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Posting").click()
    await page.get_by_label("Link an account").fill("sunny_lifts")
    await page.get_by_role("button", name="Link", exact=True).click()
    await expect(page.get_by_role("link", name="u/sunny_lifts")).to_be_visible()
    # recommendations: Ok subreddits sharing the model's tag (FitnessGirlsDaily is niche:fitness)
    await expect(page.locator(f'tr[data-key="{SUBS[0]}"]')).to_be_visible()
    await shot(page, "05-posting")

    await page.goto("/#/models")
    await page.get_by_role("button", name="Delete Lena").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete model").click()
    await expect(page.locator("table.data tbody tr", has_text="Lena")).to_have_count(0)
    assert await dash.pool.fetchval("SELECT model_id FROM reddit_users WHERE username = 'sunny_lifts'") is None


async def test_every_page_renders(page: Any) -> None:
    for name, hash_, ready in PAGES:
        await page.goto(f"/{hash_}")
        await page.locator(ready).first.wait_for()
        await shot(page, name)
    assert not page.errors
