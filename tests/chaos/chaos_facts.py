"""A deterministic mix of facts for the chaos test, with ~1 % poison (schema-violating) events.

Same ``seed`` and ``size`` -> the same envelopes with the same ids and ``occurred_at``, so a
fault run and a no-fault run store exactly the same facts. Keys repeat (a subreddit is
fetched several times, posts overlap between batches) and ``occurred_at`` is shuffled, so
newer-wins and idempotent upserts are exercised, not just inserts. A subreddit's or
creator's *content* (title, description, bio, captions) does not change between fetches,
only its metrics: the categorizer's results (and their deterministic ids) then depend only
on the key, as in real life where re-scrapes mostly move numbers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from b9_common.events import (
    CreatorCategorized,
    CreatorDiscovered,
    CreatorScraped,
    IgMedia,
    MediaFailed,
    MediaStored,
    PostsFetched,
    RedditPost,
    RelatedProcessed,
    ScrapeAttempted,
    SubredditCategorized,
    SubredditDiscovered,
    SubredditFetched,
    SubredditMetrics,
    UserFetched,
)
from b9_common.events.decisions import (
    AccountLinked,
    AccountUnlinked,
    Actor,
    CreatorNiched,
    CreatorReviewed,
    ModelCreated,
    ModelDeleted,
    ModelUpdated,
    SubredditReviewed,
    SubredditTagged,
    UserMarkedOurs,
)
from b9_common.events.envelope import Envelope, make_envelope

BASE = datetime(2026, 3, 1, tzinfo=UTC)
SOURCE = "chaos@0"
TOPICS = ["Amateur photography", "Rock climbing", "Home cooking", "Fitness progress",
          "Cosplay", "Street food", "Gaming memes", "Yoga at home", "Tattoo art", "Hiking"]
WEIGHTS = {
    "subreddit.fetched": 18, "posts.fetched": 22, "user.fetched": 14, "subreddit.discovered": 5,
    "creator.scraped": 6, "creator.discovered": 3, "creator.related_processed": 2,
    "scrape.attempted": 19, "subreddit.categorized": 3, "creator.categorized": 2,
    "media.stored": 3, "media.failed": 2, "poison": 1, "decision": 4,
}
ACTOR = Actor(id="chaos-admin", name="Chaos Admin", role="admin", channel="cli")


@dataclass(frozen=True)
class Poison:
    id: str
    type: str
    data: bytes
    why: str


@dataclass
class FactSet:
    items: list[Envelope[Any] | Poison] = field(default_factory=list)

    @property
    def poison(self) -> dict[str, Poison]:
        return {p.id: p for p in self.items if isinstance(p, Poison)}


class Gen:
    def __init__(self, size: int, media_base: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.media_base = media_base
        self.subs = max(size // 20, 10)
        self.users = max(size // 15, 10)
        self.creators = max(size // 100, 5)
        self.post_ids = max(size // 2, 50)

    def at(self) -> datetime:
        return BASE + timedelta(seconds=self.rng.randrange(30 * 86_400))

    def sub(self, k: int) -> str:
        return f"chaos_sub_{k}"

    def subreddit_fetched(self) -> SubredditFetched:
        k = self.rng.randrange(self.subs)
        topic = TOPICS[k % len(TOPICS)]
        return SubredditFetched(
            name=self.sub(k), title=f"{topic} #{k}", public_description=f"All about {topic.lower()}",
            over18=k % 3 == 0, subscribers=self.rng.randrange(100, 2_000_000),
            active_users=self.rng.randrange(0, 5000),
            metrics=SubredditMetrics(posts_sampled=self.rng.randrange(0, 100),
                                     engagement=round(self.rng.random(), 4)))

    def posts_fetched(self) -> PostsFetched:
        k = self.rng.randrange(self.subs)
        posts = [RedditPost(reddit_id=f"p{self.rng.randrange(self.post_ids)}", subreddit=self.sub(k),
                            author=f"chaos_user_{self.rng.randrange(self.users)}",
                            title="a post", score=self.rng.randrange(-5, 5000),
                            num_comments=self.rng.randrange(0, 300), created_utc=self.at())
                 for _ in range(5)]
        return PostsFetched(listing="subreddit_top_week", subreddit=self.sub(k), posts=posts)

    def user_fetched(self) -> UserFetched:
        return UserFetched(username=f"chaos_user_{self.rng.randrange(self.users)}",
                           link_karma=self.rng.randrange(0, 10**6), comment_karma=self.rng.randrange(0, 10**5))

    def creator(self) -> tuple[int, str]:
        k = self.rng.randrange(self.creators)
        return k, f"ig{k}"

    def creator_scraped(self) -> CreatorScraped:
        k, uid = self.creator()
        with_media = k % 8 == 0  # one creator in 8 has images for the media service
        posts = [IgMedia(media_pk=f"{uid}_p{j}", kind="post", caption=f"{TOPICS[k % 10]} day {j}",
                         like_count=self.rng.randrange(0, 10_000),
                         image_urls=[f"{self.media_base}/img/{uid}_p{j}.jpg"] if with_media and j < 2 else [])
                 for j in range(3)]
        reels = [IgMedia(media_pk=f"{uid}_r{j}", kind="reel", post_type="reel",
                         play_count=self.rng.randrange(0, 10**6)) for j in range(2)]
        return CreatorScraped(
            ig_user_id=uid, username=f"chaos.creator_{k}", biography=f"{TOPICS[k % 10]} creator",
            followers_count=self.rng.randrange(0, 10**6), reels=reels, posts=posts,
            profile_pic_url=f"{self.media_base}/img/{uid}_avatar.jpg" if with_media else None)

    def creator_discovered(self) -> CreatorDiscovered:
        k = self.rng.randrange(self.creators * 2)  # half of them are new
        return CreatorDiscovered(username=f"chaos.creator_{k}", via_username="chaos.creator_0")

    def related_processed(self) -> RelatedProcessed:
        _, uid = self.creator()
        return RelatedProcessed(ig_user_id=uid, found=self.rng.randrange(0, 20), new=self.rng.randrange(0, 5))

    def scrape_attempted(self) -> ScrapeAttempted:
        return ScrapeAttempted(
            scraper=self.rng.choice(["reddit", "instagram"]), target_kind="subreddit",
            target=self.sub(self.rng.randrange(self.subs)),
            outcome=self.rng.choice(["success", "success", "not_found", "rate_limited", "failed"]),
            calls=self.rng.randrange(0, 4), duration_ms=self.rng.randrange(0, 3000))

    def subreddit_categorized(self) -> SubredditCategorized:
        return SubredditCategorized(name=self.sub(self.rng.randrange(self.subs)), tags=["niche:amateur"],
                                    confidence=0.5, taxonomy_version="chaos", model="chaos", method="rules")

    def creator_categorized(self) -> CreatorCategorized:
        _, uid = self.creator()
        return CreatorCategorized(ig_user_id=uid, tags=["style:casual"], confidence={"style:casual": 0.8},
                                  taxonomy_version="chaos", model="chaos", method="rules")

    def media_stored(self) -> MediaStored:
        j = self.rng.randrange(200)
        return MediaStored(source_url=f"https://cdn.example/ext{j}.jpg", source_id=f"ext{j}", kind="photo",
                           content_hash=f"{j:064x}", storage_key=f"photo/{j:064x}.jpg",
                           content_type="image/jpeg", bytes_in=1000 + j, bytes_out=500 + j)

    def media_failed(self) -> MediaFailed:
        j = self.rng.randrange(200)
        return MediaFailed(source_url=f"https://cdn.example/ext{j}.jpg", source_id=f"ext{j}", kind="photo",
                           reason="http_error", detail="404")

    def poison(self, i: int) -> Poison:
        pid = f"chaos-poison-{i}"
        head = {"id": pid, "version": 1, "occurred_at": self.at().isoformat(), "source": SOURCE, "trace": pid}
        kind = i % 7
        cases: list[tuple[str, Any, str]] = [
            ("subreddit.fetched", {"name": "x", "subscribers": -5}, "negative subscribers"),
            ("user.fetched", {"link_karma": 3}, "missing username"),
            ("posts.fetched", {"posts": "not a list"}, "posts not a list"),
            ("creator.scraped", {"ig_user_id": "1", "username": "u", "followers_count": "many"}, "string count"),
            ("scrape.attempted", {"scraper": "reddit", "target_kind": "subreddit", "target": "x",
                                  "outcome": "exploded"}, "unknown outcome"),
            ("subreddit.fetched", None, "not JSON"),
            ("subreddit.reviewed", {"name": "x", "review": "Maybe", "actor": {
                "id": "a", "name": "A", "role": "admin", "channel": "cli"}}, "unknown review"),
        ]
        type_, data, why = cases[kind]
        if data is None:
            return Poison(pid, type_, b"{this is not json", why)
        return Poison(pid, type_, json.dumps({**head, "type": type_, "data": data}).encode(), why)


class Decisions:
    """People's decisions about entities whose facts came earlier in the list (a decision about
    an entity not stored yet waits for it; one never stored would wait forever)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.subs: list[str] = []
        self.users: list[str] = []
        self.creators: list[str] = []
        self.models: list[int] = []
        self.next_model = 1

    def saw(self, payload: Any) -> None:
        if isinstance(payload, SubredditFetched):
            self.subs.append(payload.name)
        elif isinstance(payload, UserFetched):
            self.users.append(payload.username)
        elif isinstance(payload, CreatorScraped):
            self.creators.append(payload.ig_user_id)

    def make(self) -> tuple[str, Any]:
        r = self.rng
        options = ["model.created"]
        if self.subs:
            options += ["subreddit.reviewed", "subreddit.reviewed", "subreddit.tagged"]
        if self.users:
            options += ["user.marked_ours", "model.account_unlinked"]
            if self.models:
                options += ["model.account_linked", "model.account_linked"]
        if self.creators:
            options += ["creator.reviewed", "creator.niched"]
        if self.models:
            options += ["model.updated", "model.updated"]
            if len(self.models) > 3 and r.random() < 0.2:
                options.append("model.deleted")
        kind = r.choice(options)
        if kind == "subreddit.reviewed":
            review = r.choice(["Ok", "No Seller", "Non Related", "Banned", None])
            return kind, SubredditReviewed(actor=ACTOR, name=r.choice(self.subs), review=review)
        if kind == "subreddit.tagged":
            tags = sorted(r.sample(["niche:amateur", "style:casual", "topic:fitness", "topic:food"], 2))
            return kind, SubredditTagged(actor=ACTOR, name=r.choice(self.subs), tags=tags,
                                         primary_category=tags[0], taxonomy_version="chaos")
        if kind == "user.marked_ours":
            return kind, UserMarkedOurs(actor=ACTOR, username=r.choice(self.users),
                                        our_creator=r.random() < 0.7)
        if kind == "model.account_linked":
            return kind, AccountLinked(actor=ACTOR, username=r.choice(self.users),
                                       model_id=r.choice(self.models))
        if kind == "model.account_unlinked":
            return kind, AccountUnlinked(actor=ACTOR, username=r.choice(self.users))
        if kind == "creator.reviewed":
            return kind, CreatorReviewed(actor=ACTOR, ig_user_id=r.choice(self.creators),
                                         review_status=r.choice(["ok", "non_related", None]))
        if kind == "creator.niched":
            return kind, CreatorNiched(actor=ACTOR, ig_user_id=r.choice(self.creators),
                                       niche=r.choice(["fitness", "cosplay", "food", None]))
        if kind == "model.updated":  # every field: a full update (partial ones depend on the
            # order they are applied in); names stay unique (models.name is UNIQUE)
            mid = r.choice(self.models)
            return kind, ModelUpdated(actor=ACTOR, model_id=mid,
                                      name=f"Model {mid} rev {r.randrange(100)}", description="updated",
                                      assigned_tags=["style:casual"],
                                      status=r.choice(["active", "paused", "inactive"]))
        if kind == "model.deleted":
            mid = self.models.pop(r.randrange(len(self.models)))
            return kind, ModelDeleted(actor=ACTOR, model_id=mid)
        mid, self.next_model = self.next_model, self.next_model + 1
        self.models.append(mid)
        return "model.created", ModelCreated(actor=ACTOR, model_id=mid, name=f"Model {mid}",
                                             assigned_tags=["niche:amateur"])


def generate(size: int, media_base: str, seed: int = 9) -> FactSet:
    gen = Gen(size, media_base, seed)
    makers = {
        "subreddit.fetched": gen.subreddit_fetched, "posts.fetched": gen.posts_fetched,
        "user.fetched": gen.user_fetched,
        "subreddit.discovered": lambda: SubredditDiscovered(name=gen.sub(gen.rng.randrange(gen.subs * 2))),
        "creator.scraped": gen.creator_scraped, "creator.discovered": gen.creator_discovered,
        "creator.related_processed": gen.related_processed, "scrape.attempted": gen.scrape_attempted,
        "subreddit.categorized": gen.subreddit_categorized, "creator.categorized": gen.creator_categorized,
        "media.stored": gen.media_stored, "media.failed": gen.media_failed,
    }
    kinds = gen.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=size)
    decisions = Decisions(random.Random(seed + 1))
    out = FactSet()
    for i, kind in enumerate(kinds):
        if kind == "poison":
            out.items.append(gen.poison(i))
            continue
        if kind == "decision":
            kind, payload = decisions.make()
        else:
            payload = makers[kind]()
            decisions.saw(payload)
        out.items.append(make_envelope(kind, payload, source=SOURCE, id_=f"chaos-{i}",
                                       trace=f"chaos-{i}", occurred_at=gen.at()))
    return out
