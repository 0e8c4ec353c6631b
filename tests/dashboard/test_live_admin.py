"""Replays started from the dashboard with live progress, and scraper cards that follow the
control KV and the replicas' heartbeats as they change (nothing clicked, nothing reloaded)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
import pytest
from b9_common.ops.heartbeat import Heartbeat
from b9_common.service import connect
from b9_common.settings import CommonSettings
from dashkit import Dash, shot
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_start_a_replay_and_watch_it_complete(page: Any, dash: Dash) -> None:
    info = await dash.rt.js.stream_info(dash.rt.topology.stream("SCRAPE"))
    total = int(info.state.messages)  # persistence consumes every SCRAPE subject
    await page.get_by_role("link", name="Replays").click()
    await expect(page.get_by_role("heading", name="Replays", exact=True)).to_be_visible()
    form = page.locator("#replay-form")
    await form.get_by_label("Consumer").select_option("persistence")

    # a dry run first: what the slice holds, nothing runs
    await form.get_by_label("Only count what the slice holds (dry run)").check()
    await form.get_by_role("button", name="Count messages").click()
    await expect(page.locator("#plan-total")).to_have_text(f"{total:,}")
    assert await dash.pool.fetchval("SELECT count(*) FROM replays") == 0

    # the real one, held to 40 events/s so there is progress to watch
    await form.get_by_label("Only count what the slice holds (dry run)").uncheck()
    await form.get_by_label("Rate limit (events/s)").fill("40")
    await form.get_by_role("button", name="Start replay").click()
    run = page.locator(".replay-run")
    await expect(run).to_have_attribute("data-status", "running")
    bar = run.get_by_role("progressbar")
    for _ in range(100):  # the bar moves while it runs
        now = int(await bar.get_attribute("aria-valuenow") or 0)
        if 0 < now < 100:
            break
        await asyncio.sleep(0.05)
    assert 0 < now < 100, now
    await shot(page, "15a-replay-running")
    await expect(run).to_have_attribute("data-status", "completed", timeout=30_000)
    await expect(bar).to_have_attribute("aria-valuenow", "100")
    await expect(run.locator(".replay-count")).to_have_text(f"{total:,} / {total:,}")
    # recorded, with its outcome, in the table
    row = page.locator("table.data tbody tr").first
    await expect(row.locator(".replay-status")).to_have_attribute("data-status", "completed")
    await expect(row).to_contain_text(f"{total:,} / {total:,}")
    await shot(page, "15b-replay-completed")
    rec = await dash.pool.fetchrow("SELECT started_by, outcome::text AS outcome FROM replays")
    outcome = json.loads(rec["outcome"])
    assert rec["started_by"] == "dashboard" and outcome["status"] == "complete"
    assert outcome["visited"] == total
    # the one undecodable fact of the dataset goes to the DLQ again; everything else is handled
    assert outcome["handled"] + outcome["skipped"] == total - 1 and outcome["dead_lettered"] == 1
    await expect(run.locator("dd.warn-text")).to_have_text("1")


async def test_scraper_cards_follow_the_control_kv_and_heartbeats(page: Any, dash: Dash) -> None:
    await expect(page.locator(".live-dot")).to_have_attribute("data-state", "live")
    await page.evaluate("window.__sameDocument = true")
    card = page.locator("[data-scraper=reddit]")
    await expect(card.locator(".scraper-state")).to_have_text("Running")
    kv = await dash.rt.topology.control_kv(dash.rt.js)

    # written straight into the bucket (another user, a script, `nats kv put`): pushed, not polled
    await kv.put("scraper.reddit", msgspec.json.encode({"enabled": False, "updated_by": "script"}))
    await expect(card.locator(".scraper-state")).to_have_text("Stopped", timeout=5_000)
    await expect(card).to_have_attribute("data-enabled", "false")
    await expect(card.get_by_role("button", name="Start the reddit scraper")).to_be_visible()
    await shot(page, "01d-overview-stopped-by-kv")
    await kv.put("scraper.reddit", msgspec.json.encode({"enabled": True, "updated_by": "script"}))
    await expect(card.locator(".scraper-state")).to_have_text("Running", timeout=5_000)

    # a second replica starts beating: it appears with its cycle; when it goes, it disappears
    await expect(card.locator(".replicas li")).to_have_count(1)
    rt = await connect(CommonSettings(nats_url=dash.settings.nats_url, b9_namespace=dash.settings.b9_namespace,
                                      metrics_port=-1, replica_id="reddit-2"), "reddit-scraper", "1.0.1")
    beat = Heartbeat(rt, "1.0.1", lambda: {"cycle": 13})
    try:
        await beat.start()
        await expect(card.locator('.replicas li[data-replica="reddit-2"]')).to_be_visible(timeout=5_000)
        await expect(card.locator(".replicas li")).to_have_count(2)
        await expect(card.locator("dl.kv div", has_text="Current cycle").locator("dd")).to_have_text("13")
    finally:
        await beat.stop()
        await rt.close()
    await expect(card.locator('.replicas li[data-replica="reddit-2"]')).to_have_count(0, timeout=5_000)
    await expect(card.locator(".replicas li")).to_have_count(1)
    assert await page.evaluate("window.__sameDocument") is True
