"""429 storms, 5xx bursts, timeouts and malformed JSON never crash; pacing keeps the budget."""

from __future__ import annotations

from b9_common.service import Runtime
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from reddit_fake_upstream import FakeReddit, built_about, fixture
from reddit_helpers import UA, events, running, wait_for

TOP = fixture("subreddit_listing/askreddit_top.json")


def _subs(upstream: FakeReddit, n: int) -> StaticTracked:
    names = [f"sub{i:02d}" for i in range(n)]
    for name in names:  # built: the real redditdev about renamed, the real askreddit top
        upstream.add_subreddit(name, about=built_about(name), built_about_=True, top=TOP)
    return StaticTracked([Tracked(n, "metadata") for n in names])


async def test_faults_never_crash_and_pacing_stays_within_budget(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    upstream.budget, upstream.window = 12, 2.0   # advertised: 12 requests per 2 s window
    tracked = _subs(upstream, 10)
    upstream.faults.extend([
        ("status", 503), ("status", 502), ("status", 500),     # a 5xx burst
        ("429", 1), ("429", 1), ("429", 1),                    # a 429 storm (recorded HTML body)
        ("delay", 3.0),                                        # longer than the 2 s timeout
        ("malformed", None), ("status", 504),
    ])
    settings = make_settings(reddit_max_attempts=3)
    async with running(settings, tracked, rt=rt, batch_size=3, interval_seconds=3600):
        await wait_for(lambda: _attempts(rt, 10), within=40)
    attempts = await events(rt, "scrape.attempted")
    assert sorted(a.target for a in attempts) == [t.name for t in tracked.items]
    assert all(a.outcome in ("success", "failed", "rate_limited") for a in attempts)
    assert sum(a.outcome == "success" for a in attempts) >= 8
    assert sum(a.calls for a in attempts) == len(upstream.api_requests())
    # the pacer never needed the upstream to say no: zero 429s from the budget itself
    assert upstream.over_budget == 0
    assert {r.user_agent for r in upstream.requests} == {UA}


async def _attempts(rt: Runtime, n: int) -> bool:
    return len(await events(rt, "scrape.attempted")) >= n


async def test_exhausted_attempts_report_failed_and_service_keeps_going(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    tracked = _subs(upstream, 2)
    upstream.faults.extend([("status", 503)] * 3)   # all 3 attempts of sub00's about fail
    async with running(make_settings(), tracked, rt=rt, batch_size=1, interval_seconds=3600):
        await wait_for(lambda: _attempts(rt, 2))
    by = {a.target: a for a in await events(rt, "scrape.attempted")}
    assert (by["sub00"].outcome, by["sub00"].calls) == ("failed", 3)
    assert "503" in (by["sub00"].error or "")
    assert (by["sub01"].outcome, by["sub01"].calls) == ("success", 3)


async def test_rate_limited_outcome_after_a_long_storm(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    tracked = _subs(upstream, 1)
    upstream.faults.extend([("429", 0)] * 10)
    async with running(make_settings(reddit_max_attempts=2), tracked, rt=rt,
                       interval_seconds=3600):
        await wait_for(lambda: _attempts(rt, 1))
    [a] = await events(rt, "scrape.attempted")
    assert a.outcome == "rate_limited" and a.calls == 3  # 2 attempts + 1 tolerated 429
