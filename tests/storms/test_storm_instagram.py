"""instagram-scraper under a storm on every endpoint, with an hourly call budget.

tests/instagram_scraper/test_ig_provider.py checks each fault on the provider alone; here the
whole service runs a cycle over four creators while /profile, /reels and /user-feeds answer
429 (with and without Retry-After), 5xx bursts, responses slower than the timeout and
truncated JSON. The budget (control ``requests_per_hour``) must hold through the retries;
once raised, every creator gets an outcome and every call is accounted for (calls, cost).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque

import ig_fixtures as fx
import msgspec
import pytest
from aiohttp import web
from b9_common.scraping.ratelimit import HOUR
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_instagram_scraper.directory import StaticDirectory, TrackedCreator
from b9_instagram_scraper.main import BURST_SECONDS
from ig_service import events, heartbeat, running, settings_for, wait_events
from ig_upstream import FakeProvider, Fault

BUDGET = 120  # requests_per_hour
BURST = round(BUDGET * BURST_SECONDS / HOUR)  # 12: what may go at once before the budget is exhausted
COST = 0.0003


class StormProvider(FakeProvider):
    """The service developer's fake provider plus slow answers (``slow[path]`` queue of seconds)."""

    def __init__(self, page_size: int) -> None:
        super().__init__(page_size)
        self.slow: dict[str, deque[float]] = defaultdict(deque)
        self.times: list[float] = []

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["endpoint"]
        self.times.append(time.monotonic())
        queue = self.slow.get(path)
        if queue:
            await asyncio.sleep(queue.popleft())
        return await super()._handle(request)


def storm(up: StormProvider) -> None:
    truncated = b'{"status": true, "id": "55500'
    up.faults["/profile"].extend([
        Fault(429, headers={"Retry-After": "1"}), Fault(429), Fault(503), Fault(502),
        Fault(200, body=truncated), Fault(500)])
    up.faults["/reels"].extend([Fault(429), Fault(500), Fault(200, body=b'{"items": [{"me')])
    up.faults["/user-feeds"].extend([Fault(503), Fault(504), Fault(429, headers={"Retry-After": "0"})])
    up.slow["/profile"].append(2.5)
    up.slow["/reels"].append(2.5)


async def test_storm_keeps_the_budget_and_accounts_every_call(
        rt: Runtime, common_settings: CommonSettings) -> None:
    up = StormProvider(page_size=12)
    for data in (fx.alice(), fx.bob(), fx.bulk("carol", "5550003", 30, 12), fx.private("pia", "5550004")):
        up.add(data)
    await up.start()
    storm(up)
    kv = await rt.topology.control_kv(rt.js)
    await kv.put("scraper.instagram", msgspec.json.encode({"requests_per_hour": BUDGET}))
    tracked = [TrackedCreator(fx.ALICE_ID, "alice"), TrackedCreator("5550002", "bob"),
               TrackedCreator("5550003", "carol"), TrackedCreator("5550004", "pia")]
    settings = msgspec.structs.replace(settings_for(common_settings, up), instagram_timeout=1.0)
    try:
        async with running(settings, StaticDirectory(approved=tracked)):
            deadline = asyncio.get_running_loop().time() + 30
            while (await heartbeat(rt, "r1"))["status"] != "budget_exhausted":
                assert asyncio.get_running_loop().time() < deadline, "budget never reached"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            assert up.calls() == BURST  # the storm's retries count against the budget too
            await kv.put("scraper.instagram", msgspec.json.encode({"requests_per_hour": 0}))
            await wait_events(rt, "scrape.attempted", 4, limit_s=40,
                              where=lambda e: True)
            await asyncio.sleep(0.5)
    finally:
        await up.stop()
    attempts = [e.data for e in await events(rt, "scrape.attempted")]
    assert {a.target for a in attempts} == {"alice", "bob", "carol", "pia"}
    assert {a.outcome for a in attempts} <= {"success", "failed", "rate_limited", "private"}
    assert sum(a.calls for a in attempts) == up.calls()
    for a in attempts:
        assert a.cost_usd == pytest.approx(a.calls * COST)
    assert not any(up.faults.values()) and not any(up.slow.values()), "storm not fully served"
    scraped = {e.data.username for e in await events(rt, "creator.scraped")}
    ok = {a.target for a in attempts if a.outcome in ("success", "private")}
    assert ok <= scraped
