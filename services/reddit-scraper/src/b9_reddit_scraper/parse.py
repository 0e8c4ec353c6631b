"""Reddit JSON -> event payloads. Tolerant: a missing or odd field never raises."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from b9_common.events import RedditPost, SubredditFetched, SubredditRule, UserFetched
from b9_common.events.reddit import ContentType

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")  # subreddit names, u_ profiles included
USER_RE = re.compile(r"^[A-Za-z0-9_-]{3,20}$")
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp")
SKIP_AUTHORS = frozenset({"[deleted]", "automoderator", "[removed]"})


def valid_subreddit(name: str) -> bool:
    return bool(NAME_RE.match(name)) or (name.startswith("u_") and bool(USER_RE.match(name[2:])))


def valid_user(name: str) -> bool:
    return bool(USER_RE.match(name)) and name.lower() not in SKIP_AUTHORS


def _d(obj: Any) -> dict[str, Any]:
    """``obj["data"]`` of a thing, or {}."""
    if isinstance(obj, dict):
        data = obj.get("data")
        if isinstance(data, dict):
            return data
    return {}


def _s(v: Any, default: str = "") -> str:
    return v if isinstance(v, str) else default


def _opt_s(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _i(v: Any, default: int = 0) -> int:
    if isinstance(v, bool):
        return default
    if isinstance(v, int | float):
        return int(v)
    return default


def _opt_i(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _b(v: Any) -> bool:
    return v is True


def _opt_b(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _ts(v: Any) -> datetime | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and v > 0:
        return datetime.fromtimestamp(float(v), UTC)
    return None


def _url(v: Any) -> str | None:
    s = _opt_s(v)
    return s if s and s.startswith("http") and len(s) <= 4096 else None


def listing_children(body: Any, kind: str = "t3") -> list[dict[str, Any]]:
    """The ``data`` of each child of a Listing with the given kind."""
    children = _d(body).get("children")
    if not isinstance(children, list):
        return []
    return [c["data"] for c in children
            if isinstance(c, dict) and c.get("kind") == kind and isinstance(c.get("data"), dict)]


def content_type(p: dict[str, Any]) -> ContentType:
    """Same rule as the original: gallery / video / text / image (by extension) / link."""
    url = _s(p.get("url")).lower().split("?")[0]
    if _b(p.get("is_gallery")):
        return "gallery"
    if _b(p.get("is_video")):
        return "video"
    if _b(p.get("is_self")):
        return "text"
    if url.endswith(IMAGE_EXT):
        return "image"
    return "link"


def parse_post(p: dict[str, Any]) -> RedditPost | None:
    created = _ts(p.get("created_utc"))
    rid, sub = _s(p.get("id")), _s(p.get("subreddit"))
    if created is None or not rid or not sub:
        return None
    score, comments = _i(p.get("score")), max(0, _i(p.get("num_comments")))
    title, selftext = _s(p.get("title")), _s(p.get("selftext"))
    ratio = p.get("upvote_ratio")
    thumb = _url(p.get("thumbnail"))
    return RedditPost(
        reddit_id=rid[:200], subreddit=sub[:200], author=_opt_s(p.get("author")), title=title,
        selftext=selftext, url=_url(p.get("url")), permalink=_opt_s(p.get("permalink")),
        domain=_opt_s(p.get("domain")), score=score, num_comments=comments,
        upvote_ratio=float(ratio) if isinstance(ratio, int | float) and 0 <= ratio <= 1 else None,
        over_18=_b(p.get("over_18")), spoiler=_b(p.get("spoiler")), stickied=_b(p.get("stickied")),
        is_self=_b(p.get("is_self")), is_video=_b(p.get("is_video")),
        is_gallery=_b(p.get("is_gallery")), is_crosspost="crosspost_parent" in p,
        link_flair_text=_opt_s(p.get("link_flair_text")), thumbnail=thumb, created_utc=created,
        content_type=content_type(p),
        post_length=len(title) + len(selftext), posting_hour=created.hour,
        posting_day_of_week=created.weekday(), has_thumbnail=thumb is not None,
        comment_to_upvote_ratio=round(comments / score, 4) if score > 0 else 0.0,
    )


def parse_posts(body: Any) -> list[RedditPost]:
    return [p for p in (parse_post(c) for c in listing_children(body)) if p is not None]


def parse_rules(body: Any) -> list[SubredditRule]:
    rules = body.get("rules") if isinstance(body, dict) else None
    out: list[SubredditRule] = []
    for r in rules if isinstance(rules, list) else []:
        if isinstance(r, dict) and _s(r.get("short_name")):
            out.append(SubredditRule(
                short_name=_s(r.get("short_name")), description=_s(r.get("description")),
                kind=_s(r.get("kind"), "all"), priority=_i(r.get("priority")),
                violation_reason=_s(r.get("violation_reason")),
            ))
    return out


def parse_about(name: str, body: Any) -> SubredditFetched | None:
    """A t5 about -> SubredditFetched (metrics and review are filled in later)."""
    if not isinstance(body, dict) or body.get("kind") != "t5":
        return None
    a = _d(body)
    return SubredditFetched(
        name=_s(a.get("display_name")) or name, reddit_id=_opt_s(a.get("name")),
        title=_s(a.get("title")), public_description=_s(a.get("public_description")),
        description=_s(a.get("description")), subscribers=max(0, _i(a.get("subscribers"))),
        active_users=_opt_i(a.get("active_user_count") or a.get("accounts_active")),
        created_utc=_ts(a.get("created_utc")), over18=_b(a.get("over18")),
        subreddit_type=_s(a.get("subreddit_type"), "public"), lang=_opt_s(a.get("lang")),
        url=_opt_s(a.get("url")), icon_img=_url(a.get("community_icon")) or _url(a.get("icon_img")),
        banner_img=_url(a.get("banner_background_image")) or _url(a.get("banner_img")),
        primary_color=_opt_s(a.get("primary_color")), allow_images=_opt_b(a.get("allow_images")),
        allow_videos=_opt_b(a.get("allow_videos")), allow_polls=_opt_b(a.get("allow_polls")),
        spoilers_enabled=_opt_b(a.get("spoilers_enabled")), quarantine=_b(a.get("quarantine")),
        submit_text=_s(a.get("submit_text")), submission_type=_opt_s(a.get("submission_type")),
    )


def parse_user(name: str, body: Any, now: datetime | None = None) -> UserFetched | None:
    if not isinstance(body, dict) or body.get("kind") != "t2":
        return None
    u = _d(body)
    if _b(u.get("is_suspended")):
        return UserFetched(username=_s(u.get("name")) or name, availability="suspended")
    now = now or datetime.now(UTC)
    created = _ts(u.get("created_utc"))
    age = max(0, (now - created).days) if created else None
    link, comment = _opt_i(u.get("link_karma")), _opt_i(u.get("comment_karma"))
    total = _opt_i(u.get("total_karma"))
    if total is None and link is not None and comment is not None:
        total = link + comment
    raw_profile = u.get("subreddit")
    profile: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
    return UserFetched(
        username=_s(u.get("name")) or name, reddit_id=_opt_s(u.get("id")), created_utc=created,
        account_age_days=age, link_karma=link, comment_karma=comment, total_karma=total,
        karma_per_day=(round(total / max(age, 1), 2)
                       if total is not None and age is not None else None),
        is_gold=_b(u.get("is_gold")), is_mod=_b(u.get("is_mod")), verified=_b(u.get("verified")),
        has_verified_email=_opt_b(u.get("has_verified_email")),
        icon_img=_url(str(u.get("icon_img") or "").split("?")[0]),
        bio=_s(profile.get("public_description")),
        bio_url=_url(profile.get("url")) if profile else None,
    )
