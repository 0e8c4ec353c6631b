"""A small, realistic dataset for the dashboard tests, published as real facts (the
persistence service stores them) plus real JPEGs in the media store with media.stored events."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from b9_common.events import (
    CreatorScraped,
    IgMedia,
    MediaStored,
    PostingRequirements,
    PostsFetched,
    RedditPost,
    ScrapeAttempted,
    SubredditCategorized,
    SubredditFetched,
    SubredditMetrics,
    SubredditRule,
    UserFetched,
)
from b9_common.events.decisions import Actor, CreatorReviewed
from b9_common.jetstream.publisher import Publisher
from PIL import Image, ImageDraw

NOW = datetime.now(UTC).replace(microsecond=0)
SUBS = [
    "FitnessGirlsDaily",
    "CosplayLounge",
    "YogaPantsCentral",
    "GymSelfies",
    "AnimeCosplayers",
    "HikingAdventures",
    "PetiteFitness",
    "AltStyle",
    "GothFashion",
    "TattooArtLovers",
    "RunningCommunity",
    "BeachLifeDaily",
    "MirrorSelfieClub",
    "OutdoorGirls",
    "GamerGirlSetups",
    "StretchingDaily",
]
# Reviewed by the scraper's suggestion: the first six Ok, the next two No Seller, the rest unreviewed.
OK_SUBS = SUBS[:6]
USERS = [
    "sunny_lifts",
    "cosplay_mia",
    "trailrunner_k",
    "yoga_with_ana",
    "gothic_rose",
    "pixel_gamer",
    "mia_fit",
    "lena_outdoors",
]
CREATORS = ["lena.moves", "mia.cosplays", "ana.yoga", "kate.trails", "rose.goth", "nina.fit"]
TOPICS = ["fitness", "cosplay", "yoga", "outdoors", "alt", "fitness"]


def jpeg(w: int, h: int, hue: int, label: str = "") -> bytes:
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / max(1, h - 1)
        base = [(hue * 37) % 255, (hue * 91) % 255, (hue * 53) % 255]
        draw.line([(0, y), (w, y)], fill=tuple(int(c * (1 - t) + 235 * t) for c in base))
    if label:
        draw.text((8, h - 18), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def store(media_root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    path = media_root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def subreddit(i: int, days_ago: int = 0) -> SubredditFetched:
    grow = 1 + 0.02 * (10 - days_ago)
    return SubredditFetched(
        name=SUBS[i],
        title=f"{SUBS[i]} — a community for {TOPICS[i % len(TOPICS)]} fans",
        public_description=f"Share your {TOPICS[i % len(TOPICS)]} progress, outfits and photos.",
        subscribers=int((40_000 + 23_000 * i) * grow),
        active_users=120 + 15 * i,
        over18=i % 4 == 1,
        rules=[
            SubredditRule(short_name="Original content only", description="Post your own photos.", priority=0),
            SubredditRule(short_name="Verify first", description="Verify with the mods before posting.", priority=1),
            SubredditRule(short_name="No spam", description="One post per day.", priority=2),
        ],
        metrics=SubredditMetrics(
            posts_sampled=30,
            avg_upvotes_per_post=round((220 - 9 * i) * grow, 1),
            engagement=0.012 + 0.003 * (i % 5),
            subreddit_score=round((60 + 2.5 * i) * grow, 1),
        ),
        requirements=PostingRequirements(
            min_post_karma=25 * (i % 4),
            min_comment_karma=10,
            min_account_age_days=7 * (i % 3),
            best_posting_hour=(14 + i) % 24,
            authors_sampled=25,
        ),
        verification_required=i % 5 == 0,
        suggested_review="Ok" if i < 6 else ("No Seller" if i < 8 else None),
    )


def posts(i: int) -> PostsFetched:
    items = []
    for j in range(4):
        created = NOW - timedelta(hours=3 + 5 * j + i)
        items.append(
            RedditPost(
                reddit_id=f"t3_{i:02d}{j}",
                subreddit=SUBS[i],
                author=USERS[(i + j) % len(USERS)],
                title=["Morning routine done", "New outfit today", "Finally hit my goal", "Sunset session"][j]
                + f" ({SUBS[i]})",
                score=40 * (4 - j) + 13 * i,
                num_comments=5 * (4 - j) + i,
                upvote_ratio=0.93,
                created_utc=created,
                content_type="image",
                posting_hour=created.hour,
                posting_day_of_week=created.weekday(),
                permalink=f"/r/{SUBS[i]}/comments/{i:02d}{j}/",
            )
        )
    return PostsFetched(subreddit=SUBS[i], listing="subreddit_top_week", posts=items)


def user(i: int) -> UserFetched:
    return UserFetched(
        username=USERS[i],
        account_age_days=200 + 45 * i,
        link_karma=1500 * (i + 1),
        comment_karma=120 * i,
        total_karma=1500 * (i + 1) + 120 * i,
        karma_per_day=round((1500 * (i + 1)) / (200 + 45 * i), 2),
        avg_post_score=float(30 + 7 * i),
    )


def media(c: int, k: int, kind: str) -> IgMedia:
    return IgMedia(
        media_pk=f"{c}{kind[0]}{k}00{c}",
        kind=kind,
        post_type="reel" if kind == "reel" else "image",
        taken_at=NOW - timedelta(days=2 * k + c, hours=3),
        caption=f"{['Leg day', 'Behind the scenes', 'Weekend vibes'][k % 3]} #{TOPICS[c]}",
        play_count=18_000 * (k + 1) * (c + 1) if kind == "reel" else 0,
        like_count=900 * (k + 2) + 50 * c,
        comment_count=30 + 4 * k,
        engagement_rate=0.021 + 0.004 * k,
        duration=14.0 + k if kind == "reel" else None,
        thumbnail_url=f"https://cdn.example.com/{c}/{kind}/{k}.jpg",
    )


def creator(c: int, followers: int, name: str | None = None, uid: str | None = None) -> CreatorScraped:
    return CreatorScraped(
        ig_user_id=uid or f"5512{c:04d}",
        username=name or CREATORS[c],
        full_name=(name or CREATORS[c]).split(".")[0].title() + " " + TOPICS[c % len(TOPICS)].title(),
        biography=f"{TOPICS[c % len(TOPICS)].title()} creator · daily reels · DM for collabs",
        followers_count=followers,
        following_count=300 + c,
        media_count=120 + 10 * c,
        external_url=f"https://links.example.com/{name or CREATORS[c]}",
        reels=[media(c, k, "reel") for k in range(3)],
        posts=[media(c, k, "post") for k in range(2)],
        discovery_source="related" if c % 2 else "manual",
        api_calls=2,
    )


def attempts() -> list[ScrapeAttempted]:
    out = [
        ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=s, outcome="success", calls=3, cycle=12)
        for s in SUBS
    ]
    out += [
        ScrapeAttempted(
            scraper="reddit", target_kind="subreddit", target="deleted_sub", outcome="not_found", calls=1, cycle=12
        )
    ]
    out += [
        ScrapeAttempted(
            scraper="instagram", target_kind="creator", target=c, outcome="success", calls=2, cost_usd=0.0006, cycle=4
        )
        for c in CREATORS
    ]
    return out


async def load(pub: Publisher, media_root: Path) -> dict[str, int]:
    """Publish the dataset; returns the row counts the read model should reach."""
    facts: list[Any] = []
    # metric history: three snapshots per subreddit (10, 5 and 0 days ago)
    for days in (10, 5):
        for i in range(len(SUBS)):
            await pub.publish(subreddit(i, days), occurred_at=NOW - timedelta(days=days))
    facts += [subreddit(i) for i in range(len(SUBS))]
    facts += [posts(i) for i in range(len(SUBS))]
    facts += [user(i) for i in range(len(USERS))]
    facts += attempts()
    facts += [
        SubredditCategorized(
            name=SUBS[0],
            tags=["niche:fitness", "body:athletic"],
            primary_category="niche",
            taxonomy_version="reddit-v1",
            model="rules",
            method="rules",
        )
    ]
    # follower history: four snapshots per creator over three weeks
    for c in range(len(CREATORS)):
        for w, days in enumerate((21, 14, 7)):
            await pub.publish(creator(c, 20_000 * (c + 1) + 1500 * w * (c + 1)), occurred_at=NOW - timedelta(days=days))
    facts += [creator(c, 20_000 * (c + 1) + 5200 * (c + 1)) for c in range(len(CREATORS))]
    stored = 0
    for c in range(len(CREATORS)):
        pic = jpeg(96, 96, c + 3)
        facts.append(stored_event(store(media_root, pic), f"5512{c:04d}", f"5512{c:04d}", "profile_picture", len(pic)))
        stored += 1
        for k in range(3):
            thumb = jpeg(180, 240, 7 * c + k + 1, f"reel {k + 1}")
            facts.append(
                stored_event(store(media_root, thumb), f"{c}r{k}00{c}", f"5512{c:04d}", "thumbnail", len(thumb))
            )
            stored += 1
    await pub.publish_many(facts)
    # The first two creators are approved (tracked: their reels are on the Reels page).
    lead = Actor(id="lead", name="Lead", role="admin", channel="dashboard")
    await pub.publish_many(
        [CreatorReviewed(actor=lead, ig_user_id=f"5512{c:04d}", review_status="ok") for c in range(2)]
    )
    # One fact the persistence service cannot decode: it lands in the DLQ.
    await pub.publish_raw(
        pub.topology.subject("subreddit.fetched"),
        b'{"type": "subreddit.fetched", "data": 1}',
        {"Nats-Msg-Id": "dashboard-bad-fact"},
    )
    return {
        "subreddits": len(SUBS),
        "reddit_posts": 4 * len(SUBS),
        "reddit_users": len(USERS),
        "instagram_creators": len(CREATORS),
        "creator_follower_history": 4 * len(CREATORS),
        "media_assets": stored,
        "subreddit_snapshots": 3 * len(SUBS),
        "decision_log": 2,
    }


def stored_event(key: str, source_id: str, owner: str, kind: str, size: int) -> MediaStored:
    return MediaStored(
        source_url=f"https://cdn.example.com/{source_id}.jpg",
        source_id=source_id,
        owner=owner,
        kind=kind,
        content_hash=key.rsplit("/", 1)[-1][:-4],
        storage_key=key,
        content_type="image/jpeg",
        bytes_in=size * 2,
        bytes_out=size,
        width=180,
        height=240,
    )
