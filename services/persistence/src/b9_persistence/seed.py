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

import contextlib
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

FULL = {"subreddits": 34_682, "users": 309_608, "posts": 1_830_000, "creators": 1_247}
SCALES: dict[str, dict[str, int]] = {
    "full": FULL,
    "small": {"subreddits": 347, "users": 3_096, "posts": 18_300, "creators": 125},
    # the growth an agency reaches: 3x and 10x the original (10x: 346,820 / 3.1 M / 18.3 M / 12,470)
    "3x": {k: v * 3 for k, v in FULL.items()},
    "10x": {k: v * 10 for k, v in FULL.items()},
}
SCALE_HELP = "small (~5k events, 18k posts), full (the original's size), 3x, 10x, or any <factor>x (0.01x ...)"
CHUNK = 2_000  # envelopes per publish_many call
BASE = datetime(2025, 1, 1, tzinfo=UTC)  # a fixed time for benchmarks' own facts (not the seed's)

__all__ = ["BASE", "SCALES", "SCALE_HELP", "SeedPlan", "plan", "scale_counts", "seed", "subreddit_name", "username"]


def scale_counts(scale: str) -> dict[str, int]:
    """Rows per kind for a scale name: one of ``SCALES`` or ``<factor>x`` (a multiple of the
    original's size, e.g. ``0.01x`` for a quick check, at least 6 users and one creator)."""
    if scale in SCALES:
        return SCALES[scale]
    factor = None
    if scale.endswith("x"):
        with contextlib.suppress(ValueError):
            factor = float(scale[:-1])
    if factor is None or not 0 < factor <= 100:
        raise ValueError(f"scale must be one of {sorted(SCALES)} or <factor>x with 0 < factor <= 100, not {scale!r}")
    least = {"subreddits": 1, "users": 6, "posts": 1, "creators": 1}
    return {k: max(least[k], round(v * factor)) for k, v in FULL.items()}


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class _Gen:
    def __init__(self, publisher: Publisher, scale: str, now: datetime) -> None:
        self.p, self.scale, self.now = publisher, scale, now
        self.n = scale_counts(scale)

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
