"""Control KV applies at once (disable stops requests within a second); replicas share a cycle."""

from __future__ import annotations

import asyncio
import time

import msgspec
from b9_common.service import Runtime
from b9_reddit_scraper.main import STATE_BUCKET
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from reddit_fake_upstream import FakeReddit, built_about, fixture
from reddit_helpers import UA, events, put_control, running, wait_for

TOP = fixture("subreddit_listing/askreddit_top.json")


def _subs(upstream: FakeReddit, n: int) -> StaticTracked:
    names = [f"sub{i:02d}" for i in range(n)]
    for name in names:  # built: the real redditdev about renamed, the real askreddit top
        upstream.add_subreddit(name, about=built_about(name), built_about_=True, top=TOP)
    return StaticTracked([Tracked(n, "metadata") for n in names])


async def _successes(rt: Runtime) -> set[str]:
    return {a.target for a in await events(rt, "scrape.attempted") if a.outcome == "success"}


async def test_disable_stops_requests_within_a_second_and_enable_resumes(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    tracked = _subs(upstream, 30)  # 90 requests; at 600/min they take several seconds
    async with running(make_settings(), tracked, rt=rt, requests_per_minute=600, batch_size=2,
                       interval_seconds=3600):
        await wait_for(lambda: len(upstream.requests) >= 6)
        await put_control(rt, enabled=False, requests_per_minute=600, batch_size=2,
                          interval_seconds=3600)
        off_at = time.monotonic()
        await asyncio.sleep(2.0)
        late = [r for r in upstream.requests if r.at > off_at + 1.0]
        assert late == []
        count_off = len(upstream.requests)
        assert count_off < 90
        done_off = len(await _successes(rt))
        await put_control(rt, enabled=True, requests_per_minute=600, batch_size=2,
                          interval_seconds=3600)
        await wait_for(lambda: len(upstream.requests) >= count_off + 6, within=5)
        await wait_for(lambda: _all_done(rt, done_off + 2), within=10)
    assert {r.user_agent for r in upstream.requests} == {UA}


async def _all_done(rt: Runtime, n: int) -> bool:
    return len(await _successes(rt)) >= n


async def test_two_replicas_split_a_cycle_without_fetching_twice(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    tracked = _subs(upstream, 20)
    ctl = {"requests_per_minute": 1200, "batch_size": 2, "interval_seconds": 3600}
    await put_control(rt, enabled=False, **ctl)
    async with running(make_settings(replica_id="a"), tracked), \
            running(make_settings(replica_id="b"), tracked):
        await put_control(rt, enabled=True, **ctl)
        await wait_for(lambda: _all_done(rt, 20), within=40)
        kv = await rt.js.key_value(rt.topology.bucket(STATE_BUCKET))
        await wait_for(lambda: _cycle_number(kv, 2))
    for t in tracked.items:
        assert upstream.count(f"r/{t.name}/about") == 1, t.name
        assert upstream.count(f"r/{t.name}/top") == 1, t.name
    attempts = await events(rt, "scrape.attempted")
    assert len(attempts) == 20
    by_replica = {r: sum(a.replica == r for a in attempts) for r in ("a", "b")}
    assert by_replica["a"] > 0 and by_replica["b"] > 0 and sum(by_replica.values()) == 20
    assert all(a.cycle == 1 for a in attempts)


async def _cycle_number(kv, n: int) -> bool:
    entry = await kv.get("cycle")
    return msgspec.json.decode(entry.value)["number"] == n


async def test_commands_are_served_ahead_of_the_cycle(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    from b9_common.events import RedditScrapeRequested

    tracked = _subs(upstream, 40)
    upstream.add_subreddit("urgent", about=built_about("urgent"), top=TOP)  # built about
    async with running(make_settings(), tracked, rt=rt, requests_per_minute=600, batch_size=2,
                       interval_seconds=3600):
        await wait_for(lambda: len(upstream.requests) >= 55)  # past the token bucket's burst
        await rt.publisher.publish(RedditScrapeRequested(kind="subreddit", name="urgent"))
        await wait_for(lambda: _attempted(rt, "urgent"), within=20)
    reqs = upstream.requests
    mine = [i for i, r in enumerate(reqs) if r.path.startswith(("r/urgent", "user/"))]
    # 3 calls for the subreddit + 1 per top author (their profiles 404: no route)
    assert len(mine) == 3 + 10
    between = [r for r in reqs[mine[0]:mine[-1]] if r.path.startswith("r/sub")]
    # only requests the cycle had already scheduled may slip in (batch 2 x a pending call)
    assert len(between) <= 4, [r.path for r in between]


async def _attempted(rt: Runtime, target: str) -> bool:
    return any(a.target == target for a in await events(rt, "scrape.attempted"))
