"""Time until each dashboard page shows its data, in Chromium (Playwright, Debian's chromium).

Each page is loaded in full (a new document: the HTML, the scripts, the session check, the
page's API calls) after a blank page, and timed from navigation start until the element that
holds its data is visible (the selectors of tests/dashboard/test_pages.py). Logged in once
with the API key (session cookie). ``rounds`` loads per page; median and worst reported.

The time is taken in the page (``SHOWN``): a MutationObserver, installed before the page's own
scripts, notes ``performance.now()`` (milliseconds since navigation start) at the first frame
after the element is in the document and rendered. Playwright's ``wait_for`` then confirms it is
visible, but its own time is not used: it polls at growing intervals (up to 500 ms apart), which
added up to half a second to the figures measured before 2026-12-03.
"""

from __future__ import annotations

import json
import time
from statistics import median
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DATA = "table.data tbody tr[data-key]"
# Installed in every document before its scripts: for the page's route (``location.hash``), the
# time of the first frame after its data element is in the document and rendered.
SHOWN = """(() => {
  const want = (%s)[location.hash];
  if (!want) return;
  const seen = () => { const el = document.querySelector(want); return el && el.checkVisibility(); };
  const mo = new MutationObserver(() => {
    if (!seen()) return;
    mo.disconnect();
    requestAnimationFrame(() => { window.__b9Shown = performance.now(); });
  });
  mo.observe(document, { subtree: true, childList: true, attributes: true });
})();"""


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
    """{page: {"median_ms", "max_ms", "playwright_median_ms"}}; a page that never shows its data raises."""
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
            every = await pages(conn)
            await ctx.add_init_script(SHOWN % json.dumps({route: ready for _, route, ready in every}))
            for name, route, ready in every:
                took, polled = [], []
                for _ in range(rounds):
                    await pg.goto("about:blank")
                    t0 = time.perf_counter()
                    await pg.goto(f"{base_url}/{route}")
                    await pg.locator(ready).first.wait_for(state="visible")
                    polled.append(1000 * (time.perf_counter() - t0))
                    took.append(float(await (await pg.wait_for_function("window.__b9Shown")).json_value()))
                out[name] = {"median_ms": round(median(took), 1), "max_ms": round(max(took), 1),
                             "playwright_median_ms": round(median(polled), 1)}
        finally:
            await browser.close()
    return out
