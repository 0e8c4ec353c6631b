"""The Reddit budget is shared by every replica (#20.15): two scraper replicas against one
loopback upstream, with a real low budget (240 requests/min, a 5 s burst), stay within it
together -- not each on its own."""

from __future__ import annotations

from b9_common.scraping.ratelimit import Budget
from b9_common.service import Runtime
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from reddit_fake_upstream import FakeReddit, built_about, fixture
from reddit_helpers import events, running, wait_for

TOP = fixture("subreddit_listing/askreddit_top.json")
PER_MINUTE = 240.0
RATE = PER_MINUTE / 60.0
BURST = RATE * Budget(lambda: RATE).burst_seconds  # 20 tokens


async def test_two_replicas_share_one_budget(rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    names = [f"budget{i:02d}" for i in range(14)]  # 42 requests: twice the burst and more
    for name in names:
        upstream.add_subreddit(name, about=built_about(name), built_about_=True, top=TOP)
    tracked = StaticTracked([Tracked(n, "metadata") for n in names])
    ctl = {"requests_per_minute": PER_MINUTE, "batch_size": 4, "interval_seconds": 3600}

    async def all_done() -> bool:
        ok = {a.target for a in await events(rt, "scrape.attempted") if a.outcome == "success"}
        return ok == set(names)

    async with running(make_settings(replica_id="a"), tracked, rt=rt, **ctl), \
            running(make_settings(replica_id="b"), tracked):
        await wait_for(all_done, within=40, step=0.2)
    attempts = await events(rt, "scrape.attempted")
    assert {a.replica for a in attempts} == {"a", "b"}, "both replicas must have worked"
    times = sorted(r.at for r in upstream.api_requests())
    assert len(times) == 3 * len(names)
    # in every stretch of time the two together made at most burst + rate x length requests
    # (+1: a token taken at the very edge); separate budgets would allow twice the burst
    worst = max(j - i + 1 - (BURST + RATE * (times[j] - times[i]))
                for i in range(len(times)) for j in range(i, len(times)))
    assert worst <= 1.0, f"{worst:.1f} requests over the shared budget"
