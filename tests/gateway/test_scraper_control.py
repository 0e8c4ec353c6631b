"""Acceptance: stopping and starting a scraper from the API changes what it does within a second.

The real reddit-scraper service runs in-process (``serve(SERVICE)``) against the local fake
Reddit of tests/reddit_scraper (the real recorded fixtures; imported, not copied), tracking
the Ok / No Seller subreddits of this test's own database, in the gateway's namespace. The
gateway's POST /scrapers/reddit/stop and /start are the only control actions.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from b9_common.service import serve
from b9_reddit_scraper.main import SERVICE
from b9_reddit_scraper.settings import Settings as ScraperSettings
from gwdata import SUBS
from gwenv import Env

REDDIT_TESTS = str(Path(__file__).resolve().parent.parent / "reddit_scraper")
if REDDIT_TESTS not in sys.path:
    sys.path.append(REDDIT_TESTS)

from reddit_fake_upstream import FakeReddit, built_about, fixture  # noqa: E402
from reddit_helpers import UA, wait_for  # noqa: E402


def _scraper_settings(env: Env, upstream: FakeReddit) -> ScraperSettings:
    s = ScraperSettings(
        nats_url=env.settings.nats_url,
        b9_namespace=env.settings.b9_namespace,
        metrics_port=-1,
        database_url=env.settings.database_url,
        reddit_api_base=upstream.url,
        reddit_user_agent=UA,
        reddit_timeout_seconds=2.0,
        reddit_retry_base_seconds=0.05,
    )
    s.validate()
    return s


async def test_stop_and_start_from_the_api_change_what_the_reddit_scraper_does_within_a_second(
    fresh: Env,
) -> None:
    upstream = FakeReddit()
    await upstream.start()
    top = fixture("subreddit_listing/askreddit_top.json")
    for name in SUBS:  # the dataset's subreddits; the top listing's authors make more calls
        upstream.add_subreddit(name, about=built_about(name), built_about_=True, top=top)
    # 2 requests/s after a 10-request burst: the first cycle (8 tracked subreddits, 34 calls)
    # takes ~12 s, so it is still running when it is stopped.
    r = await fresh.client.put(
        "/api/v1/scrapers/reddit/config",
        json={"requests_per_minute": 120, "batch_size": 1, "interval_seconds": 3600},
    )
    assert r.status_code == 200, r.text
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, _scraper_settings(fresh, upstream), stop=stop, grace=2.0))
    try:
        await wait_for(lambda: len(upstream.api_requests()) >= 5, within=20)

        r = await fresh.client.post("/api/v1/scrapers/reddit/stop")
        off_at = time.monotonic()
        assert r.status_code == 200 and r.json()["enabled"] is False, r.text
        await asyncio.sleep(2.0)
        late = [(x.path, round(x.at - off_at, 2)) for x in upstream.requests if x.at > off_at + 1.0]
        assert late == [], f"requests more than 1 s after stop: {late}"
        stopped = len(upstream.requests)
        await asyncio.sleep(0.5)
        assert len(upstream.requests) == stopped

        r = await fresh.client.post("/api/v1/scrapers/reddit/start")
        on_at = time.monotonic()
        assert r.status_code == 200 and r.json()["enabled"] is True, r.text
        await wait_for(lambda: len(upstream.requests) > stopped, within=5)
        resumed_after = upstream.requests[stopped].at - on_at
        assert resumed_after < 1.0, f"first request {resumed_after:.2f} s after start"
        await wait_for(lambda: len(upstream.requests) >= stopped + 3, within=5)

        # The scraper reports the state it runs in, and the gateway shows it.
        async def reports_enabled() -> bool:
            body = (await fresh.client.get("/api/v1/scrapers/reddit")).json()
            return any((rep.get("detail") or {}).get("enabled") is True for rep in body["replicas"])

        await wait_for(reports_enabled, within=15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await upstream.stop()
    assert {x.user_agent for x in upstream.requests} == {UA}
