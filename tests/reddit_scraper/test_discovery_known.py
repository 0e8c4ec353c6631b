"""Subreddits a person asked for are not discovered (#20.2): a command still queued in COMMANDS
counts as known, and a command being run takes the discovery claim every replica checks.
A post seen in the top listing and in its author's submissions counts once in best hour/day."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from b9_common.events import RedditPost, RedditScrapeRequested
from b9_common.events.control import RedditControl
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget
from b9_common.service import Runtime
from b9_reddit_scraper import formulas
from b9_reddit_scraper import main as svc
from b9_reddit_scraper.client import RedditClient
from b9_reddit_scraper.cycle import CycleRunner
from b9_reddit_scraper.pending import PendingCommands
from b9_reddit_scraper.ratelimit import HeaderPacer
from b9_reddit_scraper.scraper import Scraper
from b9_reddit_scraper.settings import Settings
from b9_reddit_scraper.tracked import StaticTracked
from reddit_fake_upstream import FakeReddit
from reddit_helpers import events
from test_discovery import EXPECTED_DISCOVERED, KNOWN, _serve


def _post(rid: str, hour: int, score: int) -> RedditPost:
    return RedditPost(reddit_id=rid, subreddit="s", title="t", score=score, posting_hour=hour,
                      posting_day_of_week=hour % 7,
                      created_utc=datetime(2025, 1, 6, hour, tzinfo=UTC))


def test_a_post_in_top_and_in_its_authors_submissions_counts_once() -> None:
    top = [_post("p", 3, 100), _post("r", 3, 10), _post("q", 5, 60)]
    own = [_post("p", 3, 100)]  # the same post, from the author's submissions
    # hour 3: (100 + 10) / 2 = 55 < hour 5: 60 (counting p twice would make hour 3 win: 70)
    assert formulas.best_posting_time([*top, *own]) == formulas.best_posting_time(top) == (5, 5)


@pytest.fixture
async def parts(rt: Runtime, upstream: FakeReddit, make_settings: Callable[..., Settings],
                ) -> AsyncIterator[tuple[Settings, RedditClient, CycleRunner]]:
    settings = make_settings()
    control = ControlWatch(RedditControl(requests_per_minute=60_000))
    kv = await svc.state_kv(rt)
    async with aiohttp.ClientSession(headers={"User-Agent": settings.reddit_user_agent}) as session:
        client = RedditClient(session, settings, control, HeaderPacer(),
                              Budget(lambda: 1000.0, control=control, kv=kv, stop_when_disabled=True),
                              CommandsFirst())
        scraper = Scraper(client, rt.publisher, StaticTracked([], known=KNOWN), settings)
        yield settings, client, CycleRunner(scraper, scraper.tracked, control, kv, replica="r1")


async def test_a_queued_command_is_not_discovered_nor_fetched_again(
        rt: Runtime, upstream: FakeReddit, parts: tuple[Settings, RedditClient, CycleRunner]) -> None:
    settings, client, cycle = parts
    _serve(upstream)
    # a person asked for two of the names AskReddit's authors post in; nobody runs it yet
    for name in ("Blog", "announcements"):
        await rt.publisher.publish(RedditScrapeRequested(kind="subreddit", name=name))
    pending = PendingCommands(rt.js, rt.topology)
    assert await pending.names() == {"blog", "announcements"}
    scraper = Scraper(client, rt.publisher, StaticTracked([], known=KNOWN), settings,
                      pending=pending.names)
    report = await scraper.refresh_subreddit("AskReddit", "full", claim=cycle.claim_discovered)
    assert report.outcome == "success"
    discovered = {d.name for d in await events(rt, "subreddit.discovered")}
    assert discovered == EXPECTED_DISCOVERED - {"blog", "announcements"}
    assert set(report.discovered) == discovered
    # not fetched for discovery: the command will fetch them (fully), once
    assert upstream.count("r/blog/about") == upstream.count("r/announcements/about") == 0


async def test_a_command_in_flight_takes_the_claim_other_replicas_check(
        rt: Runtime, upstream: FakeReddit, parts: tuple[Settings, RedditClient, CycleRunner]) -> None:
    settings, client, cycle = parts
    _serve(upstream)
    await cycle.mark_requested("Announcements")  # replica r1's command handler, running
    other = Scraper(client, rt.publisher, StaticTracked([], known=KNOWN), settings,
                    pending=PendingCommands(rt.js, rt.topology).names)
    other_cycle = CycleRunner(other, other.tracked, cycle.control, cycle.kv, replica="r2")
    await other.refresh_subreddit("AskReddit", "full", claim=other_cycle.claim_discovered)
    discovered = {d.name for d in await events(rt, "subreddit.discovered")}
    assert discovered == EXPECTED_DISCOVERED - {"announcements"}
    assert upstream.count("r/announcements/about") == 0
    # a second replica refreshing the same subreddit discovers nothing again
    third = Scraper(client, rt.publisher, StaticTracked([], known=KNOWN), settings)
    rep = await third.refresh_subreddit("AskReddit", "full", claim=cycle.claim_discovered)
    assert rep.discovered == []
    assert len(await events(rt, "subreddit.discovered")) == len(discovered)


async def test_the_command_handler_takes_the_claim(
        rt: Runtime, upstream: FakeReddit, make_settings: Callable[..., Settings]) -> None:
    from reddit_helpers import running, wait_for

    _serve(upstream)
    kv = await svc.state_kv(rt)
    async with running(make_settings(), StaticTracked([], known=KNOWN), rt=rt):
        await rt.publisher.publish(RedditScrapeRequested(kind="subreddit", name="Announcements"))

        async def attempted() -> bool:
            return any(a.target == "announcements" for a in await events(rt, "scrape.attempted"))

        await wait_for(attempted, within=20)
    entry = await kv.get("d.announcements")
    assert entry.value == b"requested"


async def test_an_attempt_cut_short_by_a_disable_reports_its_calls(
        rt: Runtime, upstream: FakeReddit, make_settings: Callable[..., Settings]) -> None:
    """Every request the upstream saw is in some attempt's ``calls`` (#20.14, storm undercount)."""
    from b9_reddit_scraper.tracked import Tracked
    from reddit_fake_upstream import built_about, fixture
    from reddit_helpers import put_control, running, wait_for

    upstream.add_subreddit("slowsub", about=built_about("slowsub"), built_about_=True,
                           top=fixture("subreddit_listing/askreddit_top.json"))
    upstream.faults.append(("delay", 1.0))  # the about answer takes a second
    tracked = StaticTracked([Tracked("slowsub", "metadata")])
    async with running(make_settings(), tracked, rt=rt, interval_seconds=3600):
        await wait_for(lambda: len(upstream.api_requests()) == 1, within=10, step=0.02)
        await put_control(rt, enabled=False)  # while the about request is out

        async def reported() -> list[Any]:
            return await events(rt, "scrape.attempted")

        await wait_for(reported, within=10)
    (attempt,) = await events(rt, "scrape.attempted")
    assert (attempt.target, attempt.outcome, attempt.calls) == ("slowsub", "failed", 1)
    assert attempt.error is not None and "interrupted" in attempt.error
    assert len(upstream.api_requests()) == 1
    assert await events(rt, "subreddit.fetched") == []  # nothing read, no fact
