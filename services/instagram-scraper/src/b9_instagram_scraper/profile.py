"""Profile parsing: every spelling the provider (and Instagram before it) has used -> ``Profile``.

Accepted shapes (see tests/fixtures/instagram/SHAPES.md):
- the provider's flat ``/profile`` body: ``{"status": true, "id", "username",
  "edge_followed_by": {...}}``;
- web_profile_info's ``{"data": {"user": {...}}, "status": "ok"}``;
- the 2017 ``?__a=1`` body ``{"user": {..., "followed_by": {count}, "follows": {count},
  "media": {count}}}``;
- private-API keys (``pk``, ``follower_count``, ``following_count``, ``media_count``,
  ``is_business``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from b9_common.events import BioLink

from b9_instagram_scraper.links import classify_url, parse_bio_links


class Profile(msgspec.Struct, kw_only=True):
    ig_user_id: str
    username: str
    full_name: str = ""
    biography: str = ""
    external_url: str | None = None
    external_url_type: str | None = None
    bio_links: list[BioLink] = msgspec.field(default_factory=list)
    profile_pic_url: str | None = None
    is_verified: bool = False
    is_private: bool = False
    is_business: bool = False
    is_professional: bool = False
    followers_count: int = 0
    following_count: int = 0
    media_count: int = 0
    highlight_reel_count: int = 0
    has_clips: bool = False


class ProfileShapeError(ValueError):
    """The body holds no recognisable user (no id or no username)."""


def _count(user: dict[str, Any], *keys: str) -> int:
    """First present count among ``keys``: either ``{"count": n}`` edges or a bare int."""
    for key in keys:
        value = user.get(key)
        if isinstance(value, dict):
            value = value.get("count")
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and value >= 0:
            return int(value)
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return 0


def _str(user: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _flag(user: dict[str, Any], *keys: str) -> bool:
    return any(user.get(k) is True for k in keys)


def unwrap_user(body: Any) -> dict[str, Any] | None:
    """The user object inside any of the accepted envelopes, or None."""
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("user"), dict):
        return data["user"]
    if isinstance(body.get("user"), dict) and not _str(body, "id", "pk"):
        return body["user"]
    graphql = body.get("graphql")
    if isinstance(graphql, dict) and isinstance(graphql.get("user"), dict):
        return graphql["user"]
    return body


def parse_profile(body: Any) -> Profile:
    """Parse one profile body; raise ``ProfileShapeError`` when it holds no user."""
    user = unwrap_user(body)
    if user is None:
        raise ProfileShapeError("profile body is not a JSON object")
    ig_user_id = _str(user, "id", "pk", "pk_id")
    username = _str(user, "username")
    if not ig_user_id or not username:
        raise ProfileShapeError("profile body has no id/username")
    hd = user.get("hd_profile_pic_url_info")
    pic = _str(user, "profile_pic_url_hd", "profile_pic_url") or (
        hd.get("url") if isinstance(hd, dict) and isinstance(hd.get("url"), str) else None
    )
    external = _str(user, "external_url")
    return Profile(
        ig_user_id=ig_user_id,
        username=username,
        full_name=_str(user, "full_name") or "",
        biography=_str(user, "biography") or "",
        external_url=external,
        external_url_type=classify_url(external),
        bio_links=parse_bio_links(user.get("bio_links")),
        profile_pic_url=pic,
        is_verified=_flag(user, "is_verified"),
        is_private=_flag(user, "is_private"),
        is_business=_flag(user, "is_business_account", "is_business"),
        is_professional=_flag(user, "is_professional_account"),
        followers_count=_count(
            user, "edge_followed_by", "follower_count", "followed_by", "followers"
        ),
        following_count=_count(user, "edge_follow", "following_count", "follows", "following"),
        media_count=_count(user, "edge_owner_to_timeline_media", "media_count", "media"),
        highlight_reel_count=_count(user, "highlight_reel_count"),
        has_clips=_flag(user, "has_clips"),
    )


def related_usernames(body: Any) -> list[str]:
    """``data.user.edge_related_profiles.edges[].node.username`` (order kept, no duplicates)."""
    user = unwrap_user(body) or {}
    edges = (
        (user.get("edge_related_profiles") or {}).get("edges") if isinstance(user, dict) else None
    )
    out: list[str] = []
    for edge in edges if isinstance(edges, list) else []:
        node = edge.get("node") if isinstance(edge, dict) else None
        name = node.get("username") if isinstance(node, dict) else None
        if isinstance(name, str) and name and name.lower() not in (n.lower() for n in out):
            out.append(name)
    return out
