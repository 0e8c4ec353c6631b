"""Unit tests: settings, header pacing, OAuth tokens, parsing odd shapes, tracked-list query."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from b9_common.events.control import RedditControl
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.ratelimit import Budget
from b9_common.settings import ConfigError, load_settings
from b9_reddit_scraper.client import RedditClient, Tally
from b9_reddit_scraper.parse import parse_about, parse_posts, parse_user
from b9_reddit_scraper.ratelimit import HeaderPacer
from b9_reddit_scraper.settings import Settings
from b9_reddit_scraper.tracked import PgTracked, Tracked
from reddit_fake_upstream import FakeReddit, built_about, fixture, fixture_json
from reddit_helpers import UA


@pytest.mark.parametrize(
    "ua", ["", "   ", "python-requests/2.25.1", "aiohttp/3.9.1", "curl/8.1", "bot"])
def test_user_agent_must_be_descriptive(ua: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(Settings, {"REDDIT_USER_AGENT": ua})
    assert err.value.variable == "REDDIT_USER_AGENT" and "\n" not in str(err.value)


def test_base_url_follows_credentials() -> None:
    public = load_settings(Settings, {"REDDIT_USER_AGENT": UA})
    assert (public.api_base, public.oauth) == ("https://www.reddit.com", False)
    oauth = load_settings(Settings, {"REDDIT_USER_AGENT": UA, "REDDIT_CLIENT_ID": "id",
                                     "REDDIT_CLIENT_SECRET": "s"})
    assert (oauth.api_base, oauth.token_url) == (
        "https://oauth.reddit.com", "https://www.reddit.com/api/v1/access_token")
    with pytest.raises(ConfigError, match="REDDIT_CLIENT_SECRET"):
        load_settings(Settings, {"REDDIT_USER_AGENT": UA, "REDDIT_CLIENT_ID": "id"})


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_pacer_spreads_remaining_budget_over_the_window() -> None:
    clock = Clock()
    p = HeaderPacer(clock)
    # a real 2025 header set: 996 left, 4 used, 342 s to reset
    p.update({"x-ratelimit-remaining": "996.0", "x-ratelimit-used": "4",
              "x-ratelimit-reset": "342"})
    assert p.interval == pytest.approx(342 / 996)
    clock.t += 242
    p.in_flight = 3  # requests already on their way count against what is left
    p.update({"x-ratelimit-remaining": "10.0", "x-ratelimit-used": "990",
              "x-ratelimit-reset": "100"})
    assert p.interval == pytest.approx(100 / 7)


def test_pacer_waits_past_the_window_when_spent() -> None:
    clock = Clock()
    p = HeaderPacer(clock)
    p.update({"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "600", "x-ratelimit-reset": "4"})
    assert p.blocked_until == pytest.approx(1004.25)
    clock.t += 1.5  # a later response of the same window narrows the (floored) end upward
    p.update({"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "600", "x-ratelimit-reset": "3"})
    assert p.blocked_until == pytest.approx(1004.75)


async def test_pacer_sleep_is_cut_short_by_disable() -> None:
    control = ControlWatch(RedditControl())
    p = HeaderPacer()
    p.block(30)
    task = asyncio.create_task(p.reserve(control))
    await asyncio.sleep(0.05)
    control.apply(control.config.__class__(enabled=False))
    with pytest.raises(ScraperDisabled):
        await asyncio.wait_for(task, 1.0)
    assert p.in_flight == 0


async def test_oauth_token_is_fetched_sent_and_refreshed_before_expiry() -> None:
    fake = FakeReddit(token_ttl=0.5)  # refreshed when a tenth of its life is left
    fake.add("r/redditdev/about", fixture("subreddit_about/redditdev.json"))
    await fake.start()
    settings = Settings(reddit_api_base=fake.url, reddit_user_agent=UA, reddit_client_id="cid",
                        reddit_client_secret="secret")
    control = ControlWatch(RedditControl())
    async with aiohttp.ClientSession() as session:
        budget = Budget(lambda: 100 / 60, control=control, stop_when_disabled=True)
        client = RedditClient(session, settings, control, HeaderPacer(), budget)
        tally = Tally()
        r1 = await client.get("r/redditdev/about", tally=tally)
        r2 = await client.get("r/redditdev/about", tally=tally)   # same token
        await asyncio.sleep(0.46)                                   # 0.04 s before expiry
        r3 = await client.get("r/redditdev/about", tally=tally)
    await fake.stop()
    assert r1.ok and r2.ok and r3.ok and r1.data["data"]["display_name"] == "redditdev"
    assert fake.tokens == ["tok-1", "tok-2"] and tally.calls == 5
    assert fake.token_auth[0] == aiohttp.encode_basic_auth("cid", "secret")
    api = fake.api_requests()
    assert [r.authorization for r in api] == ["bearer tok-1", "bearer tok-1", "bearer tok-2"]
    assert all(r.path == "r/redditdev/about" for r in api)  # oauth paths carry no .json
    assert {r.user_agent for r in fake.requests} == {UA}


def test_parsers_tolerate_odd_shapes() -> None:
    assert parse_about("x", {"kind": "Listing", "data": {}}) is None
    assert parse_about("x", ["not", "a", "dict"]) is None
    assert parse_posts({"kind": "Listing", "data": {"children": "oops"}}) == []
    assert parse_posts({"data": {"children": [{"kind": "t3", "data": {"id": "a"}}]}}) == []
    suspended = parse_user("x", {"kind": "t2", "data": {"name": "x", "is_suspended": True}})
    assert suspended is not None and suspended.availability == "suspended"
    # the real mixed overview (t1 comments + t3 posts): only the 10 posts are taken
    assert len(parse_posts(fixture_json("user_listing/spez_overview_new.json"))) == 10
    sub = parse_about("AskReddit", fixture_json("subreddit_about/RedditorCum.json"))
    assert sub is not None and sub.over18 is True
    assert parse_about("q", __import__("json").loads(built_about("q", quarantine=True))).quarantine


async def test_tracked_list_query_on_the_real_schema(pool) -> None:
    await pool.execute("""
        INSERT INTO subreddits (name, review, fact_at) VALUES
        ('fresh_ok', 'Ok', now()), ('stale_ok', 'Ok', now() - interval '2 days'),
        ('never_ok', 'Ok', NULL), ('noseller', 'No Seller', now() - interval '9 days'),
        ('ignored', 'Non Related', NULL), ('feed', 'User Feed', NULL), ('unreviewed', NULL, NULL)
    """)
    src = PgTracked(pool)
    assert await src.tracked(100) == [
        Tracked("never_ok", "full"), Tracked("stale_ok", "full"), Tracked("fresh_ok", "full"),
        Tracked("noseller", "metadata")]
    assert await src.tracked(2) == [Tracked("never_ok", "full"), Tracked("stale_ok", "full")]
    assert await src.known() == {"fresh_ok", "stale_ok", "never_ok", "noseller", "ignored", "feed",
                                 "unreviewed"}
