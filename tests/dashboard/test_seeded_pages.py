"""Acceptance (#18): after `b9 seed --scale small` on a fresh database (media through the real
media service), every page shows the data it exists to show, and axe-core finds no violation
(of any impact) on any page. Screenshots: test-artifacts/screenshots/seed-*.png."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dashkit import log_in, shot
from playwright.async_api import expect
from seedstack import Seeded, axe_source, seeded_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def seeded(nats_url: str, pg_admin_url: str, template_db: str,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    async with seeded_stack(nats_url, pg_admin_url, template_db, tmp_path_factory.mktemp("seed")) as s:
        yield s


@pytest.fixture
async def spage(browser: Any, seeded: Seeded) -> AsyncIterator[Any]:
    # bypass_csp only so the test can inject axe-core; the app's own CSP is tested elsewhere
    ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, base_url=seeded.url, bypass_csp=True)
    pg = await ctx.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    await pg.goto("/")
    await log_in(pg)
    await pg.locator("main h1").first.wait_for()
    yield pg
    await ctx.close()
    assert not errors, f"errors in the browser console: {errors}"


async def _ok_sub(s: Seeded) -> str:
    return str(await s.pool.fetchval(
        "SELECT name FROM subreddits WHERE review = 'Ok' AND best_posting_hour IS NOT NULL "
        "ORDER BY subscribers DESC LIMIT 1"))


async def _media_creator(s: Seeded) -> str:
    return str(await s.pool.fetchval(
        "SELECT ig_user_id FROM instagram_creators WHERE profile_pic_key IS NOT NULL "
        "ORDER BY followers_count DESC LIMIT 1"))


async def _go(pg: Any, hash_: str) -> None:
    await pg.goto(f"/{hash_}")
    await pg.locator("main .view h1, main h1").first.wait_for()


async def test_every_page_shows_the_seeded_data(spage: Any, seeded: Seeded) -> None:
    pg = spage
    assert seeded.counts["media stored"] >= 50, seeded.counts  # 8 creators' media, stored by the media service
    await _go(pg, "#/")
    await expect(pg.locator('[data-stat="subreddits"] .stat-value')).to_have_text("347")
    await shot(pg, "seed-01-overview")

    await _go(pg, "#/reddit/review")
    await expect(pg.locator('[data-stat="new"] .stat-value')).not_to_have_text(re.compile(r"^(0|—)$"))
    await pg.get_by_role("tab", name=re.compile("^Ok")).click()
    await expect(pg.locator("table.data tbody tr[data-key]")).to_have_count(50)
    await shot(pg, "seed-02-subreddit-review")

    # requirements and best hour / day on the detail, members history as a line
    name = await _ok_sub(seeded)
    await _go(pg, f"#/reddit/subreddits/{name}")
    req = pg.locator("dl.requirements").first
    for label in ("Min post karma", "Min comment karma", "Min account age", "Best hour", "Best day"):
        await expect(req.locator("> div", has=pg.locator("dt", has_text=label)).locator("dd")).not_to_have_text("—")
    await expect(pg.locator("figure.chart svg path.series").first).to_be_visible()
    await shot(pg, "seed-03-subreddit-detail")
    # the rules dialog from the review list: rules and requirements
    await _go(pg, "#/reddit/review")
    await pg.get_by_role("tab", name=re.compile("^Ok")).click()
    await pg.locator("table.data tbody tr[data-key] .btn", has_text=re.compile(r"^\d+ rules$")).first.click()
    dlg = pg.get_by_role("dialog")
    await expect(dlg.locator("ol.rules li").first).to_be_visible()
    best = dlg.locator("dl.requirements > div", has=pg.locator("dt", has_text="Best hour")).locator("dd")
    await expect(best).to_contain_text("UTC")
    await shot(pg, "seed-04-rules-dialog")
    await dlg.get_by_role("button", name="Close").first.click()

    await _go(pg, "#/reddit/categorization")
    await expect(pg.locator("table.data tbody tr[data-key]").first).to_be_visible()
    await shot(pg, "seed-05-categorization")

    # Posting: the seeded model, its accounts, recommendations with requirements, counts over all
    await _go(pg, "#/reddit/posting")
    await expect(pg.get_by_label("Model")).to_contain_text("Ava (seed) (3 accounts)")
    rows = pg.locator("table.data tbody tr[data-key]")
    await expect(rows.first).to_be_visible()
    karma = await pg.locator("table.data tbody tr[data-key] td[data-label='Min karma']").all_inner_texts()
    assert sum(k != "—" for k in karma) >= 0.8 * len(karma) > 0, karma
    best = await pg.locator("table.data tbody tr[data-key] td[data-label='Best time']").all_inner_texts()
    assert sum("UTC" in b for b in best) >= 0.8 * len(best), best
    await shot(pg, "seed-06-posting")

    # Post analysis: viral posts in the last 24 h and in 30 days
    await _go(pg, "#/reddit/posts")
    for hours in ("24", "720"):
        await pg.get_by_label("Window").select_option(hours)
        await expect(pg.locator('[data-stat="total"] .stat-hint')).to_have_text(f"last {hours} h")
        await expect(pg.locator("#viral-grid article").first).to_be_visible()
        assert int((await pg.locator('[data-stat="total"] .stat-value').inner_text()).replace(",", "")) > 0
        await expect(pg.locator('[data-stat="best-hour"] .stat-value')).to_contain_text("UTC")
        await shot(pg, f"seed-07-posts-{hours}h")

    await _go(pg, "#/reddit/users")
    await expect(pg.locator("table.data tbody tr[data-key]").first).to_be_visible()
    await shot(pg, "seed-08-users")

    # Creator review: stat cards agree with the tabs
    await _go(pg, "#/instagram/review")
    for stat, tab in (("pending", "pending"), ("approved", "ok"), ("rejected", "non_related")):
        card = await pg.locator(f'[data-stat="{stat}"] .stat-value').inner_text()
        await expect(pg.locator(f'[data-tab="{tab}"] .count')).to_have_text(card)
    await pg.get_by_role("tab", name=re.compile("^Approved")).click()  # the tracked ones have pictures
    await expect(pg.locator("table.data tbody tr[data-key] img.avatar").first).to_be_visible()
    await shot(pg, "seed-09-creator-review")

    await _go(pg, "#/instagram/niching")
    likes = await pg.locator("table.data tbody tr[data-key] td[data-label='Avg reel likes']").all_inner_texts()
    assert likes and all(x not in ("0", "—") for x in likes), likes
    await shot(pg, "seed-10-niching")

    # Reels: tracked creators only, tiles with stored images
    await _go(pg, "#/instagram/reels")
    await expect(pg.locator("#reels article").first).to_be_visible()
    await pg.evaluate("() => Promise.all([...document.images].map((i) => i.decode().catch(() => null)))")
    loaded = await pg.evaluate(
        "[...document.querySelectorAll('#reels article img')].filter((i) => i.naturalWidth > 0).length")
    assert loaded >= 6, loaded
    assert await seeded.pool.fetchval(
        "SELECT count(*) FROM instagram_media m JOIN instagram_creators c USING (ig_user_id) "
        "WHERE m.kind = 'reel' AND c.review_status IS DISTINCT FROM 'ok' AND m.media_pk = ANY($1::text[])",
        await pg.evaluate("[...document.querySelectorAll('#reels article')].map((a) => a.dataset.media)")) == 0
    await shot(pg, "seed-11-reels")

    # Creator detail: a growth line with four points, the stored profile picture
    uid = await _media_creator(seeded)
    await _go(pg, f"#/instagram/creators/{uid}")
    await expect(pg.locator("#follower-chart svg path.series")).to_have_count(1)
    assert int(await pg.locator("#follower-chart[data-points], #follower-chart [data-points]").first
               .get_attribute("data-points") or 0) >= 2
    assert await pg.evaluate("document.querySelector('.profile img.avatar')?.naturalWidth || 0") > 0
    await shot(pg, "seed-12-creator-detail")

    await _go(pg, "#/models")
    await expect(pg.locator("table.data tbody tr", has_text="Ava (seed)")).to_be_visible()
    await shot(pg, "seed-13-models")


async def test_posting_sorts_by_header_and_counts_cover_every_page(spage: Any, seeded: Seeded) -> None:
    pg = spage
    await _go(pg, "#/reddit/posting")
    header = pg.locator("table.data th", has=pg.get_by_role("button", name=re.compile("^Min karma")))
    await header.get_by_role("button").click()
    await expect(header).to_have_attribute("aria-sort", "ascending")
    first = await pg.locator("table.data tbody tr[data-key]").first.get_attribute("data-key")
    await header.get_by_role("button").click()
    await expect(header).to_have_attribute("aria-sort", "descending")
    await expect(pg.locator("table.data tbody tr[data-key]").first).not_to_have_attribute("data-key", first or "")
    top = await pg.locator("table.data tbody tr[data-key] td[data-label='Min karma']").all_inner_texts()
    values = [int(v.replace(",", "")) for v in top if v != "—"]
    assert values == sorted(values, reverse=True), values
    # SFW / verification counts are over all recommendations, as the API's own totals say
    tags = await seeded.pool.fetchval("SELECT assigned_tags FROM models WHERE id = 1")
    sfw, ver = await seeded.pool.fetchrow(
        "SELECT count(*) FILTER (WHERE NOT over18), count(*) FILTER (WHERE verification_required) "
        "FROM subreddits WHERE review = 'Ok' AND tags && $1::text[]", tags)
    await expect(pg.locator('[data-stat="sfw"] .stat-value')).to_have_text(f"{sfw:,}")
    await expect(pg.locator('[data-stat="verification"] .stat-value')).to_have_text(f"{ver:,}")

    # linking an account updates the model selector's count at once
    user = await seeded.pool.fetchval(
        "SELECT username FROM reddit_users WHERE model_id IS NULL ORDER BY username LIMIT 1")
    await pg.get_by_label("Link an account").fill(user)
    await pg.get_by_role("button", name="Link", exact=True).click()
    await expect(pg.get_by_label("Model")).to_contain_text("Ava (seed) (4 accounts)")

    # "Skip to content" focuses the page, it is not a route
    await pg.keyboard.press("Home")
    await pg.locator("a.skip").focus()
    await pg.keyboard.press("Enter")
    await expect(pg.locator("main#main")).to_be_focused()
    await expect(pg.locator("main h1").first).not_to_have_text("Not found")
    assert "#/reddit/posting" in pg.url


PAGES = ["#/", "#/reddit/review", "#/reddit/categorization", "#/reddit/posting", "#/reddit/posts",
         "#/reddit/users", "#/instagram/review", "#/instagram/niching", "#/instagram/reels", "#/models",
         "#/admin/dlq", "#/admin/replays", "#/admin/accounts"]


async def test_axe_finds_no_violation_on_any_page(spage: Any, seeded: Seeded, tmp_path: Path) -> None:
    pg = spage
    axe = await axe_source()
    user = await seeded.pool.fetchval("SELECT username FROM reddit_users ORDER BY total_karma DESC LIMIT 1")
    pages = [*PAGES, f"#/reddit/subreddits/{await _ok_sub(seeded)}", f"#/reddit/users/{user}",
             f"#/instagram/creators/{await _media_creator(seeded)}"]
    found: dict[str, list[str]] = {}
    for hash_ in pages:
        await _go(pg, hash_)
        await pg.locator("main .loading").wait_for(state="detached")
        found[hash_] = await _axe(pg, axe)
    # the login page (signed out)
    await pg.get_by_role("button", name="Log out").click()
    await pg.get_by_label("API key").wait_for()
    found["#/login"] = await _axe(pg, axe)
    assert not any(found.values()), {k: v for k, v in found.items() if v}


async def _axe(pg: Any, axe: str) -> list[str]:
    if not await pg.evaluate("typeof window.axe === 'object'"):
        await pg.add_script_tag(content=axe)
    res = await pg.evaluate("""async () => {
      // Rows of a table / tiles of a grid share one template: the first five of each are checked.
      const context = { exclude: [['tbody tr:nth-child(n+6)'], ['.media-grid > :nth-child(n+6)'],
                                  ['.grid-3 > :nth-child(n+6)']] };
      // no-autoplay-audio waits ~10 s per <video preload=none> for metadata; no video here autoplays
      const r = await axe.run(context, { resultTypes: ['violations'],
                                         rules: { 'no-autoplay-audio': { enabled: false } } });
      if (!r.passes.length) return ['axe checked nothing'];
      return r.violations.map((v) =>
        `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    }""")
    return list(res)


async def test_a_history_of_one_point_says_so(spage: Any, seeded: Seeded) -> None:
    """One scrape is a value, not a trend: no lone dot on a made-up two-hour axis."""
    from b9_common.events import CreatorScraped

    await seeded.rt.publisher.publish(CreatorScraped(ig_user_id="77000001", username="once.seen", followers_count=4321))
    for _ in range(100):
        if await seeded.pool.fetchval("SELECT count(*) FROM creator_follower_history WHERE ig_user_id = '77000001'"):
            break
        await asyncio.sleep(0.1)
    await _go(spage, "#/instagram/creators/77000001")
    chart = spage.locator("#follower-chart")
    await expect(chart).to_contain_text("One measurement so far")
    await expect(chart).to_contain_text("4,321")
    await expect(chart.locator("svg")).to_have_count(0)
