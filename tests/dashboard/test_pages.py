"""Every main page renders real data; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import shot
from dashdata import CREATORS, SUBS

pytestmark = pytest.mark.browser

PAGES = [
    ("01-overview", "#/", "#scrapers [data-scraper=reddit] .replicas li"),
    ("02-subreddit-review", "#/reddit/review", "table.data tbody tr[data-key]"),
    ("03-subreddit-detail", f"#/reddit/subreddits/{SUBS[0]}", "figure.chart svg"),
    ("04-categorization", "#/reddit/categorization", "table.data tbody tr[data-key]"),
    ("05-posting", "#/reddit/posting", "h1"),
    ("06-post-analysis", "#/reddit/posts", "#viral-grid article"),
    ("07-user-analysis", "#/reddit/users", "table.data tbody tr[data-key]"),
    ("08-user-detail", "#/reddit/users/sunny_lifts", "table.data tbody tr"),
    ("09-creator-review", "#/instagram/review", "table.data tbody tr[data-key]"),
    ("10-niching", "#/instagram/niching", "h1"),
    ("11-reels", "#/instagram/reels", "#reels article img"),
    ("12-creator-detail", f"#/instagram/creators/{CREATORS[1]}", "#follower-chart svg"),
    ("13-models", "#/models", "h1"),
    ("14-dead-letters", "#/admin/dlq", "table.data tbody tr[data-key]"),
]


async def test_every_page_renders(page: Any) -> None:
    for name, hash_, ready in PAGES:
        await page.goto(f"/{hash_}")
        await page.locator(ready).first.wait_for()
        await page.wait_for_load_state("networkidle")
        await shot(page, name)
    assert not page.errors
