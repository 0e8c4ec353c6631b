"""An Ok subreddit: authors (about + submitted), requirements, discovery of new subreddits."""

from __future__ import annotations

from datetime import UTC, datetime

from b9_common.events import RedditScrapeRequested
from b9_common.service import Runtime
from b9_reddit_scraper.tracked import StaticTracked
from reddit_fake_upstream import FakeReddit, built_about, built_user, fixture
from reddit_helpers import UA, events, running, wait_for

# The top-10 authors of the real askreddit_top.json, each served the real profile of another
# recorded user (built: only the name is replaced) and a real submitted listing.
AUTHORS = {
    "ShoddySubstance": "spez", "txhorns1330": "Watchful1", "Ka1-": "Kaitaan",
    "-eDgAR-": "MiamiZ", "san69cor": "lissy-bear", "Slade_Sez": "manishapme",
    "Saith_Cassus": "nr4madas", "Redditor_2017": "spladug", "thisisbillgates": "toasties",
    "lauvnoodles": "zeantsoi",
}
SUBMITTED = {
    "ShoddySubstance": "user_listing/spladug_submitted_top_all.json",
    "txhorns1330": "user_listing/USERNAME_placeholder_submitted_new.json",
}  # everyone else: the real empty listing
KNOWN = {"programming", "redditdev"}
# Hand-read from the first 10 posts of the two listings, minus known names, minus the
# cassette placeholder "<TEST_SUBREDDIT>" (not a valid name), case-insensitive duplicates once.
EXPECTED_DISCOVERED = {
    "u_spladug", "blog", "announcements", "Irene", "modnews",              # spladug's
    "JacksonsBday", "Hercsday", "redditrequest", "picsmods", "mildlyinfuriating",
    "DicemazeGoneWild",                                                      # <USERNAME>'s
}


def _serve(upstream: FakeReddit) -> None:
    upstream.add_subreddit("AskReddit", about=built_about("AskReddit"), built_about_=True,
                           top=fixture("subreddit_listing/askreddit_top.json"))
    for author, real in AUTHORS.items():
        upstream.add(f"user/{author}/about", built_user(author, f"user_about/{real}.json"),
                     built=True)
        if author in SUBMITTED:
            upstream.add(f"user/{author}/submitted", fixture(SUBMITTED[author]), listing=True)
    empty = fixture("subreddit_listing/domain_youtube.com_rising_empty.json")
    for real in ("announcements", "redditrequest"):
        upstream.add_subreddit(real, about=fixture(f"subreddit_about/{real}.json"), top=empty)


async def test_ok_subreddit_authors_requirements_and_discovery(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    _serve(upstream)
    tracked = StaticTracked([], known=KNOWN)
    async with running(make_settings(), tracked, rt=rt):
        await rt.publisher.publish(RedditScrapeRequested(kind="subreddit", name="AskReddit"))
        await wait_for(lambda: _attempt_for(rt, "AskReddit"), within=30)
    fetched = {s.name: s for s in await events(rt, "subreddit.fetched")}
    sub = fetched["AskReddit"]
    req = sub.requirements
    assert req is not None and req.authors_sampled == 10
    # link karma of the 10 served profiles, sorted: 56 89 424 439 595 1806 13792 15511 50781
    # 138874 -> index int(10 × 0.1) = 1 -> 89; comment karma: 327 397 800 ... -> 397
    assert (req.min_post_karma, req.min_comment_karma) == (89, 397)
    # second-youngest account: manishapme, created 1475177830 (2016-09-29 19:37 UTC)
    age = (datetime.now(UTC) - datetime.fromtimestamp(1475177830, UTC)).days
    assert req.min_account_age_days in (age - 1, age)
    # highest mean score by hour / weekday among the 10 posts (hand-read, UTC):
    # 21h Tue 221860 is the top hour; Friday has one post of 191327, the best day mean
    assert (req.best_posting_hour, req.best_posting_day) == (21, 4)

    discovered = {d.name: d for d in await events(rt, "subreddit.discovered")}
    assert set(discovered) == EXPECTED_DISCOVERED
    assert discovered["u_spladug"].user_feed is True
    assert all(not d.user_feed for n, d in discovered.items() if n != "u_spladug")
    blog = discovered["blog"]
    assert (blog.via_user, blog.via_subreddit) == ("spladug", "AskReddit")
    # discovered ones get metadata (3 calls when they exist); u_ profiles get no call at all
    assert upstream.count("r/u_spladug/about") == 0
    assert upstream.count("r/programming/about") == upstream.count("r/redditdev/about") == 0
    ann = fetched["announcements"]
    assert ann.availability == "ok" and ann.requirements is None  # metadata only
    assert fetched["blog"].availability == "not_found"

    users = {u.username: u for u in await events(rt, "user.fetched")}
    assert set(users) == set(AUTHORS)
    u = users["ShoddySubstance"]  # spez's real profile, spladug's real top posts
    assert (u.link_karma, u.comment_karma, u.total_karma) == (138874, 743796, 138874 + 743796)
    assert u.posts_sampled == 10 and u.avg_post_score is not None

    attempts = await events(rt, "scrape.attempted")
    assert sum(a.calls for a in attempts) == len(upstream.api_requests())
    ask = next(a for a in attempts if a.target == "AskReddit")
    assert ask.calls == 3
    assert sum(1 for a in attempts if a.target_kind == "user") == 10
    assert {r.user_agent for r in upstream.requests} == {UA}


async def _attempt_for(rt: Runtime, target: str) -> bool:
    return any(a.target == target for a in await events(rt, "scrape.attempted"))


async def test_user_command_fetches_profile_and_reports_new_subreddits(
        rt: Runtime, upstream: FakeReddit, make_settings) -> None:
    upstream.add("user/spladug/about", fixture("user_about/spladug.json"))
    upstream.add("user/spladug/submitted", fixture("user_listing/spladug_submitted_top_all.json"),
                 listing=True)
    async with running(make_settings(), StaticTracked([], known={"blog"}), rt=rt):
        await rt.publisher.publish(RedditScrapeRequested(kind="user", name="spladug"))
        await rt.publisher.publish(RedditScrapeRequested(kind="user", name="nobody_here"))
        await wait_for(lambda: _attempt_for(rt, "nobody_here"))
        await wait_for(lambda: _attempt_for(rt, "spladug"))
    users = {u.username: u for u in await events(rt, "user.fetched")}
    assert users["nobody_here"].availability == "not_found"
    sp = users["spladug"]
    assert sp.requested and sp.link_karma == 15511 and sp.posts_sampled == 10
    assert sp.account_age_days is not None and sp.karma_per_day == round(
        (15511 + 46283) / sp.account_age_days, 2)
    assert sp.preferred_content_type is not None and sp.most_active_hour is not None
    names = {d.name for d in await events(rt, "subreddit.discovered")}
    assert names == {"u_spladug", "programming", "announcements", "Irene", "modnews"}
    [posts] = await events(rt, "posts.fetched")
    assert posts.listing == "user_submitted" and posts.author == "spladug"
    limits = [r.query.get("limit") for r in upstream.requests if r.path.endswith("submitted")]
    assert limits == ["10"]
