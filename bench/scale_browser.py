"""Time until each dashboard page shows its data, in Chromium (Playwright, Debian's chromium).

Each page is loaded in full (a new document: the HTML, the scripts, the session check, the
page's API calls) after a blank page, and timed from navigation start until the element that
holds its data is visible (the selectors of tests/dashboard/test_pages.py). Logged in once
with the API key (session cookie). ``rounds`` loads per page; median and worst reported.
"""

from __future__ import annotations

import time
from statistics import median
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DATA = "table.data tbody tr[data-key]"


async def pages(conn: Any) -> list[tuple[str, str, str]]:
    """(name, hash route, selector of its data) for every page with data to show."""
    sub = await conn.fetchval("SELECT name FROM subreddits ORDER BY subscribers DESC NULLS LAST LIMIT 1")
    user = await conn.fetchval("SELECT username FROM reddit_users ORDER BY total_karma DESC NULLS LAST LIMIT 1")
    creator = await conn.fetchval(
        "SELECT ig_user_id FROM instagram_creators ORDER BY followers_count DESC NULLS LAST LIMIT 1")
    return [
        ("overview", "#/", '[data-stat="subreddits"] .stat-value'),
        ("subreddit review", "#/reddit/review", DATA),
        ("subreddit detail", f"#/reddit/subreddits/{sub}", "figure.chart svg"),
        ("categorization", "#/reddit/categorization", DATA),
        ("posting", "#/reddit/posting", "main h1"),
        ("post analysis", "#/reddit/posts", "#viral-grid article"),
        ("user analysis", "#/reddit/users", DATA),
        ("user detail", f"#/reddit/users/{user}", "table.data tbody tr"),
        ("creator review", "#/instagram/review", DATA),
        ("niching", "#/instagram/niching", DATA),
        ("reels", "#/instagram/reels", "#reels article"),
        ("creator detail", f"#/instagram/creators/{creator}", "#follower-chart svg"),
        ("models", "#/models", "table.data tbody tr"),
    ]


async def measure(base_url: str, key: str, conn: Any, rounds: int = 3, timeout_ms: int = 30_000
                  ) -> dict[str, dict[str, float]]:
    """{page: {"median_ms", "max_ms"}}; a page that never shows its data raises."""
    from playwright.async_api import async_playwright

    out: dict[str, dict[str, float]] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base_url)
            pg = await ctx.new_page()
            pg.set_default_timeout(timeout_ms)
            await pg.goto("/")
            await pg.get_by_label("API key").fill(key)
            await pg.get_by_label("API key").press("Enter")
            # signed in (the sign-in page has a "main h1" too): the dashboard's live feed is open
            await pg.locator('.live-dot[data-state="live"]').wait_for()
            for name, route, ready in await pages(conn):
                took = []
                for _ in range(rounds):
                    await pg.goto("about:blank")
                    t0 = time.perf_counter()
                    await pg.goto(f"{base_url}/{route}")
                    await pg.locator(ready).first.wait_for(state="visible")
                    took.append(1000 * (time.perf_counter() - t0))
                out[name] = {"median_ms": round(median(took), 1), "max_ms": round(max(took), 1)}
        finally:
            await browser.close()
    return out
