"""Scraping one creator and running related-creator discovery: the use cases.

Facts only: a ``creator.scraped`` per creator (profile, growth, analytics, reels and posts with
their URLs), ``creator.discovered`` per new related creator, ``creator.related_processed`` per
source, and a ``scrape.attempted`` (outcome, calls, cost) for every attempt, whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

import msgspec
from b9_common.events import (
    CreatorScraped,
    IgMedia,
    ScrapeAttempted,
)
from b9_common.events.control import InstagramControl
from b9_common.events.instagram import CreatorAvailability, MediaKind
from b9_common.events.ops import Outcome
from b9_common.ops import requests
from b9_common.ops.metrics import SCRAPE_ATTEMPTS
from b9_common.scraping.control import ControlWatch

from b9_instagram_scraper import analytics
from b9_instagram_scraper.directory import CreatorDirectory
from b9_instagram_scraper.growth import CreatorState, growth, record
from b9_instagram_scraper.media import parse_media
from b9_instagram_scraper.ports import EventSink, KnownLike, Result, StateLike, failed, why_of
from b9_instagram_scraper.provider import (
    CallMeter,
    InstagramProvider,
    ProviderError,
)
from b9_instagram_scraper.related import RelatedDiscovery

log = logging.getLogger(__name__)

FULL_FETCH = (90, 30)  # reels, posts for a creator never fetched before
REFRESH_FETCH = (30, 10)
MAX_EVENT_BYTES = 900_000  # NATS' default max_payload is 1 MiB; the envelope adds a little


def fit_payload(event: CreatorScraped, limit: int = MAX_EVENT_BYTES) -> CreatorScraped:
    """Keep the event under NATS' message size by shortening captions (never dropping items).
    Real events are well under the limit; this guards against 120 very long captions."""
    for cap in (500, 100, 0):
        if len(msgspec.json.encode(event)) <= limit:
            break
        for item in (*event.reels, *event.posts):
            item.caption = item.caption[:cap]
    return event


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass
class Scraper(RelatedDiscovery):
    provider: InstagramProvider
    sink: EventSink
    state: StateLike
    known: KnownLike
    directory: CreatorDirectory
    control: ControlWatch[InstagramControl]
    replica: str = ""
    clock: Callable[[], float] = time.time
    totals: dict[str, int] = field(default_factory=dict)
    _locks: dict[str, _KeyLock] = field(default_factory=dict)

    def _count(self, outcome: str) -> None:
        self.totals[outcome] = self.totals.get(outcome, 0) + 1
        SCRAPE_ATTEMPTS.labels("instagram", outcome).inc()

    async def _attempted(
        self,
        kind: Literal["creator", "related"],
        target: str,
        res: Result,
        t0: float,
        cycle: int | None,
    ) -> None:
        self._count(res.outcome)
        cost = res.calls * self.control.config.cost_per_request
        why = why_of(res)
        attempt = ScrapeAttempted(
            scraper="instagram",
            target_kind=kind,
            target=target[:200] or "?",
            outcome=cast(Outcome, res.outcome),
            calls=res.calls,
            cost_usd=round(cost, 6),
            duration_ms=int((time.monotonic() - t0) * 1000),
            error=res.error,
            cycle=cycle,
            replica=self.replica or None,
            reason=why.reason if why else None,
            message=why.message if why else res.error,
            http_status=why.http_status if why else None,
        )
        requests.note(attempt)  # the attempt a followed request asked for carries its id
        await self.sink.publish(attempt)

    @staticmethod
    def _items(raw: list[dict[str, Any]], kind: MediaKind, followers: int) -> list[IgMedia]:
        out: dict[str, IgMedia] = {}
        for item in raw:
            m = parse_media(item, kind, followers)
            if m is not None and m.media_pk not in out:
                out[m.media_pk] = m
        return list(out.values())

    async def scrape_creator(
        self,
        username: str,
        *,
        priority: bool = False,
        requested: bool = False,
        niche: str | None = None,
        discovery_source: str | None = None,
        cycle: int | None = None,
    ) -> Result:
        key = username.lower()
        entry = self._locks.setdefault(key, _KeyLock())
        entry.users += 1
        try:
            async with entry.lock:  # one scrape of a creator at a time in this replica
                t0 = time.monotonic()
                meter = CallMeter(priority=priority)
                try:
                    res = await self._scrape(username, meter, requested, niche, discovery_source)
                except ProviderError as exc:
                    res = failed(exc, meter)
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(key, None)
        await self._attempted("creator", username, res, t0, cycle)
        return res

    async def _scrape(
        self,
        username: str,
        meter: CallMeter,
        requested: bool,
        niche: str | None,
        discovery_source: str | None,
    ) -> Result:
        p = await self.provider.profile(username, meter)
        st, _ = await self.state.get(p.ig_user_id)
        now = self.clock()
        g = growth(st, p.followers_count, now)
        reels: list[IgMedia] = []
        posts: list[IgMedia] = []
        availability: CreatorAvailability = "private" if p.is_private else "ok"
        if not p.is_private:
            n_reels, n_posts = REFRESH_FETCH if st.media_fetched else FULL_FETCH
            reels = self._items(
                await self.provider.reels(p.ig_user_id, n_reels, meter), "reel", p.followers_count
            )
            posts = self._items(
                await self.provider.posts(p.ig_user_id, n_posts, meter), "post", p.followers_count
            )
            if not reels and not posts:
                availability = "empty"
        cfg = self.control.config
        rule = analytics.ViralRule(cfg.viral_min_views, cfg.viral_multiplier)
        figures = analytics.compute(
            reels, posts, p.followers_count, rule, datetime.fromtimestamp(now, UTC)
        )
        await self.sink.publish(
            fit_payload(
                CreatorScraped(
                    ig_user_id=p.ig_user_id,
                    username=p.username,
                    availability=availability,
                    full_name=p.full_name,
                    biography=p.biography,
                    external_url=p.external_url,
                    external_url_type=p.external_url_type,
                    bio_links=p.bio_links,
                    profile_pic_url=p.profile_pic_url,
                    is_verified=p.is_verified,
                    is_private=p.is_private,
                    is_business=p.is_business,
                    is_professional=p.is_professional,
                    followers_count=p.followers_count,
                    following_count=p.following_count,
                    media_count=p.media_count,
                    highlight_reel_count=p.highlight_reel_count,
                    growth=g,
                    analytics=figures,
                    reels=reels,
                    posts=posts,
                    discovery_source=discovery_source,
                    requested_niche=niche if requested else None,
                    requested=requested,
                    api_calls=meter.calls,
                )
            )
        )

        def remember(s: CreatorState) -> None:
            record(s, p.followers_count, now)
            s.username = p.username
            s.media_fetched = s.media_fetched or not p.is_private
            s.last_scraped_at = now

        await self.state.update(p.ig_user_id, remember)
        await self.known.add(p.username, p.ig_user_id)
        return Result(
            outcome="private" if p.is_private else "success",
            calls=meter.calls,
            ig_user_id=p.ig_user_id,
            stats={"reels": len(reels), "posts": len(posts)},
        )
