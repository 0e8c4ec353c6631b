"""The service end to end on real NATS JetStream and a local provider server."""

from __future__ import annotations

import asyncio

import ig_fixtures as fx
import msgspec
import pytest
from b9_common.events import InstagramScrapeRequested
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from b9_instagram_scraper.directory import StaticDirectory, TrackedCreator
from ig_service import events, heartbeat, running, settings_for, wait_events
from ig_upstream import FakeProvider


async def test_manual_add_through_a_command(
    rt: Runtime, common_settings: CommonSettings, upstream: FakeProvider
) -> None:
    async with running(settings_for(common_settings, upstream)):
        await rt.publisher.publish(
            InstagramScrapeRequested(kind="creator", username="@Alice", niche="fitness")
        )
        [env] = await wait_events(rt, "creator.scraped", 1)
        c = env.data
        assert (c.username, c.ig_user_id, c.availability) == ("alice", fx.ALICE_ID, "ok")
        assert c.requested and c.requested_niche == "fitness" and c.discovery_source == "manual"
        assert (len(c.reels), len(c.posts), c.api_calls) == (7, 7, 1 + 3 + 3)
        assert all(r.video_url and r.thumbnail_url for r in c.reels)
        assert c.analytics.avg_reel_views == 20_000 and c.analytics.viral_content_count == 2
        assert c.external_url_type == "linktree" and c.followers_count == fx.ALICE_FOLLOWERS
        [att] = await wait_events(rt, "scrape.attempted", 1)
        assert (att.data.outcome, att.data.calls, att.data.target_kind) == ("success", 7, "creator")
        assert att.data.cost_usd == pytest.approx(7 * 0.0003) and att.data.replica == "r1"

        # Again: a known creator gets the smaller fetch, and the growth sees the first sample.
        fx_profile = upstream.creators["alice"]["profile"]
        fx_profile["edge_followed_by"]["count"] = 101_000
        await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="alice"))
        second = await wait_events(rt, "creator.scraped", 2)
        c2 = second[-1].data
        assert c2.followers_count == 101_000 and c2.growth.previous_followers_count == 100_000
        assert c2.requested_niche is None
        assert (len(c2.reels), len(c2.posts)) == (7, 7)  # alice has only 7 + 7

        # A new creator gets 90 reels + 30 posts, then 30 + 10 on the next scrape.
        for _ in range(2):
            await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="carol"))
        carol = [
            e.data
            for e in await wait_events(rt, "creator.scraped", 4)
            if e.data.username == "carol"
        ]
        assert [(len(x.reels), len(x.posts)) for x in carol] == [(90, 30), (30, 10)]
        # pages of 3 here: 1 + 30 + 10 calls, then 1 + 10 + 4
        assert [x.api_calls for x in carol] == [41, 15]

        # Missing and private creators: an answer, not an error.
        await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="nobody"))
        await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="pia"))
        outcomes = {
            e.data.target: e.data.outcome for e in await wait_events(rt, "scrape.attempted", 6)
        }
        assert outcomes["nobody"] == "not_found" and outcomes["pia"] == "private"
        scraped = await wait_events(rt, "creator.scraped", 5)
        pia = next(e.data for e in scraped if e.data.username == "pia")
        assert pia.availability == "private" and pia.reels == [] and pia.api_calls == 1
        beat = await heartbeat(rt, "r1")
        assert beat["status"] != "not_configured" and beat["detail"]["configured"] is True


async def test_without_key_reports_not_configured_and_publishes_nothing(
    rt: Runtime, common_settings: CommonSettings
) -> None:
    async with running(settings_for(common_settings, None, key="")):
        beat = await heartbeat(rt, "r1")
        assert beat["status"] == "not_configured" and beat["detail"]["configured"] is False
        await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="alice"))
        [att] = await wait_events(rt, "scrape.attempted", 1)
        assert att.data.outcome == "not_configured" and att.data.calls == 0
        await asyncio.sleep(1.0)  # the service keeps running (asserted on exit), idle
        info = await rt.js.stream_info(rt.topology.stream("SCRAPE"))
        assert info.state.messages == 1  # only the answer to the command


async def test_related_discovery_adds_only_new_creators(
    rt: Runtime, common_settings: CommonSettings, upstream: FakeProvider
) -> None:
    upstream.related["alice"] = ["bob", "carol", "ghost", "pia", "alice"]
    directory = StaticDirectory(
        approved=[TrackedCreator(fx.ALICE_ID, "alice", "fitness")],
        known={"bob"},  # stored under this username
        known_ids={"5550004"},  # pia is stored under an older username
    )
    async with running(settings_for(common_settings, upstream), directory):
        await rt.publisher.publish(InstagramScrapeRequested(kind="related", batch_size=5))
        [done] = await wait_events(rt, "creator.related_processed", 1)
        assert (done.data.ig_user_id, done.data.found, done.data.new) == (fx.ALICE_ID, 4, 1)
        found = await events(rt, "creator.discovered")
        assert [(e.data.username, e.data.ig_user_id, e.data.via_username) for e in found] == [
            ("carol", "5550003", "alice")
        ]
        related = lambda e: e.data.target_kind == "related"  # noqa: E731 (the cycle scrapes alice too)
        [att] = await wait_events(rt, "scrape.attempted", 1, where=related)
        # related + profiles of carol, ghost (404) and pia; bob and alice cost nothing
        assert (att.data.target_kind, att.data.outcome, att.data.calls) == ("related", "success", 4)

        # The source is processed now: a second run publishes nothing new.
        await rt.publisher.publish(InstagramScrapeRequested(kind="related", batch_size=5))
        # and a run for a named creator skips carol, known from the first run
        upstream.related["bob"] = ["carol", "alice"]
        await rt.publisher.publish(InstagramScrapeRequested(kind="related", username="bob"))
        done2 = await wait_events(rt, "creator.related_processed", 2)
        assert (done2[-1].data.username, done2[-1].data.new) == ("bob", 0)
        assert len(await events(rt, "creator.discovered")) == 1
        assert len([e for e in await events(rt, "scrape.attempted") if related(e)]) == 2


async def test_cycle_is_shared_by_replicas_without_duplicates(
    rt: Runtime, common_settings: CommonSettings, upstream: FakeProvider
) -> None:
    tracked = [
        TrackedCreator(fx.ALICE_ID, "alice"),
        TrackedCreator("5550002", "bob"),
        TrackedCreator("5550003", "carol"),
        TrackedCreator("5550004", "pia"),
    ]
    directory = StaticDirectory(approved=tracked)
    async with (
        running(settings_for(common_settings, upstream, "r1"), directory),
        running(settings_for(common_settings, upstream, "r2"), directory),
    ):
        got = await wait_events(rt, "creator.scraped", 4)
        await asyncio.sleep(1.5)  # more passes run meanwhile (idle 0.5 s): nothing is due again
        got = await events(rt, "creator.scraped")
        assert sorted(e.data.username for e in got) == ["alice", "bob", "carol", "pia"]
        assert all(not e.data.requested for e in got)
        carol = next(e.data for e in got if e.data.username == "carol")
        assert (len(carol.reels), len(carol.posts)) == (90, 30)  # a new creator: the full fetch
        attempts = await events(rt, "scrape.attempted")
        assert len(attempts) == 4 and {a.data.cycle for a in attempts} <= {1, 2, 3, 4}
        assert upstream.calls("/profile") == 4


async def test_control_applies_at_once(
    rt: Runtime, common_settings: CommonSettings, upstream: FakeProvider
) -> None:
    kv = await rt.topology.control_kv(rt.js)
    await kv.put("scraper.instagram", msgspec.json.encode({"enabled": False}))
    directory = StaticDirectory(approved=[TrackedCreator(fx.ALICE_ID, "alice")])
    async with running(settings_for(common_settings, upstream), directory):
        beat = await heartbeat(rt, "r1")
        assert beat["status"] == "disabled"
        await asyncio.sleep(1.0)
        assert upstream.calls() == 0 and await events(rt, "creator.scraped") == []
        await kv.put(
            "scraper.instagram",
            msgspec.json.encode(
                {"enabled": True, "viral_multiplier": 5.0001, "cost_per_request": 0.001}
            ),
        )
        [env] = await wait_events(rt, "creator.scraped", 1)
        a = env.data.analytics
        assert (
            a.viral_multiplier == 5.0001 and a.viral_content_count == 0
        )  # just above 5x: not viral
        [att] = await wait_events(rt, "scrape.attempted", 1)
        assert att.data.cost_usd == pytest.approx(att.data.calls * 0.001)
