"""What a categorization is computed from, and its content hash (the cache key).

Events (``subreddit.fetched``, ``creator.scraped``) and command items
(``categorize.requested``) are reduced to the same small inputs, so every path hashes and
classifies the same content the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from b9_common.events import CategorizeItem, CreatorScraped, IgMedia, SubredditFetched

RULES_CHARS = 2000  # the original sent the first 2000 characters of the rules
DESCRIPTION_CHARS = 1000
MAX_IMAGES = 4  # plus the profile picture


@dataclass(slots=True)
class SubredditInput:
    key: str  # lower-cased name: cache key and result identity
    name: str
    title: str = ""
    description: str = ""
    rules_text: str = ""
    over18: bool | None = None  # None: unknown

    def digest_parts(self) -> tuple[str, ...]:
        return (self.name.lower(), self.title, self.description, self.rules_text)


@dataclass(slots=True)
class CreatorInput:
    key: str  # ig_user_id (or the username for command items without one)
    username: str = ""
    biography: str = ""
    captions: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)

    def digest_parts(self) -> tuple[str, ...]:
        # CDN URLs carry short-lived signatures in the query: hash the path only.
        paths = [urlsplit(u).path for u in self.image_urls]
        return (self.key, self.username.lower(), self.biography, "\x1e".join(self.captions), *paths)


def rules_text(fetched: SubredditFetched) -> str:
    parts = [f"{r.short_name}: {r.description}".strip(": ") for r in fetched.rules]
    return "\n".join(parts)[:RULES_CHARS]


def subreddit_input(fetched: SubredditFetched) -> SubredditInput:
    # Reddit caps public_description at 500 characters; the sidebar stands in when it is empty.
    desc = fetched.public_description or fetched.description
    return SubredditInput(
        key=fetched.name.lower(),
        name=fetched.name,
        title=fetched.title,
        description=desc[:DESCRIPTION_CHARS],
        rules_text=rules_text(fetched),
        over18=fetched.over18,
    )


def _latest(media: list[IgMedia]) -> list[IgMedia]:
    return sorted(media, key=lambda m: m.taken_at.timestamp() if m.taken_at else 0.0, reverse=True)


def _once(media: list[IgMedia], seen: set[str]) -> list[IgMedia]:
    """Items not seen yet (a reel is often in the posts timeline too), in order."""
    out = []
    for m in media:
        if m.media_pk not in seen:
            seen.add(m.media_pk)
            out.append(m)
    return out


def creator_images(c: CreatorScraped) -> list[str]:
    """Profile picture + up to 4 latest post images (reel thumbnails fill in when short);
    an item that is a post and a reel gives one image."""
    urls: list[str] = [c.profile_pic_url] if c.profile_pic_url else []
    seen: set[str] = set()
    picks = [m.image_urls[0] for m in _once(_latest([m for m in c.posts if m.image_urls]), seen)]
    picks += [m.thumbnail_url for m in _once(_latest(c.reels), seen) if m.thumbnail_url]
    return urls + picks[:MAX_IMAGES]


def creator_input(c: CreatorScraped) -> CreatorInput:
    media = _latest(_once([*c.posts, *c.reels], set()))[:12]
    captions = [m.caption + " " + " ".join(f"#{h}" for h in m.hashtags) for m in media]
    return CreatorInput(
        key=c.ig_user_id,
        username=c.username,
        biography=c.biography,
        captions=[x.strip() for x in captions if x.strip()],
        image_urls=creator_images(c),
    )


def item_input(item: CategorizeItem) -> SubredditInput | CreatorInput:
    if item.kind == "subreddit":
        name = item.name or item.key
        return SubredditInput(
            key=item.key.lower(),
            name=name,
            title=item.title,
            description=item.description[:DESCRIPTION_CHARS],
            rules_text=item.rules_text[:RULES_CHARS],
            over18=item.over18,
        )
    return CreatorInput(
        key=item.key,
        username=item.name,
        biography=item.description,
        captions=list(item.captions) or ([item.title] if item.title else []),
        image_urls=list(item.image_urls[: MAX_IMAGES + 1]),
    )


def content_hash(parts: tuple[str, ...], *, taxonomy: str, model: str, prompt: str) -> str:
    """blake2b-128 over the content, the taxonomy (version + file digest), model and prompt."""
    data = "\x1f".join((*parts, taxonomy, model, prompt)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()
