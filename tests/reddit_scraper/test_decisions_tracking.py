"""A person's review decides what the scraper tracks: approved -> fetched in full within one
cycle; set to Non Related -> no longer fetched (real NATS, PostgreSQL, persistence, loopback Reddit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from b9_common.events import Actor, SubredditFetched, SubredditReviewed
from b9_common.service import Runtime, serve
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from reddit_fake_upstream import FakeReddit, built_about, fixture
from reddit_helpers import running, wait_for

TOP = "subreddit_listing/askreddit_top.json"
ANNA = Actor(id="acc-anna", name="anna", role="reviewer", channel="dashboard")


@contextlib.asynccontextmanager
async def persistence(rt: Runtime, nats_url: str, database_url: str) -> AsyncIterator[None]:
    settings = PSettings(nats_url=nats_url, b9_namespace=rt.topology.namespace, metrics_port=-1,
                         database_url=database_url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(PERSISTENCE, settings, stop=stop, grace=5))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _review(rt: Runtime, pool: asyncpg.Pool, name: str, review: str) -> None:
    await rt.publisher.publish(SubredditReviewed(name=name, review=review, actor=ANNA))  # type: ignore[arg-type]
    await wait_for(lambda: pool.fetchval("SELECT review = $2 FROM subreddits WHERE name = $1", name, review))


async def test_approved_is_fetched_in_full_and_non_related_is_dropped(
        rt: Runtime, upstream: FakeReddit, make_settings, nats_url: str, database_url: str,
        pool: asyncpg.Pool) -> None:
    for name in ("FitSub", "Marker"):
        upstream.add_subreddit(name, about=built_about(name), built_about_=True, top=fixture(TOP))
    async with persistence(rt, nats_url, database_url):
        for name in ("FitSub", "Marker"):  # known, not reviewed: not tracked
            await rt.publisher.publish(SubredditFetched(name=name, availability="ok"))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM subreddits"))
        await _review(rt, pool, "Marker", "No Seller")  # tracked, metadata only: marks the cycles
        settings = make_settings(database_url=database_url)
        async with running(settings, rt=rt, interval_seconds=0.5, batch_size=10):
            await wait_for(lambda: upstream.count("r/marker/about") >= 1)
            assert upstream.count("r/fitsub/about") == 0 and upstream.count("r/fitsub/top") == 0
            await _review(rt, pool, "FitSub", "Ok")
            start = upstream.count("r/marker/about")
            # within one cycle after the decision: about, rules and top posts of FitSub
            await wait_for(lambda: upstream.count("r/fitsub/top") >= 1 and upstream.count("r/fitsub/about/rules") >= 1)
            assert upstream.count("r/marker/about") <= start + 2
            await _review(rt, pool, "FitSub", "Non Related")
            seen = upstream.count("r/fitsub/about")
            mark = upstream.count("r/marker/about")
            await wait_for(lambda: upstream.count("r/marker/about") >= mark + 2)  # two more cycles ran
            assert upstream.count("r/fitsub/about") <= seen + 1  # at most one cycle already under way
            settled = upstream.count("r/fitsub/about")
            mark = upstream.count("r/marker/about")
            await wait_for(lambda: upstream.count("r/marker/about") >= mark + 2)
            assert upstream.count("r/fitsub/about") == settled
