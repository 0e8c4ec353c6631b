"""A subreddit refresh against the real fixtures: 3 calls, hand-checked metrics, outcomes."""

from __future__ import annotations

from b9_common.events import RedditScrapeRequested
from b9_common.service import Runtime
from b9_reddit_scraper.formulas import SCORE_FORMULA, subreddit_metrics
from b9_reddit_scraper.parse import parse_posts
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from reddit_fake_upstream import FakeReddit, built_about, built_error, fixture, fixture_json
from reddit_helpers import UA, events, running, wait_for

ASKREDDIT_TOP = "subreddit_listing/askreddit_top.json"  # real: r/askreddit/top?t=all&limit=100

# Hand-checked from the first 10 children of askreddit_top.json:
#   scores   221860 191327 186367 175336 160304 150799 144656 141613 139492 138844 -> Σ 1,650,598
#   comments   8079  13399   2842  28666   6847  11274  26409  15214  21292  13997 -> Σ   148,019
#   avg = 1,650,598 / 10 = 165,059.8 ; engagement = 148,019 / 1,650,598 = 0.089676
#   score = sqrt(0.0896760 × 165,059.8 × 1000) = sqrt(14,802,002) = 3847.32
EXPECTED = {"posts_sampled": 10, "avg_upvotes_per_post": 165059.8, "engagement": 0.089676,
            "subreddit_score": 3847.32}


def test_metrics_formula_on_real_listing() -> None:
    posts = parse_posts(fixture_json(ASKREDDIT_TOP))[:10]
    m = subreddit_metrics(posts)
    assert {k: getattr(m, k) for k in EXPECTED} == EXPECTED
    assert m.formula == SCORE_FORMULA
    assert subreddit_metrics([]).subreddit_score == 0.0


async def test_cycle_refreshes_with_three_calls_and_real_metrics(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    # built: no recorded about for AskReddit, so the real r/redditdev about is renamed
    upstream.add_subreddit("AskReddit", about=built_about("AskReddit"), built_about_=True,
                           top=fixture(ASKREDDIT_TOP))
    tracked = StaticTracked([Tracked("AskReddit", "metadata")])
    async with running(make_settings(), tracked, rt=rt):
        await wait_for(lambda: upstream.count("r/askreddit/top") >= 1)
        await wait_for(lambda: _has(rt, "scrape.attempted"))
    [sub] = await events(rt, "subreddit.fetched")
    assert sub.name == "AskReddit" and sub.availability == "ok"
    assert {k: getattr(sub.metrics, k) for k in EXPECTED} == EXPECTED
    assert sub.subscribers == fixture_json("subreddit_about/redditdev.json")["data"]["subscribers"]
    assert [r.short_name for r in sub.rules] == [
        r["short_name"] for r in fixture_json("other/subreddit_rules_TEST_SUBREDDIT.json")["rules"]]
    [posts] = await events(rt, "posts.fetched")
    assert posts.listing == "subreddit_top_week" and len(posts.posts) == 10
    [att] = await events(rt, "scrape.attempted")
    assert (att.outcome, att.calls, att.target_kind, att.cycle) == ("success", 3, "subreddit", 1)
    top = [r for r in upstream.requests if r.path == "r/askreddit/top"]
    assert top[0].query == {"raw_json": "1", "t": "week", "limit": "10"}
    assert len(upstream.api_requests()) == 3
    assert {r.user_agent for r in upstream.requests} == {UA}


async def _has(rt: Runtime, type_: str) -> bool:
    return bool(await events(rt, type_))


async def test_unavailable_subreddits_have_clear_outcomes(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    upstream.add("r/secretclub/about", built_error(403, "private"), 403, built=True)
    quarantined = fixture("errors/403_quarantined_subreddit.json")  # real
    upstream.add("r/tiananmenaquarefalse/about", quarantined, 403)
    upstream.add("r/bannedsub/about", built_error(404, "banned"), 404, built=True)
    # r/nosuchsub: no route -> the real 404 body {"message": "Not Found", "error": 404}
    names = ["secretclub", "tiananmenaquarefalse", "bannedsub", "nosuchsub"]
    async with running(make_settings(), rt=rt):
        for n in names:
            await rt.publisher.publish(RedditScrapeRequested(kind="subreddit", name=n))
        await wait_for(lambda: _count(rt, "scrape.attempted", 4))
    outcomes = {a.target: (a.outcome, a.calls) for a in await events(rt, "scrape.attempted")}
    assert outcomes == {"secretclub": ("private", 1), "tiananmenaquarefalse": ("quarantined", 1),
                        "bannedsub": ("banned", 1), "nosuchsub": ("not_found", 1)}
    avail = {s.name: (s.availability, s.requested) for s in await events(rt, "subreddit.fetched")}
    assert avail == {"secretclub": ("private", True), "tiananmenaquarefalse": ("quarantined", True),
                     "bannedsub": ("banned", True), "nosuchsub": ("not_found", True)}
    assert {r.user_agent for r in upstream.requests} == {UA}


async def _count(rt: Runtime, type_: str, n: int) -> bool:
    return len(await events(rt, type_)) >= n
