"""The seed's Instagram side and people's decisions.

Creators are scraped four times (21, 14 and 7 days ago, and now) with growing follower
counts, so growth charts draw lines; only the latest scrape carries reels and posts. About
half are approved and a sixth rejected (``creator.reviewed`` decisions by the actor
``b9 seed``), most approved ones get a niche. For the ``MEDIA_CREATORS`` approved creators with
the most followers, ``media.requested`` commands ask the real media service to store a profile
picture, their best reels' thumbnails and two short videos from ``media_base`` — a loopback
origin `b9 seed` serves meanwhile — so the bounded media work does not grow with ``--scale``.
Source ids are the ones the read model joins on (``media_pk`` for a reel's thumbnail / video,
``ig_user_id`` for a profile picture).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

from b9_common.events import (
    AccountLinked,
    CreatorAnalytics,
    CreatorCategorized,
    CreatorNiched,
    CreatorReviewed,
    CreatorScraped,
    Envelope,
    FollowerGrowth,
    IgMedia,
    MediaItem,
    MediaRequested,
    ModelCreated,
)
from b9_common.events.decisions import Actor
from b9_common.events.derived import MediaAssetKind

from b9_persistence.seed_words import NICHES, TAGS, WORDS, username

SEED_ACTOR = Actor(id="seed", name="b9 seed", role="admin", channel="cli")
MEDIA_CREATORS = 8  # creators whose media are generated and stored (any scale)
THUMBS_PER_CREATOR = 6
VIDEOS = 2
SNAPSHOT_DAYS = (21, 14, 7)


def ig_id(i: int) -> str:
    return str(4_000_000 + i)


class InstagramSeed:
    def __init__(self, gen: Any, media_base: str | None) -> None:
        self.g, self.base = gen, media_base
        r = self.rng = random.Random(f"b9-seed-{gen.scale}-instagram")
        n = gen.n["creators"]
        self.followers = [int(r.lognormvariate(10.5, 1.5)) for _ in range(n)]
        self.growth = [r.uniform(0.002, 0.03) for _ in range(n)]  # a week's growth
        self.status: list[Literal["ok", "non_related"] | None] = [
            "ok" if x < 0.5 else "non_related" if x < 0.67 else None for x in (r.random() for _ in range(n))]
        approved = sorted((i for i in range(n) if self.status[i] == "ok"), key=lambda i: -self.followers[i])
        self.with_media = set(approved[:MEDIA_CREATORS]) if media_base else set()
        self.urls: list[str] = []  # every media URL requested (the origin serves them)
        self.items: dict[int, list[MediaItem]] = {}

    def _want(self, i: int, path: str, source_id: str, kind: MediaAssetKind) -> None:
        url = f"{self.base}/{path}"
        self.urls.append(url)
        self.items.setdefault(i, []).append(MediaItem(url=url, source_id=source_id, owner=ig_id(i), kind=kind))

    def _items(self, i: int, views: float) -> list[IgMedia]:
        r, now = self.rng, self.g.now
        items = []
        for j in range(24):
            kind: Literal["reel", "post"] = "reel" if j < 12 else "post"
            plays = int(views * r.lognormvariate(0, 1)) if kind == "reel" else 0
            likes = int(max(plays, views) * r.uniform(0.01, 0.1))
            items.append(IgMedia(
                media_pk=f"{i}{j:03d}9", kind=kind, shortcode=f"s{i}x{j}",
                post_type="reel" if kind == "reel" else r.choice(("image", "carousel")),
                taken_at=now - timedelta(hours=j * r.uniform(10, 70) + r.uniform(1, 10)), play_count=plays,
                like_count=likes, comment_count=likes // 30, engagement_count=likes * 31 // 30,
                engagement_rate=round(likes / max(1, self.followers[i]), 4),
                caption=f"{WORDS[(i + j) % len(WORDS)]} day #{j}", duration=12.0 if kind == "reel" else None,
                is_viral=plays > max(50_000, 5 * views),
            ))
        if i in self.with_media:
            reels = sorted(range(12), key=lambda j: -items[j].play_count)[:THUMBS_PER_CREATOR]
            for j in reels:
                self._want(i, f"thumb/{items[j].media_pk}.jpg", items[j].media_pk, "thumbnail")
            rank = sorted(self.with_media, key=lambda k: -self.followers[k]).index(i)
            if rank < VIDEOS:
                self._want(i, f"video/{items[reels[0]].media_pk}.mp4", items[reels[0]].media_pk, "video")
        return items

    def creators(self) -> Iterator[Envelope[Any]]:
        r, now = self.rng, self.g.now
        for i in range(self.g.n["creators"]):
            final = self.followers[i]
            views = final * r.uniform(0.05, 2.0)
            items = self._items(i, views)
            reels, posts = items[:12], items[12:]
            reel_likes = sum(m.like_count for m in reels) / 12
            post_likes = sum(m.like_count for m in posts) / 12
            analytics = CreatorAnalytics(
                avg_reel_views=round(views, 1), avg_reel_likes=round(reel_likes, 1),
                avg_reel_comments=round(reel_likes / 30, 1), avg_post_likes=round(post_likes, 1),
                avg_post_comments=round(post_likes / 30, 1), engagement_rate=round(r.betavariate(2, 30), 4),
                viral_reels=sum(m.is_viral for m in reels), most_active_hour=int(r.triangular(0, 24, 19)) % 24,
                posting_frequency_per_week=round(r.uniform(1, 9), 1))
            name = f"{WORDS[i % len(WORDS)]}.creator{i}"
            common: dict[str, Any] = dict(
                ig_user_id=ig_id(i), username=name, full_name=f"Creator {i}", following_count=100 + i % 2900,
                media_count=50 + i * 7 % 2000, discovery_source="seed",
                biography=f"{NICHES[i % len(NICHES)]} creator · link below",
                external_url=f"https://example.com/{name}" if i % 3 == 0 else None)
            for k, days in enumerate(SNAPSHOT_DAYS):
                past = int(final / (1 + self.growth[i]) ** (days / 7))
                yield self.g.env(f"creator{k}", i, CreatorScraped(
                    followers_count=past, analytics=analytics, **common),
                    at=now - timedelta(days=days, minutes=i % 600))
            if i in self.with_media:
                self._want(i, f"profile/{ig_id(i)}.jpg", ig_id(i), "profile_picture")
            week_ago = int(final / (1 + self.growth[i]))
            yield self.g.env("creator", i, CreatorScraped(
                followers_count=final, analytics=analytics, reels=reels, posts=posts,
                growth=FollowerGrowth(weekly_pct=round(100 * (final - week_ago) / max(1, week_ago), 2),
                                      previous_followers_count=week_ago), **common),
                at=now - timedelta(minutes=30 + i % 600))

    def media_requests(self) -> Iterator[Envelope[Any]]:
        """One ``media.requested`` per creator with media (a fresh request id per run: a command)."""
        for _, items in sorted(self.items.items()):
            yield self.g.p.envelope(MediaRequested(items=items, requested_by="b9 seed"))

    def categorizations(self) -> Iterator[Envelope[Any]]:
        r = random.Random(f"b9-seed-{self.g.scale}-crtags")
        for i in range(self.g.n["creators"]):
            tags = r.sample(TAGS, 3)
            yield self.g.env("crtags", i, CreatorCategorized(
                ig_user_id=ig_id(i), tags=tags, confidence={t: round(r.uniform(0.5, 1), 2) for t in tags},
                taxonomy_version="1", model="seed", method="rules"), at=self.g.now - timedelta(minutes=20 + i % 600))

    def decisions(self) -> Iterator[Envelope[Any]]:
        """Creator reviews and niches, two models with linked accounts (decisions by ``b9 seed``)."""
        now = self.g.now
        for i, status in enumerate(self.status):
            if status is None:
                continue
            yield self.g.env("crreview", i, CreatorReviewed(actor=SEED_ACTOR, ig_user_id=ig_id(i),
                                                            review_status=status), at=now - timedelta(minutes=15))
            if status == "ok" and i % 4:
                niche = NICHES[i % len(NICHES)]
                yield self.g.env("crniche", i, CreatorNiched(actor=SEED_ACTOR, ig_user_id=ig_id(i), niche=niche),
                                 at=now - timedelta(minutes=14))
        for m, (name, tags) in enumerate((("Ava (seed)", ["niche:fitness", "niche:yoga", "body:petite"]),
                                          ("Mia (seed)", ["niche:cosplay", "niche:anime", "style:goth"]))):
            yield self.g.env("model", m, ModelCreated(actor=SEED_ACTOR, model_id=m + 1, name=name,
                                                      assigned_tags=tags), at=now - timedelta(minutes=13))
            for a in range(3):
                yield self.g.env(f"link{m}", a, AccountLinked(actor=SEED_ACTOR, username=username(m * 3 + a),
                                                              model_id=m + 1), at=now - timedelta(minutes=12))
