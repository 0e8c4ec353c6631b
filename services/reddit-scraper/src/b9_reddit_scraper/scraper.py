"""What one refresh does: a subreddit (3 calls, + 2 per author when Ok) or a user (2 calls).

Every attempt ends in exactly one ``scrape.attempted`` carrying its outcome and the calls it
made; facts are published only for what was actually read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from b9_common.events import (
    PostsFetched,
    RedditPost,
    ScrapeAttempted,
    SubredditDiscovered,
    SubredditFetched,
    UserFetched,
)
from b9_common.ops import requests
from b9_common.ops.metrics import SCRAPE_ATTEMPTS
from b9_common.ops.reasons import Why
from b9_common.scraping.control import ScraperDisabled

from b9_reddit_scraper import formulas, review
from b9_reddit_scraper.client import RedditClient, Result, Tally
from b9_reddit_scraper.parse import (
    parse_about,
    parse_posts,
    parse_rules,
    parse_user,
    valid_subreddit,
    valid_user,
)
from b9_reddit_scraper.settings import Settings
from b9_reddit_scraper.tracked import Mode, TrackedSource

log = logging.getLogger(__name__)

Claim = Callable[[str], Awaitable[bool]]
Names = Callable[[], Awaitable[set[str]]]
AttemptOutcome = Literal["success", "not_found", "private", "banned", "quarantined",
                         "rate_limited", "failed"]
_AVAILABILITY: dict[str, Any] = {"not_found": "not_found", "private": "private", "banned": "banned",
                 "quarantined": "quarantined"}


_OUTCOME_WHY = {"success": Why("ok", "scraped"), "rate_limited": Why(
    "budget_exhausted", "Reddit kept answering 429 Too Many Requests", 429)}
_INTERRUPTED = Why("interrupted", "interrupted: the scraper was disabled mid-attempt")
_NOT_T5 = Why("invalid_response", "Reddit's about answer is not a subreddit (no t5)")
_NOT_T2 = Why("invalid_response", "Reddit's about answer is not a user (no t2)")


def _attempt_outcome(r: Result) -> AttemptOutcome:
    return "success" if r.ok else r.outcome  # type: ignore[return-value]


@dataclass
class SubredditReport:
    name: str
    outcome: AttemptOutcome
    calls: int
    discovered: list[str] = field(default_factory=list)
    users: int = 0


@dataclass
class UserReport:
    name: str
    outcome: AttemptOutcome
    calls: int
    user: UserFetched | None = None
    posts: list[RedditPost] = field(default_factory=list)


class Scraper:
    def __init__(self, client: RedditClient, publisher: Any, tracked: TrackedSource,
                 settings: Settings, *, replica: str = "", pending: Names | None = None) -> None:
        self.client = client
        self.pending = pending  # subreddits with a command queued or in flight (known too)
        self.publisher = publisher
        self.tracked = tracked
        self.settings = settings
        self.replica = replica
        self.users: dict[str, tuple[float, UserReport]] = {}  # lower(name) -> (when, report)
        self.seen: set[str] = set()  # subreddits refreshed or discovered by this process
        self.outcomes: dict[str, int] = {}

    async def _attempted(self, kind: Literal["subreddit", "user"], target: str,
                         outcome: AttemptOutcome, tally: Tally, t0: float,
                         error: str | None, cycle: int | None, why: Why | None = None) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        SCRAPE_ATTEMPTS.labels("reddit", outcome).inc()
        why = why or _OUTCOME_WHY.get(outcome)
        attempt = ScrapeAttempted(
            scraper="reddit", target_kind=kind, target=target, outcome=outcome, calls=tally.calls,
            duration_ms=int((time.monotonic() - t0) * 1000), error=error, cycle=cycle,
            replica=self.replica or None, reason=why.reason if why else None,
            message=why.message if why else error, http_status=why.http_status if why else None,
        )
        requests.note(attempt)  # the attempt a followed request asked for carries its id
        await self.publisher.publish(attempt)

    # -- subreddits ------------------------------------------------------------------
    async def _interrupted(self, kind: Literal["subreddit", "user"], target: str, tally: Tally,
                           t0: float, cycle: int | None) -> None:
        """An attempt cut short by a disable still reports the calls it made (the upstream saw
        them and they count against its budget); nothing was read, so no fact goes out."""
        if tally.calls:
            await self._attempted(kind, target, "failed", tally, t0,
                                  "interrupted: the scraper was disabled", cycle, _INTERRUPTED)

    async def refresh_subreddit(self, name: str, mode: Mode, *, requested: bool = False,
                                cycle: int | None = None, discover: bool = True,
                                claim: Claim | None = None) -> SubredditReport:
        tally, t0 = Tally(), time.monotonic()
        try:
            return await self._refresh_subreddit(name, mode, tally, t0, requested=requested,
                                                 cycle=cycle, discover=discover, claim=claim)
        except ScraperDisabled:
            await self._interrupted("subreddit", name, tally, t0, cycle)
            raise

    async def _refresh_subreddit(self, name: str, mode: Mode, tally: Tally, t0: float, *,
                                 requested: bool, cycle: int | None, discover: bool,
                                 claim: Claim | None) -> SubredditReport:
        self.seen.add(name.lower())
        about = await self.client.get(f"r/{name}/about", tally=tally)
        sub = parse_about(name, about.data) if about.ok else None
        if not about.ok or sub is None:
            outcome = _attempt_outcome(about) if not about.ok else "failed"
            error = about.error or "about is not a subreddit (t5)"
            if outcome in _AVAILABILITY:
                await self.publisher.publish(SubredditFetched(
                    name=name, availability=_AVAILABILITY[outcome],
                    quarantine=outcome == "quarantined", requested=requested))
            await self._attempted("subreddit", name, outcome, tally, t0, error, cycle,
                                  about.why if not about.ok else _NOT_T5)
            return SubredditReport(name, outcome, tally.calls)
        rules, top = await asyncio.gather(
            self.client.get(f"r/{name}/about/rules", tally=tally),
            self.client.get(f"r/{name}/top", {"t": "week", "limit": 10}, tally=tally),
        )
        bad = next((r for r in (top, rules) if not r.ok), None)
        if bad is not None:
            outcome = "failed" if bad.outcome in _AVAILABILITY else _attempt_outcome(bad)
            await self._attempted("subreddit", name, outcome, tally, t0, bad.error, cycle, bad.why)
            return SubredditReport(name, outcome, tally.calls)
        posts = parse_posts(top.data)
        sub.rules = parse_rules(rules.data)
        sub.metrics = formulas.subreddit_metrics(posts)
        sub.verification_required = review.verification_required(sub)
        sub.suggested_review = review.suggested_review(sub)
        sub.requested = requested
        report = SubredditReport(sub.name, "success", 0)
        if mode == "full" and discover:
            authors = await self._authors(posts, cycle)
            report.users = len(authors)
            own = [p for a in authors for p in a.posts if p.subreddit.lower() == sub.name.lower()]
            profiles = [a.user for a in authors if a.user is not None]
            sub.requirements = formulas.posting_requirements(profiles, [*posts, *own])
            others = [p for a in authors for p in a.posts]
            report.discovered = await self._discover(
                others, via_subreddit=sub.name, claim=claim, cycle=cycle,
                fetch=self.settings.reddit_fetch_discovered)
        await self.publisher.publish(sub)
        if posts:
            await self.publisher.publish(PostsFetched(listing="subreddit_top_week",
                                                      subreddit=sub.name, posts=posts))
        report.calls = tally.calls
        await self._attempted("subreddit", sub.name, "success", tally, t0, None, cycle)
        return report

    async def _authors(self, posts: list[RedditPost], cycle: int | None) -> list[UserReport]:
        names: dict[str, str] = {}
        for p in posts:
            if p.author and valid_user(p.author):
                names.setdefault(p.author.lower(), p.author)
        chosen = list(names.values())[: self.settings.reddit_authors_per_subreddit]
        reports = await asyncio.gather(*(self.user(n, cycle=cycle) for n in chosen))
        return [r for r in reports if r.outcome == "success"]

    async def _discover(self, posts: list[RedditPost], *, via_subreddit: str | None,
                        claim: Claim | None, cycle: int | None, fetch: bool) -> list[str]:
        known = await self.tracked.known()
        if self.pending is not None:
            known |= await self.pending()  # asked for by a person: not a discovery
        new: dict[str, RedditPost] = {}
        for p in posts:
            low = p.subreddit.lower()
            if valid_subreddit(p.subreddit) and low not in known and low not in self.seen:
                new.setdefault(low, p)
        to_fetch: list[str] = []
        found: list[str] = []
        for low, p in new.items():
            self.seen.add(low)
            # the claim (d.<name>, shared by replicas) is taken by the first discoverer and by
            # a command for the name: either way this is not a new discovery
            if claim is not None and not await claim(p.subreddit):
                continue
            user_feed = low.startswith("u_")
            await self.publisher.publish(SubredditDiscovered(
                name=p.subreddit, via_user=p.author, via_subreddit=via_subreddit,
                user_feed=user_feed))
            found.append(p.subreddit)
            if not user_feed:
                to_fetch.append(p.subreddit)
        if fetch:
            for name in to_fetch:
                await self.refresh_subreddit(name, "metadata", cycle=cycle, discover=False)
        return found

    # -- users -----------------------------------------------------------------------
    async def user(self, name: str, *, cycle: int | None = None) -> UserReport:
        """A user for discovery: served from the cache when fetched recently."""
        hit = self.users.get(name.lower())
        if hit and time.monotonic() - hit[0] < self.settings.reddit_user_cache_seconds:
            return hit[1]
        report = await self.fetch_user(name, cycle=cycle)
        if report.outcome in ("success", "not_found"):
            self.users[name.lower()] = (time.monotonic(), report)
            if len(self.users) > 50_000:
                self.users.pop(next(iter(self.users)))
        return report

    async def fetch_user(self, name: str, *, requested: bool = False, cycle: int | None = None,
                         discover: bool = False) -> UserReport:
        tally, t0 = Tally(), time.monotonic()
        try:
            return await self._fetch_user(name, tally, t0, requested=requested, cycle=cycle,
                                          discover=discover)
        except ScraperDisabled:
            await self._interrupted("user", name, tally, t0, cycle)
            raise

    async def _fetch_user(self, name: str, tally: Tally, t0: float, *, requested: bool,
                          cycle: int | None, discover: bool) -> UserReport:
        about = await self.client.get(f"user/{name}/about", tally=tally)
        user = parse_user(name, about.data) if about.ok else None
        if user is None:
            outcome = _attempt_outcome(about) if not about.ok else "failed"
            if outcome in ("not_found", "private", "banned"):
                await self.publisher.publish(UserFetched(username=name, availability="not_found",
                                                         requested=requested))
                outcome = "not_found"
            error = about.error or "not a t2"
            await self._attempted("user", name, outcome, tally, t0, error, cycle,
                                  about.why if not about.ok else _NOT_T2)
            return UserReport(name, outcome, tally.calls)
        posts: list[RedditPost] = []
        if user.availability == "ok":
            sub = await self.client.get(f"user/{name}/submitted", {"sort": "new", "limit": 10},
                                        tally=tally)
            if not sub.ok:
                outcome = _attempt_outcome(sub)
                outcome = "failed" if outcome in _AVAILABILITY else outcome
                await self._attempted("user", name, outcome, tally, t0, sub.error, cycle, sub.why)
                return UserReport(name, outcome, tally.calls)
            posts = parse_posts(sub.data)
            formulas.user_activity(user, posts)
        user.requested = requested
        await self.publisher.publish(user)
        if posts:
            await self.publisher.publish(PostsFetched(
                listing="user_submitted", author=user.username, posts=posts))
        await self._attempted("user", user.username, "success", tally, t0, None, cycle)
        if discover:
            await self._discover(posts, via_subreddit=None, claim=None, cycle=cycle, fetch=False)
        return UserReport(user.username, "success", tally.calls, user, posts)
