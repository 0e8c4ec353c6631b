"""Synthetic facts at the original system's size, published through JetStream.

``await seed(publisher, "small" | "full", progress=cb, now=..., media_base=...)`` publishes, in
order: subreddit discoveries and first fetches, users, posts (``posts.fetched`` batches of 100),
the subreddits' latest fetches (metrics and posting requirements computed from those posts and
their authors' facts), creators (four scrapes each: follower history), categorizations, and
people's decisions by the actor ``b9 seed`` (creator reviews and niches, two models with
linked accounts), and with ``media_base`` the ``media.requested`` commands for a bounded set
of generated images and clips (``seed_media`` serves them). See ``seed_reddit`` /
``seed_instagram`` for the shapes.

Everything is relative to ``now`` (default: the current hour, UTC): the last 30 days with a
daily rhythm, so every time window of the dashboard has data. Distributions are long-tailed
(lognormal subscribers / karma / followers, Pareto scores and authorship). Values and event ids
derive from a fixed seed: re-seeding within the same hour publishes the same events (JetStream
and persistence deduplicate them); later, the same ids carry newer times and the rows move on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from b9_common.events import Envelope
from b9_common.jetstream.publisher import Publisher

from b9_persistence.seed_instagram import InstagramSeed
from b9_persistence.seed_reddit import RedditSeed
from b9_persistence.seed_words import subreddit_name, username

Progress = Callable[[str, int, int], None]

SCALES: dict[str, dict[str, int]] = {
    "full": {"subreddits": 34_682, "users": 309_608, "posts": 1_830_000, "creators": 1_247},
    "small": {"subreddits": 347, "users": 3_096, "posts": 18_300, "creators": 125},
}
CHUNK = 2_000  # envelopes per publish_many call
BASE = datetime(2025, 1, 1, tzinfo=UTC)  # a fixed time for benchmarks' own facts (not the seed's)

__all__ = ["BASE", "SCALES", "SeedPlan", "plan", "seed", "subreddit_name", "username"]


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class _Gen:
    def __init__(self, publisher: Publisher, scale: str, now: datetime) -> None:
        self.p, self.scale, self.now = publisher, scale, now
        self.n = SCALES[scale]

    def env(self, kind: str, i: int, payload: Any, *, at: datetime) -> Envelope[Any]:
        return self.p.envelope(payload, id_=f"seed-{self.scale}-{kind}-{i}", occurred_at=at)


@dataclass
class SeedPlan:
    """The phases to publish, and the media URLs the latest creator scrapes carry."""

    phases: list[tuple[str, Callable[[], Iterator[Envelope[Any]]], int]]
    media_urls: list[str] = field(default_factory=list)
    instagram: InstagramSeed | None = None


def plan(publisher: Publisher, scale: str = "small", *, now: datetime | None = None,
         media_base: str | None = None) -> SeedPlan:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}")
    gen = _Gen(publisher, scale, now or this_hour())
    n = gen.n
    rd, ig = RedditSeed(gen), InstagramSeed(gen, media_base)

    def categorizations() -> Iterator[Envelope[Any]]:
        yield from rd.categorizations()
        yield from ig.categorizations()

    phases: list[tuple[str, Callable[[], Iterator[Envelope[Any]]], int]] = [
        ("discoveries", rd.discoveries, n["subreddits"]),
        ("subreddits", rd.first_snapshots, n["subreddits"]),
        ("users", rd.users, n["users"]),
        ("posts", rd.posts, (n["posts"] + 99) // 100),
        ("subreddits now", rd.final_snapshots, n["subreddits"]),
        ("creators", ig.creators, 4 * n["creators"]),
        ("categorizations", categorizations, 0),
        ("decisions", ig.decisions, 0),
    ]
    if media_base:
        phases.append(("media requests", ig.media_requests, 0))
    return SeedPlan(phases, ig.urls, ig)


async def seed(publisher: Publisher, scale: str = "small", *, progress: Progress | None = None,
               now: datetime | None = None, media_base: str | None = None) -> dict[str, int]:
    """Publish the synthetic data set; returns events published per phase."""
    return await publish(plan(publisher, scale, now=now, media_base=media_base), publisher, progress)


async def publish(p: SeedPlan, publisher: Publisher, progress: Progress | None = None) -> dict[str, int]:
    done: dict[str, int] = {}
    for phase, make, expected in p.phases:
        count = 0
        it = make()
        while chunk := list(itertools.islice(it, CHUNK)):
            count += await publisher.publish_many(chunk)
            if progress:
                progress(phase, count, expected or count)
        done[phase] = count
    return done
